package app_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/chat"
)

// TestMembership_HistoryAndSystemLines: a member added to a private channel receives its
// newest messages (InviteHistory of them), and the members read "X added Y" and "Y left".
func TestMembership_HistoryAndSystemLines(t *testing.T) {
	e := newEnv(t)
	e.settings.set(func(s *chat.Settings) { s.PostsPerMinute = 10000 })
	alice := e.mustAccount(t, "alice")
	bob := e.mustAccount(t, "bob")
	carol := e.mustAccount(t, "carol")
	pc := must(e.app.CreatePrivateChannel(e.ctx, alice, "launch-plans", []string{"bob"}))
	var ids []string
	for i := 0; i < app.InviteHistory+5; i++ {
		m := must(e.app.Post(e.ctx, bob, pc.ID, fmt.Sprintf("plan %d", i), "", nil))
		ids = append(ids, m.ID)
	}
	if err := e.app.Invite(e.ctx, alice, pc.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	var got []string
	before := ""
	for {
		page, more, err := e.app.History(e.ctx, carol, pc.ID, before, 200)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(page) - 1; i >= 0; i-- {
			got = append(got, page[i].Body)
		}
		if !more || len(page) == 0 {
			break
		}
		before = page[0].ID
	}
	slices.Reverse(got)
	if len(got) != app.InviteHistory+1 || got[0] != "plan 5" || got[len(got)-2] != fmt.Sprintf("plan %d", app.InviteHistory+4) || got[len(got)-1] != "alice added carol" {
		t.Errorf("carol's history: %d messages, first %q, last %q; want %d from \"plan 5\" to \"alice added carol\"", len(got), first(got), last(got), app.InviteHistory+1)
	}
	if err := e.app.Leave(e.ctx, carol, pc.ID); err != nil {
		t.Fatal(err)
	}
	h := must2(e.app.History(e.ctx, bob, pc.ID, "", 2))
	if len(h) != 2 || h[0].Body != "alice added carol" || h[1].Body != "carol left" || h[1].Sender != "system" {
		t.Errorf("bob's newest messages = %+v, want the two system lines", h)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func must2[T any](v T, _ bool, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
