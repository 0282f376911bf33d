package app_test

import (
	"slices"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// presenceEvents returns the presence events among evs.
func presenceEvents(evs []published) []published {
	var out []published
	for _, p := range evs {
		if p.ev.EventType() == "presence" {
			out = append(out, p)
		}
	}
	return out
}

// Presence changes are announced together: however many accounts connect, disconnect or go
// away within an interval, every account gets one event with each one's latest presence.
func TestApp_PresenceBatched(t *testing.T) {
	e := newEnv(t)
	e.app.PresenceInterval = time.Hour
	var accts []chat.Account
	for _, n := range []string{"ann", "ben", "cat", "dan"} {
		accts = append(accts, e.mustAccount(t, n))
	}
	e.rec.take()
	e.app.FlushPresence(e.ctx) // nothing pending: nothing sent
	if got := presenceEvents(e.rec.take()); len(got) != 0 {
		t.Fatalf("presence events with nothing pending: %v", got)
	}
	// The first change after a quiet interval goes at once (an hour has not passed since
	// the last event here, but there was none).
	if err := e.app.SetPresence(e.ctx, accts[0], "online"); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, e, 1)
	for _, a := range accts {
		if err := e.app.SetPresence(e.ctx, a, "online"); err != nil {
			t.Fatal(err)
		}
	}
	must(0, e.app.SetPresence(e.ctx, accts[1], "away"))
	must(0, e.app.SetPresence(e.ctx, accts[2], "offline"))
	if got := presenceEvents(e.rec.take()); len(got) != 0 {
		t.Fatalf("%d presence events within the interval, want them held", len(got))
	}
	e.app.FlushPresence(e.ctx)
	got := presenceEvents(e.rec.take())
	if len(got) != 1 {
		t.Fatalf("%d presence events, want 1", len(got))
	}
	want := []chat.PresenceChange{{User: "ann", Presence: "online"}, {User: "ben", Presence: "away"},
		{User: "cat", Presence: "offline"}, {User: "dan", Presence: "online"}}
	if ev := got[0].ev.(chat.PresenceChanged); !slices.Equal(ev.Changes, want) {
		t.Errorf("changes = %v, want %v", ev.Changes, want)
	}
	if len(got[0].to) != len(accts) {
		t.Errorf("sent to %d accounts, want all %d", len(got[0].to), len(accts))
	}
	// The store has every change at once, without waiting for the event (Users shows the
	// presence of connected accounts).
	e.rec.mu.Lock()
	e.rec.conns[accts[1].ID] = 1
	e.rec.mu.Unlock()
	users, err := e.app.Users(e.ctx, accts[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Username == "ben" && u.Presence != "away" {
			t.Errorf("ben's stored presence = %q, want away", u.Presence)
		}
	}
	if err := e.app.SetPresence(e.ctx, accts[0], "busy"); chat.ErrorCode(err) != chat.EInvalid {
		t.Errorf("presence busy: %v, want invalid", err)
	}
}

// Without a flush the pending changes go out when the interval ends.
func TestApp_PresenceIntervalEnds(t *testing.T) {
	e := newEnv(t)
	e.app.PresenceInterval = 5 * time.Millisecond
	ann, ben := e.mustAccount(t, "ann"), e.mustAccount(t, "ben")
	e.rec.take()
	must(0, e.app.SetPresence(e.ctx, ann, "online"))
	must(0, e.app.SetPresence(e.ctx, ben, "online"))
	n := 0
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for seen := map[string]bool{}; len(seen) < 2; <-tick.C {
		for _, p := range presenceEvents(e.rec.take()) {
			n++
			for _, c := range p.ev.(chat.PresenceChanged).Changes {
				seen[c.User] = true
			}
		}
	}
	if n > 2 {
		t.Errorf("%d presence events for 2 changes", n)
	}
}

func waitPresence(t *testing.T, e *env, n int) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for got := 0; got < n; <-tick.C {
		got += len(presenceEvents(e.rec.take()))
	}
}

// Presence rows are written when the batch goes out, all in one transaction, not one per
// change; until then Users reads them through from the batch. A change of an account
// deleted before the batch went out writes nothing and is not announced.
func TestApp_PresenceStoredWithBatch(t *testing.T) {
	e := newEnv(t)
	e.app.PresenceInterval = time.Hour
	ann, ben, cat := e.mustAccount(t, "ann"), e.mustAccount(t, "ben"), e.mustAccount(t, "cat")
	e.rec.take()
	must(0, e.app.SetPresence(e.ctx, ann, "online"))
	waitPresence(t, e, 1) // the first change after a quiet interval goes at once
	if got := must(e.store.Presences(e.ctx)); got["ann"] != "online" {
		t.Fatalf("stored presences after the first event = %v, want ann online", got)
	}
	must(0, e.app.SetPresence(e.ctx, ben, "online"))
	must(0, e.app.SetPresence(e.ctx, ben, "away"))
	must(0, e.app.SetPresence(e.ctx, cat, "online"))
	must(0, e.app.SetPresence(e.ctx, ann, "offline"))
	if got := must(e.store.Presences(e.ctx)); got["ann"] != "online" || got["ben"] != "" || got["cat"] != "" {
		t.Fatalf("stored presences within the interval = %v, want only the first event's", got)
	}
	e.rec.mu.Lock()
	e.rec.conns[ben.ID], e.rec.conns[cat.ID], e.rec.conns[ann.ID] = 1, 1, 1
	e.rec.mu.Unlock()
	want := map[string]string{"ann": "offline", "ben": "away", "cat": "online"}
	for _, u := range must(e.app.Users(e.ctx, ann)) {
		if u.Presence != want[u.Username] {
			t.Errorf("Users before the flush: %s is %q, want %q", u.Username, u.Presence, want[u.Username])
		}
	}
	if err := e.app.DeleteAccount(e.ctx, "cat", "hard"); err != nil {
		t.Fatal(err)
	}
	e.rec.take()
	e.app.FlushPresence(e.ctx)
	got := presenceEvents(e.rec.take())
	if len(got) != 1 {
		t.Fatalf("%d presence events, want 1", len(got))
	}
	wantChanges := []chat.PresenceChange{{User: "ben", Presence: "away"}, {User: "ann", Presence: "offline"}}
	if ev := got[0].ev.(chat.PresenceChanged); !slices.Equal(ev.Changes, wantChanges) {
		t.Errorf("changes = %v, want %v (nothing of the deleted cat)", ev.Changes, wantChanges)
	}
	stored := must(e.store.Presences(e.ctx))
	if stored["ann"] != "offline" || stored["ben"] != "away" {
		t.Errorf("stored presences after the flush = %v", stored)
	}
	if _, ok := stored["cat"]; ok {
		t.Errorf("the deleted cat has a presence row again: %v", stored)
	}
}
