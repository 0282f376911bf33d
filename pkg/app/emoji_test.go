package app_test

import (
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

func TestApp_ReactOnlyKnownEmoji(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	m := must(e.app.Post(e.ctx, alice, "c:general", "react to me", "", nil))
	for _, bad := range []string{"a", ":partyparrot:", "👍👍", "🏻"} {
		if err := e.app.React(e.ctx, alice, "c:general", m.ID, bad, true); codeOf(err) != chat.EInvalid {
			t.Errorf("React(%q) = %v, want invalid", bad, err)
		}
	}
	for _, ok := range []string{"👍", "👍️", "👋🏽", "❤"} {
		if err := e.app.React(e.ctx, alice, "c:general", m.ID, ok, true); err != nil {
			t.Errorf("React(%q) = %v", ok, err)
		}
	}
	rs := must(e.store.Reactions(e.ctx, []string{m.ID}))
	if len(rs[m.ID]) != 4 {
		t.Errorf("reactions stored: %v, want the 4 accepted ones", rs[m.ID])
	}
}
