package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/store"
)

// WarmUserDBs opens the databases of the accounts with the most recently used live sessions,
// as many as the handle cache holds, the most recent last (so evicted last); expired
// sessions, accounts whose database is gone and names that are not usernames are skipped.
func TestStore_WarmUserDBs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Unix(1_800_000_000, 0)
	opts := store.Options{MaxOpenUserDBs: 2}
	open := func() *store.Store {
		s, err := store.Open(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return now }
		return s
	}
	s := open()
	seen := map[string]int64{"ann": 10, "ben": 20, "cat": 30, "dan": 40, "eve": 50}
	for _, n := range []string{"ann", "ben", "cat", "dan", "eve"} {
		a, err := s.CreateUser(ctx, n, "x", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, "h-"+n, a, now.Unix()+3600, ""); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	auth, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "auth.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	for n, ts := range seen {
		if _, err := auth.Exec("UPDATE sessions SET last_seen_ts = ? WHERE username = ?", now.Unix()-100+ts, n); err != nil {
			t.Fatal(err)
		}
	}
	// eve's session expired; dan's database was removed by hand; a row names no username.
	if _, err := auth.Exec("UPDATE sessions SET expires_ts = ? WHERE username = 'eve'", now.Unix()-1); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "users", "dan.db")); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Exec(`INSERT INTO sessions(id_hash, username, user_id, created_ts, last_seen_ts, expires_ts)
		SELECT 'h-bad', '../auth', user_id, created_ts, ?, expires_ts FROM sessions WHERE username = 'ann'`, now.Unix()+1); err != nil {
		t.Fatal(err)
	}

	s = open()
	defer s.Close()
	// A start that ends at once (shutdown) warms nothing.
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	if n, _ := s.WarmUserDBs(stopped); n != 0 || s.UserDBOpens() != 0 {
		t.Fatalf("with its context ended, warmed %d (opens %d), want 0", n, s.UserDBOpens())
	}
	n, err := s.WarmUserDBs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("warmed %d, want 2", n)
	}
	if o := s.OpenUserDBs(); o != 2 {
		t.Fatalf("%d databases open, want 2", o)
	}
	read := func(user string, opens int64) {
		t.Helper()
		if _, _, err := s.History(ctx, user, "c:general", "", 10); err != nil {
			t.Fatal(err)
		}
		if got := s.UserDBOpens(); got != opens {
			t.Fatalf("after reading %s: %d opens, want %d", user, got, opens)
		}
	}
	// cat (the most recent) was opened last: ann's open evicts ben, not cat.
	read("ann", 3)
	read("cat", 3)
	read("ben", 4)
}
