package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/store"
)

func mustOpenLinger(tb testing.TB, dir string, linger time.Duration) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), dir, store.Options{FanoutLinger: linger})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func postN(tb testing.TB, s *store.Store, n int, recipients []string) {
	tb.Helper()
	for i := range n {
		m := &chat.Message{Conversation: "c:general", Sender: recipients[0], Body: fmt.Sprint(i), HTML: fmt.Sprint(i)}
		if err := s.PostMessage(context.Background(), m, recipients); err != nil {
			tb.Fatal(err)
		}
	}
}

// With a linger far longer than the test, the copies queued for a user wait for each other
// and a flush writes each user's queue in one transaction.
func TestStore_FanoutLingerSharesTransactions(t *testing.T) {
	ctx := context.Background()
	s := mustOpenLinger(t, t.TempDir(), time.Hour)
	users := []string{"ann", "ben", "cat"}
	MustCreateUsers(t, s, users...)
	before := s.FanoutStats()
	const n = 20
	postN(t, s, n, users)
	if got := s.FanoutStats().Queued; got != n*int64(len(users)) {
		t.Errorf("queued %d copies before the flush, want %d", got, n*len(users))
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.FanoutStats()
	if got, want := st.Copies-before.Copies, int64(n*len(users)); got != want {
		t.Errorf("copies = %d, want %d", got, want)
	}
	if got, want := st.Transactions-before.Transactions, int64(len(users)); got != want {
		t.Errorf("transactions = %d, want %d (one per user)", got, want)
	}
	if st.Queued != 0 {
		t.Errorf("queued = %d after a flush, want 0", st.Queued)
	}
	if st.JournalCommits == 0 || st.JournalCommitNanos <= 0 {
		t.Errorf("journal commits not counted: %+v", st)
	}
}

// A read does not wait for the linger: it merges the reader's queued copies, and every
// queue keeps lingering.
func TestStore_FanoutLingerReadYourWrites(t *testing.T) {
	ctx := context.Background()
	s := mustOpenLinger(t, t.TempDir(), time.Hour)
	users := []string{"ann", "ben"}
	MustCreateUsers(t, s, users...)
	postN(t, s, 5, users)
	page, _, err := s.History(ctx, "ben", "c:general", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 5 {
		t.Fatalf("ben reads %d messages, want 5", len(page))
	}
	if got := s.FanoutStats().Queued; got != 10 {
		t.Errorf("queued = %d after ben's read, want all 10 still lingering", got)
	}
	// A second read after more posts sees them too.
	postN(t, s, 3, users)
	if page, _, err = s.History(ctx, "ben", "c:general", "", 50); err != nil || len(page) != 8 {
		t.Fatalf("ben reads %d messages (%v), want 8", len(page), err)
	}
}

// Without reads or flushes, lingering copies are written once their linger is over.
func TestStore_FanoutLingerIsBounded(t *testing.T) {
	s := mustOpenLinger(t, t.TempDir(), 5*time.Millisecond)
	users := []string{"ann", "ben"}
	MustCreateUsers(t, s, users...)
	before := s.FanoutStats().Copies
	postN(t, s, 4, users)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for s.FanoutStats().Copies-before < 8 {
		<-tick.C
	}
	if q := s.FanoutStats().Queued; q != 0 {
		t.Errorf("queued = %d, want 0", q)
	}
}

// Closing writes the lingering copies: after a reopen they are in place and the journal
// needs no replay.
func TestStore_FanoutLingerClose(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, dir, store.Options{FanoutLinger: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	users := []string{"ann", "ben"}
	MustCreateUsers(t, s, users...)
	postN(t, s, 7, users)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	journal := openJournal(t, dir)
	var rows int
	if err := journal.QueryRow("SELECT COUNT(*) FROM journal").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("journal holds %d rows after close, want 0", rows)
	}
	s2 := mustOpenLinger(t, dir, time.Hour)
	counts, err := s2.MessageCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if counts[u] != 7 {
			t.Errorf("%s has %d messages after reopen, want 7", u, counts[u])
		}
	}
}

// Past its bound the fan-out refuses new posts with retry advice, and accepts them again once
// it has caught up; what it refused is not journaled.
func TestStore_FanoutBackPressure(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, t.TempDir(), store.Options{FanoutLinger: time.Hour, FanoutMaxQueued: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	users := []string{"ann", "ben", "cat"}
	MustCreateUsers(t, s, users...)
	postN(t, s, 3, users) // 9 copies queued
	m := &chat.Message{Conversation: "c:general", Sender: "ann", Body: "one too many", HTML: "x"}
	err = s.PostMessage(ctx, m, users)
	var ce *chat.Error
	if !errors.As(err, &ce) || ce.Code != chat.ETooMany || ce.RetryAfter < 1 {
		t.Fatalf("post past the bound: %v, want too_many with retry_after", err)
	}
	if st := s.FanoutStats(); st.Refused != 1 || st.Queued != 9 {
		t.Errorf("refused %d, queued %d; want 1, 9", st.Refused, st.Queued)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.PostMessage(ctx, m, users); err != nil {
		t.Fatalf("post after the flush: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := s.MessageCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["ann"] != 4 {
		t.Errorf("ann has %d messages, want 4 (the refused post is not there)", counts["ann"])
	}
}
