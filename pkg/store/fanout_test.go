package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/store"
)

// The fan-out keeps its INSERT prepared per open user database. With a handle cache far
// smaller than the number of recipients, handles are closed and reopened all the time: every
// copy must still land exactly once, and the cache must stay within its bound.
func TestStore_FanoutThroughSmallHandleCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, dir, store.Options{MaxOpenUserDBs: 2, FanoutWorkers: 4})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for i := range 7 {
		users = append(users, fmt.Sprintf("user%d", i))
	}
	MustCreateUsers(t, s, users...)
	const n = 60
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			m := &chat.Message{Conversation: "c:general", Sender: users[i%len(users)], Body: fmt.Sprint(i), HTML: fmt.Sprint(i)}
			if err := s.PostMessage(ctx, m, users); err != nil {
				t.Error(err)
			}
			ids[i] = m.ID
		})
	}
	wg.Wait()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := s.MessageCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if counts[u] != n {
			t.Errorf("%s has %d messages, want %d", u, counts[u], n)
		}
		page, _, err := s.History(ctx, u, "c:general", "", n)
		if err != nil || len(page) != n {
			t.Fatalf("%s: history %d, %v", u, len(page), err)
		}
	}
	if got := s.OpenUserDBs(); got > 2 {
		t.Errorf("%d user databases open, want at most 2", got)
	}
	// Seven databases through two handles: they were opened again and again, and the
	// counter the operator watches says so.
	if got := s.UserDBOpens(); got <= int64(len(users)) {
		t.Errorf("%d user databases opened, want more than the %d users (the cache is too small for them)", got, len(users))
	}
	// Closing and reopening the store (fresh handles, fresh statements) and writing again
	// works, and a replayed copy is not doubled.
	s.Close()
	s, err = store.Open(ctx, dir, store.Options{MaxOpenUserDBs: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := &chat.Message{Conversation: "c:general", Sender: users[0], Body: "again", HTML: "again"}
	if err := s.PostMessage(ctx, m, users); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	counts, _ = s.MessageCounts(ctx)
	for _, u := range users {
		if counts[u] != n+1 {
			t.Errorf("after reopen %s has %d messages, want %d", u, counts[u], n+1)
		}
	}
}

// A plain message is written with the short INSERT (only the columns whose defaults do not
// fit), the others with the full one, in the same transaction: each copy reads back as it was
// posted, and the plain one's row has the defaults the full INSERT would have written.
func TestStore_FanoutPlainAndFullCopies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := MustOpen(t, dir)
	users := []string{"alice", "bob"}
	MustCreateUsers(t, s, users...)
	plain := &chat.Message{Conversation: "c:general", Sender: "alice", Body: "hi @bob", HTML: "<p>hi @bob</p>", Mentions: []string{"bob"}}
	if err := s.PostMessage(ctx, plain, users); err != nil {
		t.Fatal(err)
	}
	full := []*chat.Message{
		{Conversation: "c:general", Sender: "bob", Body: "reply", HTML: "<p>reply</p>", ThreadRoot: plain.ID},
		{Conversation: "c:general", Sender: "bob", Body: "file", HTML: "<p>file</p>",
			Attachment: &chat.Attachment{StoredName: "abc.png", Name: "a.png", Size: 42, Type: "image/png"}},
		{Conversation: "c:general", Sender: "bob", Body: "hook", HTML: "<p>hook</p>", Props: &chat.MessageProps{FromWebhook: true, Username: "ci"}},
	}
	for _, m := range full {
		if err := s.PostMessage(ctx, m, users); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		got, err := s.GetMessage(ctx, u, "c:general", plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Body != plain.Body || got.HTML != plain.HTML || got.Sender != "alice" || len(got.Mentions) != 1 || got.Mentions[0] != "bob" ||
			got.SentMS != plain.SentMS || got.ThreadRoot != "" || got.Attachment != nil || got.Props != nil || got.EditedTS != 0 || got.Deleted {
			t.Errorf("%s: plain copy %+v", u, got)
		}
		for _, m := range full {
			got, err := s.GetMessage(ctx, u, "c:general", m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Body != m.Body || got.ThreadRoot != m.ThreadRoot || (m.Attachment == nil) != (got.Attachment == nil) ||
				(m.Attachment != nil && (got.Attachment.StoredName != m.Attachment.StoredName || got.Attachment.Size != 42)) ||
				(m.Props == nil) != (got.Props == nil) || (m.Props != nil && got.Props.Username != "ci") {
				t.Errorf("%s: copy of %q = %+v", u, m.Body, got)
			}
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "users", "bob.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var edited, deleted int
	var thread, props string
	var file sql.NullString
	if err := db.QueryRow(`SELECT edited_ts, deleted, thread_root, props, attachment_file FROM messages WHERE id = ?`, plain.ID).
		Scan(&edited, &deleted, &thread, &props, &file); err != nil {
		t.Fatal(err)
	}
	if edited != 0 || deleted != 0 || thread != "" || props != "" || file.Valid {
		t.Errorf("plain row: edited %d deleted %d thread %q props %q file %v", edited, deleted, thread, props, file)
	}
}
