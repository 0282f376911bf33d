package e2e_test

import (
	"testing"
	"time"
)

// TestCalls_SignallingAndParticipants: the daemon relays WebRTC signalling among members,
// records participants in call_participants, and removes one who disconnects.
func TestCalls_SignallingAndParticipants(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	d := StartDaemon(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		d.CreateUser(u, u+"-password")
	}
	a, b, c := d.NewClient(), d.NewClient(), d.NewClient()
	a.Login("alice", "alice-password")
	b.Login("bob", "bob-password")
	c.Login("carol", "carol-password")
	wa, wb, wc := a.MustWS(), b.MustWS(), c.MustWS()
	dm := "d:alice,bob"

	wa.Send(map[string]any{"type": "call", "conversation": dm, "signal": "join", "data": map[string]bool{"video": false}})
	got := wb.WaitFor("call", 5*time.Second, func(m map[string]any) bool { return m["signal"] == "join" })
	if got["from"] != "alice" || got["conversation"] != dm {
		t.Errorf("bob got %v, want alice's join in %s", got, dm)
	}
	if n := d.SQLite("presence.db", "SELECT COUNT(*) FROM call_participants WHERE username='alice' AND conversation='d:alice,bob';"); n != "1" {
		t.Errorf("call_participants rows for alice = %s, want 1", n)
	}
	// A directed offer reaches only its addressee.
	wb.Send(map[string]any{"type": "call", "conversation": dm, "signal": "offer", "to": "alice", "data": map[string]string{"sdp": "v=0"}})
	if got := wa.WaitFor("call", 5*time.Second, func(m map[string]any) bool { return m["signal"] == "offer" }); got["from"] != "bob" {
		t.Errorf("alice got offer from %v, want bob", got["from"])
	}
	// carol is not in the DM: her signal is refused and she hears nothing.
	wc.Send(map[string]any{"type": "call", "conversation": dm, "signal": "join", "client_id": "x"})
	if e := wc.WaitFor("error", 5*time.Second, nil); e["code"] != "not_found" {
		t.Errorf("carol's join answered %v, want not_found", e)
	}
	// alice disconnects: she leaves the call and bob is told.
	wa.C.CloseNow()
	left := wb.WaitFor("call", 5*time.Second, func(m map[string]any) bool { return m["signal"] == "leave" })
	if left["from"] != "alice" {
		t.Errorf("leave from %v, want alice", left["from"])
	}
	if n := d.SQLite("presence.db", "SELECT COUNT(*) FROM call_participants WHERE username='alice';"); n != "0" {
		t.Errorf("call_participants rows for alice after disconnect = %s, want 0", n)
	}
}
