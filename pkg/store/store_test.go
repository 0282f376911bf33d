package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/store"
)

func MustOpen(tb testing.TB, dir string) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func MustCreateUsers(tb testing.TB, s *store.Store, names ...string) {
	tb.Helper()
	for _, n := range names {
		if _, err := s.CreateUser(context.Background(), n, "x", []string{"general"}); err != nil {
			tb.Fatalf("create %s: %v", n, err)
		}
	}
}

func TestStore_FanOutAndHistory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := MustOpen(t, dir)
	MustCreateUsers(t, s, "alice", "bob", "carol")
	m := &chat.Message{Conversation: "c:general", Sender: "alice", Body: "hi", HTML: "<p>hi</p>"}
	if err := s.PostMessage(ctx, m, []string{"alice", "bob", "carol"}); err != nil {
		t.Fatal(err)
	}
	dm := &chat.Message{Conversation: "d:alice,bob", Sender: "alice", Body: "psst", HTML: "<p>psst</p>"}
	if err := s.PostMessage(ctx, dm, []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		got, more, err := s.History(ctx, u, "c:general", "", 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != m.ID || more {
			t.Errorf("%s: history = %+v, more=%v; want the one message %s", u, got, more, m.ID)
		}
		dms, _, _ := s.History(ctx, u, "d:alice,bob", "", 50)
		if want := u != "carol"; (len(dms) == 1) != want {
			t.Errorf("%s: DM copies = %d, want present=%v", u, len(dms), want)
		}
	}
	// A user created later gets the channel's recent history, not the DM.
	MustCreateUsers(t, s, "dave")
	got, _, err := s.History(ctx, "dave", "c:general", "", 50)
	if err != nil || len(got) != 1 || got[0].ID != m.ID {
		t.Errorf("dave's backfilled history = %+v, %v; want the channel message", got, err)
	}
	dms, _, _ := s.History(ctx, "dave", "d:alice,bob", "", 50)
	if len(dms) != 0 {
		t.Errorf("dave sees %d DM messages, want 0", len(dms))
	}
}

func TestStore_JournalReplay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	MustCreateUsers(t, s, "alice", "bob")
	s.Close()
	// An acknowledged message whose fan-out never happened (the daemon died): a journal row
	// only, twice over for idempotence, and one copy already written.
	db, err := sql.Open("sqlite", filepath.Join(dir, "presence.db"))
	if err != nil {
		t.Fatal(err)
	}
	m := chat.Message{ID: "01KAAAAAAAAAAAAAAAAAAAAAAA", Conversation: "c:general", Sender: "alice", Body: "hi", HTML: "<p>hi</p>", SentTS: 1, SentMS: 1000}
	payload, _ := json.Marshal(m)
	for range 2 {
		if _, err := db.Exec(`INSERT INTO journal(op, payload, recipients, created_ts) VALUES ('put', ?, '["alice","bob"]', 1)`, string(payload)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s = MustOpen(t, dir)
	for _, u := range []string{"alice", "bob"} {
		got, _, err := s.History(ctx, u, "c:general", "", 50)
		if err != nil || len(got) != 1 || got[0].ID != m.ID {
			t.Errorf("%s after replay: %+v, %v; want the journaled message once", u, got, err)
		}
	}
	s.Close()
	db, _ = sql.Open("sqlite", filepath.Join(dir, "presence.db"))
	defer db.Close()
	var n int
	db.QueryRow("SELECT COUNT(*) FROM journal").Scan(&n)
	if n != 0 {
		t.Errorf("journal rows after replay = %d, want 0", n)
	}
}

func TestStore_DeleteUser(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{"soft", "hard"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			s := MustOpen(t, dir)
			MustCreateUsers(t, s, "alice", "bob")
			m := &chat.Message{Conversation: "c:general", Sender: "alice", Body: "hi", HTML: "<p>hi</p>"}
			if err := s.PostMessage(ctx, m, []string{"alice", "bob"}); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteUser(ctx, "alice", mode); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "users", "alice.db")); !os.IsNotExist(err) {
				t.Errorf("alice.db still there: %v", err)
			}
			got, _, _ := s.History(ctx, "bob", "c:general", "", 50)
			switch mode {
			case "soft":
				if len(got) != 1 || got[0].Sender != chat.DeletedUser {
					t.Errorf("bob sees %+v, want one message by %q", got, chat.DeletedUser)
				}
			case "hard":
				if len(got) != 0 {
					t.Errorf("bob sees %+v, want none", got)
				}
			}
			if ok, _ := s.UserExists(ctx, "alice"); ok {
				t.Error("alice still exists")
			}
			if _, err := s.CreateUser(ctx, "alice", "y", nil); err != nil {
				t.Fatalf("re-register: %v", err)
			}
		})
	}
}
