package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A snapshot of the accounts a second old is read again by one caller; the others get the
// old snapshot meanwhile instead of waiting for the read. An account the daemon creates during
// that read is seen at once, and the read begun before it does not replace what came after.
func TestAccounts_StaleSnapshotServedDuringRefresh(t *testing.T) {
	ctx := context.Background()
	s := openJournalStore(t, t.TempDir(), Options{})
	var clockMu sync.Mutex
	clock := time.Now()
	s.Now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	advance := func(d time.Duration) { clockMu.Lock(); clock = clock.Add(d); clockMu.Unlock() }
	has := func(name string) bool {
		d, err := s.Accounts(ctx)
		if err != nil {
			t.Error(err)
			return false
		}
		_, ok := d.ByName(name)
		return ok
	}
	if _, err := s.CreateUser(ctx, "ann", "x", nil); err != nil {
		t.Fatal(err)
	}
	if !has("ann") {
		t.Fatal("ann is not in the accounts")
	}
	// bob is added by hand, as with sqlite3: seen once the snapshot is a second old.
	if _, err := s.auth.W.ExecContext(ctx, "INSERT INTO users(username, password_hash, created_ts) VALUES ('bob', 'x', 0)"); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Second)

	started, release := make(chan struct{}), make(chan struct{})
	afterAccountsRead = func() {
		afterAccountsRead = nil // only the first read waits
		close(started)
		<-release
	}
	defer func() { afterAccountsRead = nil }()
	refreshed := make(chan bool)
	go func() { refreshed <- has("bob") }()
	<-started
	// The refresh has read the rows (bob's among them) and is held: another caller gets the
	// snapshot it has, without bob.
	other := make(chan bool)
	go func() { other <- has("bob") }()
	select {
	case got := <-other:
		if got {
			t.Error("a caller during the refresh got bob: it did not get the snapshot")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a caller waited for another's refresh of the accounts")
	}
	// The daemon creates carol meanwhile: seen at once.
	if _, err := s.CreateUser(ctx, "carol", "x", nil); err != nil {
		t.Fatal(err)
	}
	if !has("carol") || !has("bob") {
		t.Error("after the daemon created carol, the accounts lack carol or bob")
	}
	close(release)
	if !<-refreshed {
		t.Error("the refreshing caller did not get bob")
	}
	// The refresh read the rows before carol was created: what it read does not replace the
	// snapshot that has her.
	if !has("carol") {
		t.Error("the refresh begun before carol's creation replaced the snapshot that has her")
	}
}

// When the accounts cannot be read again, the snapshot a second old is served and the next
// caller tries again; with no snapshot, the error is returned.
func TestAccounts_FailedRefreshServesTheSnapshot(t *testing.T) {
	ctx := context.Background()
	s := openJournalStore(t, t.TempDir(), Options{})
	clock := time.Now()
	s.Now = func() time.Time { return clock }
	if _, err := s.CreateUser(ctx, "ann", "x", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accounts(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.auth.W.ExecContext(ctx, "INSERT INTO users(username, password_hash, created_ts) VALUES ('bob', 'x', 0)"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second)
	failing, cancel := context.WithCancel(ctx)
	cancel() // the read fails
	d, err := s.Accounts(failing)
	if err != nil {
		t.Fatalf("a failed refresh: %v, want the snapshot", err)
	}
	if _, ok := d.ByName("ann"); !ok {
		t.Error("the snapshot served lacks ann")
	}
	if d, err := s.Accounts(ctx); err != nil {
		t.Fatal(err)
	} else if _, ok := d.ByName("bob"); !ok {
		t.Error("the next caller did not read the accounts again")
	}
	s.invalidateUsers() // no snapshot now
	if _, err := s.Accounts(failing); err == nil {
		t.Error("no snapshot and a failed read: no error")
	}
}
