package e2e_test

import (
	"testing"
	"time"
)

func TestSmoke_MessageDeliveredLive(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	a, b := d.NewClient(), d.NewClient()
	a.Login("alice", "alice-password")
	b.Login("bob", "bob-password")
	ws := b.MustWS()
	m := a.Post("c:general", "hello *bob*")
	got := ws.WaitFor("message.new", 5*time.Second, nil)
	msg := got["message"].(map[string]any)
	if msg["id"] != m.ID || msg["html"] != "<p>hello <em>bob</em></p>\n" {
		t.Errorf("bob got %v, want message %s rendered", msg, m.ID)
	}
	hist := b.History("c:general")
	if len(hist) != 1 || hist[0].ID != m.ID {
		t.Errorf("bob's history = %+v, want the message", hist)
	}
}
