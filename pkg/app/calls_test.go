package app_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

// callEvents returns the call events among evs.
func callEvents(evs []published) []published {
	var out []published
	for _, p := range evs {
		if _, ok := p.ev.(chat.CallSignal); ok {
			out = append(out, p)
		}
	}
	return out
}

// Call membership is per connection: alice in two tabs is two participants; closing one tab
// leaves only that one, and the call's members hear exactly one leave, from that tab.
func TestApp_CallMembershipPerConnection(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.mustAccount(t, "alice"), e.mustAccount(t, "bob"), e.mustAccount(t, "carol")
	dm := must(e.app.OpenDM(e.ctx, bob, []string{"alice"})).ID
	e.rec.take()

	must(0, e.app.CallSignal(e.ctx, bob, "b1", dm, "join", nil, "", ""))
	must(0, e.app.CallSignal(e.ctx, alice, "a1", dm, "join", json.RawMessage(`{"video":false}`), "", ""))
	must(0, e.app.CallSignal(e.ctx, alice, "a2", dm, "join", nil, "", ""))
	want := []chat.CallParticipant{{User: "bob", Conn: "b1"}, {User: "alice", Conn: "a1"}, {User: "alice", Conn: "a2"}}
	if got := must(e.store.CallParticipants(e.ctx, dm)); !slices.Equal(got, want) {
		t.Fatalf("participants = %v, want %v", got, want)
	}
	evs := callEvents(e.rec.take())
	if len(evs) != 3 {
		t.Fatalf("%d call events for three joins, want 3", len(evs))
	}
	// A join goes to every member's connections (alice's other tab is a peer too) and names
	// its connection and everyone in the call.
	last := evs[2].ev.(chat.CallSignal)
	if to := slices.Sorted(slices.Values(evs[2].to)); !slices.Equal(to, sortedIDs(alice, bob)) || evs[2].conn != "" {
		t.Errorf("a2's join went to %v (conn %q), want every connection of alice and bob", to, evs[2].conn)
	}
	if last.From != "alice" || last.FromConn != "a2" || !slices.Equal(last.Participants, want) {
		t.Errorf("a2's join = %+v, want from alice/a2 with participants %v", last, want)
	}

	t.Run("a signal to one connection reaches only it", func(t *testing.T) {
		must(0, e.app.CallSignal(e.ctx, bob, "b1", dm, "offer", json.RawMessage(`{"sdp":"v=0"}`), "alice", "a2"))
		evs := callEvents(e.rec.take())
		if len(evs) != 1 || evs[0].conn != "a2" || !slices.Equal(evs[0].to, []string{alice.ID}) {
			t.Fatalf("bob's offer to a2 was published as %+v, want once to alice's connection a2", evs)
		}
		if ev := evs[0].ev.(chat.CallSignal); ev.FromConn != "b1" || ev.ToConn != "a2" || ev.To != "alice" {
			t.Errorf("offer = %+v, want from b1 to alice/a2", ev)
		}
		// A connection is named with its account: carol is no member, and to_conn alone is
		// refused.
		if err := e.app.CallSignal(e.ctx, bob, "b1", dm, "offer", nil, "carol", "a2"); chat.ErrorCode(err) != chat.ENotFound {
			t.Errorf("offer to a non-member = %v, want not_found", err)
		}
		if err := e.app.CallSignal(e.ctx, bob, "b1", dm, "offer", nil, "", "a2"); chat.ErrorCode(err) != chat.EInvalid {
			t.Errorf("offer with to_conn alone = %v, want invalid", err)
		}
		if err := e.app.CallSignal(e.ctx, carol, "c1", dm, "offer", nil, "alice", "a2"); chat.ErrorCode(err) != chat.ENotFound {
			t.Errorf("carol's offer into a DM she is not in = %v, want not_found", err)
		}
		if evs := callEvents(e.rec.take()); len(evs) != 0 {
			t.Errorf("refused signals published %+v", evs)
		}
	})

	t.Run("closing one tab leaves only that tab", func(t *testing.T) {
		e.app.ConnectionClosed(e.ctx, alice, "a1")
		want := []chat.CallParticipant{{User: "bob", Conn: "b1"}, {User: "alice", Conn: "a2"}}
		if got := must(e.store.CallParticipants(e.ctx, dm)); !slices.Equal(got, want) {
			t.Fatalf("participants after a1 closed = %v, want %v", got, want)
		}
		evs := callEvents(e.rec.take())
		if len(evs) != 1 {
			t.Fatalf("%d call events after a1 closed, want exactly one leave: %+v", len(evs), evs)
		}
		ev := evs[0].ev.(chat.CallSignal)
		if ev.Signal != "leave" || ev.From != "alice" || ev.FromConn != "a1" || !slices.Equal(ev.Participants, want) {
			t.Errorf("event = %+v, want a1's leave with participants %v", ev, want)
		}
		if to := slices.Sorted(slices.Values(evs[0].to)); !slices.Equal(to, sortedIDs(alice, bob)) {
			t.Errorf("leave went to %v, want alice's and bob's connections", to)
		}
		// A connection in no call closing says nothing.
		e.app.ConnectionClosed(e.ctx, alice, "a1")
		e.app.ConnectionClosed(e.ctx, bob, "b9")
		if evs := callEvents(e.rec.take()); len(evs) != 0 {
			t.Errorf("closing connections in no call published %+v", evs)
		}
	})

	t.Run("a leave signal leaves that connection only", func(t *testing.T) {
		must(0, e.app.CallSignal(e.ctx, alice, "a3", dm, "join", nil, "", ""))
		must(0, e.app.CallSignal(e.ctx, alice, "a2", dm, "leave", nil, "", ""))
		want := []chat.CallParticipant{{User: "bob", Conn: "b1"}, {User: "alice", Conn: "a3"}}
		if got := must(e.store.CallParticipants(e.ctx, dm)); !slices.Equal(got, want) {
			t.Fatalf("participants = %v, want %v", got, want)
		}
		evs := callEvents(e.rec.take())
		if ev := evs[len(evs)-1].ev.(chat.CallSignal); ev.Signal != "leave" || ev.FromConn != "a2" || !slices.Equal(ev.Participants, want) {
			t.Errorf("leave = %+v, want from a2 with participants %v", ev, want)
		}
	})

	t.Run("a signal needs a connection", func(t *testing.T) {
		if err := e.app.CallSignal(e.ctx, alice, "", dm, "join", nil, "", ""); chat.ErrorCode(err) != chat.EInvalid {
			t.Errorf("join without a connection = %v, want invalid", err)
		}
	})
}

func sortedIDs(accts ...chat.Account) []string {
	ids := make([]string, len(accts))
	for i, a := range accts {
		ids[i] = a.ID
	}
	slices.Sort(ids)
	return ids
}
