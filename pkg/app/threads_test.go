package app_test

import (
	"slices"
	"testing"
)

func TestThreads(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	bob := e.mustAccount(t, "bob")
	root := must(e.app.Post(e.ctx, alice, "c:general", "shall we ship friday?", "", nil))
	r1 := must(e.app.Post(e.ctx, bob, "c:general", "yes, thread reply one", root.ID, nil))
	// A reply to a reply joins the same thread.
	r2 := must(e.app.Post(e.ctx, alice, "c:general", "reply two", r1.ID, nil))
	if r2.ThreadRoot != root.ID {
		t.Errorf("reply to a reply: thread_root %q, want %q", r2.ThreadRoot, root.ID)
	}
	after := must(e.app.Post(e.ctx, bob, "c:general", "back in the channel", "", nil))

	h := must2(e.app.History(e.ctx, alice, "c:general", "", 50))
	var ids []string
	for _, m := range h {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, []string{root.ID, after.ID}) {
		t.Errorf("history = %v, want the root and the channel message only", ids)
	}
	if th := h[0].Thread; th == nil || th.Replies != 2 || !slices.Equal(th.Participants, []string{"bob", "alice"}) || th.LastReplyMS != r2.SentMS {
		t.Errorf("root's thread summary = %+v", th)
	}

	gotRoot, replies, err := e.app.Thread(e.ctx, bob, "c:general", r2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if gotRoot.ID != root.ID || len(replies) != 2 || replies[0].ID != r1.ID || replies[1].ID != r2.ID {
		t.Errorf("thread = %s + %v", gotRoot.ID, replies)
	}

	// Replies count as unread only when they mention.
	if err := e.app.MarkRead(e.ctx, alice, "c:general", after.ID); err != nil {
		t.Fatal(err)
	}
	must(e.app.Post(e.ctx, bob, "c:general", "a quiet reply", root.ID, nil))
	must(e.app.Post(e.ctx, bob, "c:general", "@alice look at this reply", root.ID, nil))
	c := must(e.app.Conversation(e.ctx, alice, "c:general"))
	if c.Unread != 0 || c.Mentions != 1 {
		t.Errorf("after two replies: unread %d, mentions %d; want 0, 1", c.Unread, c.Mentions)
	}
	// Replies are found by search like any message.
	found := must(e.app.Search(e.ctx, alice, "quiet reply", 10))
	if len(found) != 1 || found[0].ThreadRoot != root.ID {
		t.Errorf("search found %+v", found)
	}
	if _, _, err := e.app.Thread(e.ctx, alice, "c:general", "not-an-id"); codeOf(err) != "not_found" {
		t.Errorf("Thread(not-an-id) = %v", err)
	}
}

func TestThreads_View(t *testing.T) {
	e := newEnv(t)
	alice := e.mustAccount(t, "alice")
	bob := e.mustAccount(t, "bob")
	carol := e.mustAccount(t, "carol")
	root := must(e.app.Post(e.ctx, alice, "c:general", "a question", "", nil))
	must(e.app.Post(e.ctx, bob, "c:general", "an answer", root.ID, nil))
	r2 := must(e.app.Post(e.ctx, bob, "c:general", "and another", root.ID, nil))
	items := must(e.app.Threads(e.ctx, alice, 50))
	if len(items) != 1 || items[0].Root.ID != root.ID || items[0].Unread != 2 || items[0].Root.Thread == nil || items[0].Root.Thread.Replies != 2 {
		t.Fatalf("alice's threads = %+v", items)
	}
	if items := must(e.app.Threads(e.ctx, carol, 50)); len(items) != 0 {
		t.Errorf("carol, not in the thread, has %d threads", len(items))
	}
	if err := e.app.MarkThreadRead(e.ctx, alice, "c:general", root.ID, r2.ID); err != nil {
		t.Fatal(err)
	}
	if items := must(e.app.Threads(e.ctx, alice, 50)); items[0].Unread != 0 {
		t.Errorf("after reading: unread %d", items[0].Unread)
	}
	must(e.app.Post(e.ctx, bob, "c:general", "@carol what do you think?", root.ID, nil))
	if items := must(e.app.Threads(e.ctx, carol, 50)); len(items) != 1 || items[0].Unread != 3 {
		t.Errorf("carol, mentioned, has %+v", items)
	}
	if items := must(e.app.Threads(e.ctx, alice, 50)); items[0].Unread != 1 {
		t.Errorf("alice after a new reply: unread %d, want 1", items[0].Unread)
	}
	if err := e.app.MarkThreadRead(e.ctx, alice, "c:general", root.ID, root.ID); codeOf(err) != "invalid" {
		t.Errorf("marking read with the root itself = %v, want invalid", err)
	}
}
