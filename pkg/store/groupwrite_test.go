package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
)

// Small presence.db writes share one group commit; one that fails is undone alone and only
// its caller hears of it.
func TestGroupWrite_OneCommitOneFailureAlone(t *testing.T) {
	s := openJournalStore(t, t.TempDir(), Options{})
	ctx := context.Background()
	insert := func(reader string) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.Exec("INSERT INTO read_receipts(reader, conversation, message_id, read_ts) VALUES (?, 'c', 'm', 0)", reader)
			return err
		}
	}
	boom := errors.New("boom")
	failing := func(tx *sql.Tx) error {
		if err := insert("carol")(tx); err != nil {
			return err
		}
		return boom
	}
	batch := []appendReq{
		{exec: insert("alice"), done: make(chan error, 1)},
		{exec: failing, done: make(chan error, 1)},
		{exec: insert("bob"), done: make(chan error, 1)},
	}
	before := s.FanoutStats().JournalCommits
	s.fanout.commit(batch, nil)
	if got := s.FanoutStats().JournalCommits - before; got != 1 {
		t.Fatalf("%d commits for three small writes, want 1", got)
	}
	for i, want := range []error{nil, boom, nil} {
		if err := <-batch[i].done; !errors.Is(err, want) {
			t.Errorf("write %d: err = %v, want %v", i, err, want)
		}
	}
	var readers []string
	rows, err := s.presence.R.QueryContext(ctx, "SELECT reader FROM read_receipts ORDER BY reader")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r string
		rows.Scan(&r)
		readers = append(readers, r)
	}
	if len(readers) != 2 || readers[0] != "alice" || readers[1] != "bob" {
		t.Fatalf("read_receipts readers = %v, want [alice bob] (carol's write undone)", readers)
	}
}

// Through the journal loop: concurrent MarkReads all land, and never take more commits than
// writes.
func TestGroupWrite_MarkReadsConcurrently(t *testing.T) {
	s := openJournalStore(t, t.TempDir(), Options{})
	ctx := context.Background()
	before := s.FanoutStats().JournalCommits
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := s.MarkRead(ctx, "u"+string(rune('a'+i%26))+string(rune('a'+i/26)), "c", "m1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var n int
	if err := s.presence.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM read_receipts WHERE message_id = 'm1'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 50 {
		t.Fatalf("%d receipts, want 50", n)
	}
	if c := s.FanoutStats().JournalCommits - before; c < 1 || c > 50 {
		t.Fatalf("%d commits for 50 writes", c)
	}
}
