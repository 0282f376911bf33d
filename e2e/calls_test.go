package e2e_test

import (
	"testing"
	"time"
)

// TestCalls_SignallingAndParticipants: the daemon relays WebRTC signalling among the
// connections in a call, records them in call_participants, and removes a connection that
// closes — only that one: alice in two tabs is two participants.
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
	wa, wa2, wb, wc := a.MustWS(), a.MustWS(), b.MustWS(), c.MustWS()
	if wa.Conn == "" || wa.Conn == wa2.Conn {
		t.Fatalf("hello conn ids %q and %q, want two different ids", wa.Conn, wa2.Conn)
	}
	dm := "d:alice,bob"
	participants := func() string {
		return d.SQLite("presence.db", "SELECT COUNT(*) FROM call_participants WHERE username='alice' AND conversation='d:alice,bob';")
	}

	// Both of alice's tabs join: bob hears each, by connection.
	wa.Send(map[string]any{"type": "call", "conversation": dm, "signal": "join", "data": map[string]bool{"video": false}})
	got := wb.WaitFor("call", 5*time.Second, func(m map[string]any) bool { return m["signal"] == "join" })
	if got["from"] != "alice" || got["from_conn"] != wa.Conn || got["conversation"] != dm {
		t.Errorf("bob got %v, want alice's join from %s in %s", got, wa.Conn, dm)
	}
	wa2.Send(map[string]any{"type": "call", "conversation": dm, "signal": "join"})
	got = wb.WaitFor("call", 5*time.Second, func(m map[string]any) bool { return m["signal"] == "join" })
	if got["from_conn"] != wa2.Conn || len(got["participants"].([]any)) != 2 {
		t.Errorf("bob got %v, want the second tab's join with 2 participants", got)
	}
	if n := participants(); n != "2" {
		t.Errorf("call_participants rows for alice = %s, want 2 (one per tab)", n)
	}
	// A signal to one connection reaches only it: alice's first tab skips from the joins to
	// bob's next broadcast, and never sees the offer meant for her second tab.
	wb.Send(map[string]any{"type": "call", "conversation": dm, "signal": "offer", "to": "alice", "to_conn": wa2.Conn, "data": map[string]string{"sdp": "v=0"}})
	if got := wa2.WaitFor("call", 5*time.Second, func(m map[string]any) bool { return m["signal"] == "offer" }); got["from"] != "bob" || got["to_conn"] != wa2.Conn {
		t.Errorf("alice's second tab got offer %v, want bob's to it", got)
	}
	wb.Send(map[string]any{"type": "call", "conversation": dm, "signal": "candidate", "data": map[string]string{"candidate": "x"}})
	if got := wa.WaitFor("call", 5*time.Second, func(m map[string]any) bool { return m["signal"] != "join" }); got["signal"] != "candidate" {
		t.Errorf("alice's first tab got %v, want the broadcast candidate and never the offer", got)
	}
	// carol is not in the DM: her signal is refused and she hears nothing.
	wc.Send(map[string]any{"type": "call", "conversation": dm, "signal": "join", "client_id": "x"})
	if e := wc.WaitFor("error", 5*time.Second, nil); e["code"] != "not_found" {
		t.Errorf("carol's join answered %v, want not_found", e)
	}
	// alice closes her first tab: it alone leaves, and bob hears one leave, from it.
	wa.C.CloseNow()
	left := wb.WaitFor("call", 5*time.Second, func(m map[string]any) bool { return m["signal"] == "leave" })
	if left["from"] != "alice" || left["from_conn"] != wa.Conn || len(left["participants"].([]any)) != 1 {
		t.Errorf("leave %v, want from alice's first tab with 1 participant left", left)
	}
	if n := participants(); n != "1" {
		t.Errorf("call_participants rows for alice after one tab closed = %s, want 1", n)
	}
	wa2.C.CloseNow()
	left = wb.WaitFor("call", 5*time.Second, func(m map[string]any) bool { return m["signal"] == "leave" })
	if left["from_conn"] != wa2.Conn {
		t.Errorf("leave %v, want from alice's second tab", left)
	}
	if n := participants(); n != "0" {
		t.Errorf("call_participants rows for alice after both tabs closed = %s, want 0", n)
	}
}
