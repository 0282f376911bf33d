package store

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// ClearTyping of a user with no typing row neither waits for presence.db's writer (every
// post calls it; the message journal commits on that writer) nor queries presence.db; with a
// row, it deletes it.
func TestClearTyping_NoRowNoWrite(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetTyping(ctx, "ann", "c:general"); err != nil {
		t.Fatal(err)
	}
	// Hold the writer (its pool has one connection): a write would wait for the deadline.
	tx, err := s.presence.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = s.ClearTyping(short, "ben")
	cancel()
	if err != nil {
		t.Errorf("clear typing of a user not typing, writer busy: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// Nor does it read: with presence.db's readers closed it still answers.
	readers := s.presence.R
	closed, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	s.presence.R = closed
	err = s.ClearTyping(ctx, "ben")
	s.presence.R = readers
	if err != nil {
		t.Errorf("clear typing of a user not typing, readers closed: %v", err)
	}
	if err := s.ClearTyping(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.presence.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM typing WHERE user = 'ann'").Scan(&n); err != nil || n != 0 {
		t.Errorf("ann's typing rows after clearing: %d (%v)", n, err)
	}
}
