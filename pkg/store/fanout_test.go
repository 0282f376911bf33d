package store_test

import (
	"context"
	"fmt"
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
