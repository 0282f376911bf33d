package app_test

import (
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

func TestApp_NotificationPrefs(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	bob := e.mustAccount(t, "bob")
	p := must(e.app.NotificationPrefs(e.ctx, alice))
	if p.DND || len(p.Conversations) != 0 {
		t.Errorf("a new account's prefs = %+v, want the defaults", p)
	}
	p = must(e.app.SetConversationPrefs(e.ctx, alice, "c:general", chat.ConversationPrefs{Level: chat.NotifyNone, Muted: true}))
	if got := p.Conversations["c:general"]; got.Level != "none" || !got.Muted {
		t.Errorf("after setting: %+v", p)
	}
	p = must(e.app.SetDND(e.ctx, alice, true))
	if !p.DND {
		t.Errorf("dnd not on: %+v", p)
	}
	evs := e.rec.take()
	if to, ok := recipientsOf(evs, "notifications"); !ok || len(to) != 1 || to[0] != alice.ID {
		t.Errorf("notifications event went to %v, want alice only", to)
	}
	// Stored per user: bob's are untouched, alice's survive.
	if p := must(e.app.NotificationPrefs(e.ctx, bob)); p.DND || len(p.Conversations) != 0 {
		t.Errorf("bob's prefs = %+v", p)
	}
	if p := must(e.app.NotificationPrefs(e.ctx, alice)); !p.DND || !p.Conversations["c:general"].Muted {
		t.Errorf("alice's prefs read back = %+v", p)
	}
	// Back to the default: no row left.
	p = must(e.app.SetConversationPrefs(e.ctx, alice, "c:general", chat.ConversationPrefs{}))
	if _, ok := p.Conversations["c:general"]; ok {
		t.Errorf("default prefs still listed: %+v", p)
	}
	for _, tc := range []struct {
		conv  string
		level string
		code  string
	}{
		{"c:general", "loud", chat.EInvalid},
		{"c:nowhere", "all", chat.ENotFound},
		{"d:bob,carol", "all", chat.ENotFound},
	} {
		if _, err := e.app.SetConversationPrefs(e.ctx, alice, tc.conv, chat.ConversationPrefs{Level: tc.level}); codeOf(err) != tc.code {
			t.Errorf("SetConversationPrefs(%s, %s) = %v, want %s", tc.conv, tc.level, err, tc.code)
		}
	}
	if p := must(e.app.NotificationPrefs(e.ctx, alice)); len(p.Conversations) != 0 {
		t.Errorf("refused requests stored something: %+v", p)
	}
}
