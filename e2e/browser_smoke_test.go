package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	b.Run("send a message",
		chromedp.Click(chromedp.CSS(`[data-conv-id="c:general"]`)),
		chromedp.SendKeys(chromedp.CSS("#composer"), "hello from the browser\n"),
	)
	b.WaitJS("the message shown", `[...document.querySelectorAll('.message .message-body')].some(e => e.textContent.includes('hello from the browser'))`, 10*time.Second)
}
