package store

import (
	"context"
	"testing"
)

// readStmt prepares a query once and hands out the same statement after, which reads what
// was written since it was prepared.
func TestPair_ReadStmtPreparedOnce(t *testing.T) {
	ctx := context.Background()
	s := openJournalStore(t, t.TempDir(), Options{})
	const q = "SELECT COUNT(*) FROM users WHERE username = ?"
	st, err := s.auth.readStmt(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		again, err := s.auth.readStmt(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if again != st {
			t.Fatal("the query was prepared again")
		}
		if err := again.QueryRowContext(ctx, "ann").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("%d rows before ann exists", n)
	}
	if _, err := s.CreateUser(ctx, "ann", "x", nil); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d rows after ann was created, want 1", n)
	}
	if other, err := s.auth.readStmt(ctx, "SELECT 1"); err != nil || other == st {
		t.Fatalf("another query: %v, same statement %v", err, other == st)
	}
}
