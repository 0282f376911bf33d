package app_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

// TestPostReply_AlsoChannel: a reply also sent to the channel is in the thread and in the
// channel's list (with the root's text), counts as unread there, keeps that through an edit,
// and needs a thread.
func TestPostReply_AlsoChannel(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	bob := e.mustAccount(t, "bob")
	root := must(e.app.Post(e.ctx, alice, "c:general", "shall we   ship\non friday? "+strings.Repeat("x", 200), "", nil))
	quiet := must(e.app.PostReply(e.ctx, bob, "c:general", "a reply for the thread only", root.ID, false))
	if err := e.app.MarkRead(e.ctx, alice, "c:general", quiet.ID); err != nil {
		t.Fatal(err)
	}
	e.rec.take()
	loud := must(e.app.PostReply(e.ctx, bob, "c:general", "yes, and everyone should know", root.ID, true))
	wantPreview := "shall we ship on friday? " + strings.Repeat("x", 75) + "…"
	if !loud.AlsoInChannel() || loud.RootPreview != wantPreview {
		t.Errorf("reply: props %+v, root_preview %q; want also_channel and %q", loud.Props, loud.RootPreview, wantPreview)
	}
	evs := e.rec.take()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	if ev, ok := evs[0].ev.(chat.MessageNew); !ok || !ev.Message.AlsoInChannel() || ev.Message.RootPreview != wantPreview {
		t.Errorf("event %+v, want the reply marked also_channel with its root's text", evs[0].ev)
	}

	for _, who := range []chat.Account{alice, bob} {
		h := must2(e.app.History(e.ctx, who, "c:general", "", 50))
		var ids []string
		for _, m := range h {
			ids = append(ids, m.ID)
		}
		if !slices.Equal(ids, []string{root.ID, loud.ID}) {
			t.Errorf("%s's history = %v, want the root and the reply also sent to the channel", who.Name, ids)
		}
		if last := h[len(h)-1]; last.RootPreview != wantPreview || last.ThreadRoot != root.ID {
			t.Errorf("%s's history: the reply has root_preview %q, thread_root %q", who.Name, last.RootPreview, last.ThreadRoot)
		}
		if th := h[0].Thread; th == nil || th.Replies != 2 {
			t.Errorf("%s's root summary = %+v, want 2 replies", who.Name, th)
		}
	}
	_, replies, err := e.app.Thread(e.ctx, alice, "c:general", root.ID)
	if err != nil || len(replies) != 2 || replies[1].ID != loud.ID {
		t.Errorf("thread = %v, %v; want both replies", replies, err)
	}
	if c := must(e.app.Conversation(e.ctx, alice, "c:general")); c.Unread != 1 {
		t.Errorf("alice's unread = %d, want 1 (the reply in the channel's list)", c.Unread)
	}

	edited := must(e.app.Edit(e.ctx, bob, "c:general", loud.ID, "yes, everyone"))
	if !edited.AlsoInChannel() || edited.RootPreview != wantPreview {
		t.Errorf("edited: props %+v, root_preview %q", edited.Props, edited.RootPreview)
	}
	// The root deleted: the reply stays in the list, quoting nothing.
	if err := e.app.Delete(e.ctx, alice, "c:general", root.ID); err != nil {
		t.Fatal(err)
	}
	h := must2(e.app.History(e.ctx, bob, "c:general", "", 50))
	if last := h[len(h)-1]; last.ID != loud.ID || last.RootPreview != "" {
		t.Errorf("after the root's deletion: last %s with root_preview %q", last.ID, last.RootPreview)
	}

	e.rec.take()
	if _, err := e.app.PostReply(e.ctx, bob, "c:general", "no thread", "", true); codeOf(err) != "invalid" {
		t.Errorf("also_channel without thread_root = %v, want invalid", err)
	}
	if n := len(e.rec.take()); n != 0 {
		t.Errorf("a refused reply published %d events", n)
	}
	if h2 := must2(e.app.History(e.ctx, bob, "c:general", "", 50)); len(h2) != len(h) {
		t.Errorf("a refused reply changed the history: %d messages, want %d", len(h2), len(h))
	}
}

// TestPostReply_Participants: a reply's message.new names the thread's people (who started
// it, who replied, the sender), so a client that never loaded the root can tell whether it
// concerns its user; a message outside a thread names nobody.
func TestPostReply_Participants(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	bob := e.mustAccount(t, "bob")
	carol := e.mustAccount(t, "carol")
	e.mustAccount(t, "dave")
	root := must(e.app.Post(e.ctx, alice, "c:general", "a question", "", nil))
	participants := func() []string {
		t.Helper()
		evs := e.rec.take()
		if len(evs) != 1 {
			t.Fatalf("%d events, want 1", len(evs))
		}
		ev, ok := evs[0].ev.(chat.MessageNew)
		if !ok {
			t.Fatalf("event %T, want message.new", evs[0].ev)
		}
		if len(evs[0].to) != 4 {
			t.Errorf("published to %v, want every member", evs[0].to)
		}
		return ev.ThreadParticipants
	}
	e.rec.take()
	r1 := must(e.app.Post(e.ctx, bob, "c:general", "an answer", root.ID, nil))
	if got := participants(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("first reply: participants %v, want [alice bob]", got)
	}
	must(e.app.Post(e.ctx, carol, "c:general", "me too", r1.ID, nil))
	if got := participants(); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Errorf("a reply to a reply: participants %v, want [alice bob carol]", got)
	}
	must(e.app.Post(e.ctx, alice, "c:general", "thanks", root.ID, nil))
	if got := participants(); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Errorf("the starter's reply: participants %v, want [alice bob carol]", got)
	}
	must(e.app.Post(e.ctx, bob, "c:general", "not in a thread", "", nil))
	if got := participants(); got != nil {
		t.Errorf("a channel message names participants %v", got)
	}
}

// TestDelete_ReplyNamesItsThread: a deleted reply's event names its thread's root (a client
// without the thread loaded counts the summary down); a channel message's names none.
func TestDelete_ReplyNamesItsThread(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	e.mustAccount(t, "bob")
	root := must(e.app.Post(e.ctx, alice, "c:general", "a question", "", nil))
	reply := must(e.app.Post(e.ctx, alice, "c:general", "an answer", root.ID, nil))
	for _, tc := range []struct{ id, want string }{{reply.ID, root.ID}, {root.ID, ""}} {
		e.rec.take()
		if err := e.app.Delete(e.ctx, alice, "c:general", tc.id); err != nil {
			t.Fatal(err)
		}
		evs := e.rec.take()
		if len(evs) != 1 {
			t.Fatalf("%d events, want 1", len(evs))
		}
		if ev, ok := evs[0].ev.(chat.MessageDeleted); !ok || ev.ID != tc.id || ev.ThreadRoot != tc.want || len(evs[0].to) != 2 {
			t.Errorf("deleting %s published %+v to %v, want thread_root %q to both", tc.id, evs[0].ev, evs[0].to, tc.want)
		}
	}
}
