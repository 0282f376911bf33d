package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
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

// Through the journal loop: concurrent MarkReads all land.
func TestGroupWrite_MarkReadsConcurrently(t *testing.T) {
	s := openJournalStore(t, t.TempDir(), Options{})
	ctx := context.Background()
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
}

func TestReady(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("open store not ready: %v", err)
	}
	s.Close()
	if err := s.Ready(context.Background()); err == nil {
		t.Fatal("a closed store says it is ready")
	}
}

// A small write that ends the whole transaction (here: the database is full) fails the group
// commit it is in, the journal append beside it included, and says why; nothing is stored.
func TestGroupWrite_FailureThatEndsTheTransaction(t *testing.T) {
	s := openJournalStore(t, t.TempDir(), Options{})
	ctx := context.Background()
	var pages int64
	if err := s.presence.W.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.presence.W.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	full := func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO read_receipts(reader, conversation, message_id, read_ts) VALUES ('x', 'c', ?, 0)", strings.Repeat("m", 1<<20))
		return err
	}
	e := &entry{op: opPut, msg: chat.Message{ID: "01ARZ3NDEKTSV4RRFFQ69G5FAV", Conversation: "c"}, recipients: []string{"a"}}
	batch := []appendReq{{e: e, done: make(chan error, 1)}, {exec: full, done: make(chan error, 1)}}
	s.fanout.commit(batch, nil)
	for i, r := range batch {
		err := <-r.done
		if err == nil || !strings.Contains(err.Error(), "full") {
			t.Errorf("request %d: err = %v, want the database-full error", i, err)
		}
	}
	if _, err := s.presence.W.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	var n int
	s.presence.R.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM journal) + (SELECT COUNT(*) FROM read_receipts)").Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows stored by a failed commit", n)
	}
}
