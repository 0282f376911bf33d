package e2e_test

import (
	"testing"
	"time"
)

func TestBrowser_LoginShowsApp(t *testing.T) {
	t.Parallel()
	d := StartProcess(t)
	d.CreateUser("alice", "alice-password")
	b := d.NewBrowser(1280, 800)
	b.Login("alice", "alice-password")
	b.WaitJS("the general channel in the sidebar", `document.querySelector('[data-conv-id="c:general"]')`, 10*time.Second)
	if got := b.Text("#me-name"); got != "alice" {
		t.Errorf("#me-name = %q, want alice", got)
	}
	// Clicked from the page (bxOpenConv): the sidebar is drawn again when its counts
	// arrive, and a click by node id could name the node just replaced.
	bxOpenConv(b, "c:general")
	bxSend(b, "hello from the browser")
}
