package app_test

import (
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

func TestApp_MarkUnread(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	bob := e.mustAccount(t, "bob")
	var ids []string
	for _, body := range []string{"one", "two @alice", "three"} {
		m := must(e.app.Post(e.ctx, bob, "c:general", body, "", nil))
		ids = append(ids, m.ID)
	}
	if err := e.app.MarkRead(e.ctx, alice, "c:general", ids[2]); err != nil {
		t.Fatal(err)
	}
	e.rec.take()

	t.Run("from a message on", func(t *testing.T) {
		c, err := e.app.MarkUnread(e.ctx, alice, "c:general", ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if c.Unread != 2 || c.Mentions != 1 || c.LastRead != ids[0] {
			t.Errorf("got unread %d, mentions %d, last_read %q; want 2, 1, %q", c.Unread, c.Mentions, c.LastRead, ids[0])
		}
		got := must(e.app.Conversation(e.ctx, alice, "c:general"))
		if got.Unread != 2 || got.LastRead != ids[0] {
			t.Errorf("stored: unread %d, last_read %q; want 2, %q", got.Unread, got.LastRead, ids[0])
		}
		evs := e.rec.take()
		to, ok := recipientsOf(evs, "unread")
		if !ok || len(to) != 1 || to[0] != alice.ID {
			t.Errorf("unread event went to %v (sent %v), want alice only", to, ok)
		}
		if ev := evs[len(evs)-1].ev.(chat.Unread); ev.LastRead != ids[0] || ev.Unread != 2 {
			t.Errorf("unread event = %+v", ev)
		}
		// Reading again moves forward as usual.
		if err := e.app.MarkRead(e.ctx, alice, "c:general", ids[2]); err != nil {
			t.Fatal(err)
		}
		if got := must(e.app.Conversation(e.ctx, alice, "c:general")); got.Unread != 0 {
			t.Errorf("after reading again: unread %d", got.Unread)
		}
	})

	t.Run("from the first message", func(t *testing.T) {
		// The welcome history may hold nothing older: all three are unread again.
		c := must(e.app.MarkUnread(e.ctx, alice, "c:general", ids[0]))
		if c.Unread != 3 || c.LastRead != "" {
			t.Errorf("got unread %d, last_read %q; want 3, none", c.Unread, c.LastRead)
		}
	})

	t.Run("bad input writes nothing", func(t *testing.T) {
		before := must(e.app.Conversation(e.ctx, alice, "c:general"))
		for _, tc := range []struct{ conv, mid, code string }{
			{"c:general", "not-an-id", chat.EInvalid},
			{"c:general", "01ZZZZZZZZZZZZZZZZZZZZZZZZ", chat.ENotFound},
			{"c:nowhere", ids[1], chat.ENotFound},
		} {
			if _, err := e.app.MarkUnread(e.ctx, alice, tc.conv, tc.mid); codeOf(err) != tc.code {
				t.Errorf("MarkUnread(%s, %s) = %v, want %s", tc.conv, tc.mid, err, tc.code)
			}
		}
		if after := must(e.app.Conversation(e.ctx, alice, "c:general")); after.LastRead != before.LastRead || after.Unread != before.Unread {
			t.Errorf("a refused request changed the state: %+v → %+v", before, after)
		}
	})
}
