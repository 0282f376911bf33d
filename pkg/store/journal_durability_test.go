package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/fsutil"
)

// These tests use the store's internals (user databases made without accounts, the fan-out's
// fsync hook), so they do not depend on the account API.

func openJournalStore(t *testing.T, dir string, opt Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, opt)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// makeUserDBs creates users/<name>.db for each name, as account creation does.
func makeUserDBs(t *testing.T, s *Store, names ...string) {
	t.Helper()
	for _, n := range names {
		u, err := s.users.acquire(context.Background(), n, true)
		if err != nil {
			t.Fatalf("create users/%s.db: %v", n, err)
		}
		s.users.release(u)
	}
}

// journalRows counts the rows of presence.db's journal.
func journalRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.presence.R.QueryRow("SELECT COUNT(*) FROM journal").Scan(&n); err != nil {
		t.Fatalf("count journal rows: %v", err)
	}
	return n
}

// pollTimeout is generous: it only bounds a failing test on a loaded machine.
const pollTimeout = 20 * time.Second

// eventually polls cond until it holds; the test fails if it does not within pollTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(pollTimeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: still not the case after %v", what, pollTimeout)
		}
	}
}

// setSyncHook replaces the fan-out's fsync of user databases, one at a time (no syncfs).
func setSyncHook(s *Store, fn func(path string) error) {
	s.fanout.mu.Lock()
	s.fanout.syncDB = fn
	s.fanout.syncAll = nil
	s.fanout.mu.Unlock()
}

// setSyncAllHook replaces the fan-out's syncfs of every user database at once, and makes
// every round use it; the fsync of one database fails the round if it is called.
func setSyncAllHook(s *Store, fn func() error) {
	s.fanout.mu.Lock()
	s.fanout.syncDB = func(path string) error { return fmt.Errorf("%w: fsync of %s with a syncfs set", errFsync, path) }
	s.fanout.syncAll = fn
	s.fanout.syncfsFrom = 1
	s.fanout.mu.Unlock()
}

func post(t *testing.T, s *Store, body string, recipients ...string) *chat.Message {
	t.Helper()
	m := &chat.Message{Conversation: "c:general", Sender: recipients[0], Body: body, HTML: "<p>" + body + "</p>"}
	if err := s.PostMessage(context.Background(), m, recipients); err != nil {
		t.Fatalf("post: %v", err)
	}
	return m
}

// A delivered message's journal row goes by itself on an idle daemon: nothing else is
// posted after it.
func TestJournal_DeliveredRowRemovedWhenIdle(t *testing.T) {
	ctx := context.Background()
	s := openJournalStore(t, t.TempDir(), Options{})
	makeUserDBs(t, s, "alice", "bob")
	m := post(t, s, "hi", "alice", "bob")
	for _, u := range []string{"alice", "bob"} {
		if got, err := s.GetMessage(ctx, u, m.Conversation, m.ID); err != nil || got.Body != "hi" {
			t.Fatalf("%s's copy: %+v, %v", u, got, err)
		}
	}
	eventually(t, "journal empty after delivery", func() bool { return journalRows(t, s) == 0 })
}

// Operations finishing at different moments, a few milliseconds apart and with nothing
// posted in between (a completion arrives while the journal waits for company), are all
// removed.
func TestJournal_StaggeredCompletionsAllRemoved(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openJournalStore(t, dir, Options{})
	makeUserDBs(t, s, "alice", "bob", "carol", "dave")
	// carol's and dave's databases are locked by another connection: their copies wait.
	carol, dave := lockUserDB(t, dir, "carol"), lockUserDB(t, dir, "dave")
	m1 := post(t, s, "one", "alice", "carol")
	m2 := post(t, s, "two", "bob", "dave")
	carol.release()
	if _, err := s.GetMessage(ctx, "carol", m1.Conversation, m1.ID); err != nil {
		t.Fatal(err)
	}
	dave.release()
	if _, err := s.GetMessage(ctx, "dave", m2.Conversation, m2.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "journal empty", func() bool { return journalRows(t, s) == 0 })
}

// userLock holds the write lock of a user database from another connection.
type userLock struct {
	db   *sql.DB
	tx   *sql.Tx
	once sync.Once
}

func lockUserDB(t *testing.T, dir, user string) *userLock {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, "users", user+".db"), false, "NORMAL"))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin() // _txlock=immediate: takes the write lock now
	if err != nil {
		t.Fatal(err)
	}
	l := &userLock{db: db, tx: tx}
	t.Cleanup(l.release)
	return l
}

func (l *userLock) release() {
	l.once.Do(func() {
		l.tx.Rollback()
		l.db.Close()
	})
}

// A journal row outlives the fsync of the copies it covers: while the fsync of a recipient's
// database has not returned, the row stays, even though every copy is committed and readable.
func TestJournal_RowKeptUntilCopiesSynced(t *testing.T) {
	dir := t.TempDir()
	s := openJournalStore(t, dir, Options{})
	makeUserDBs(t, s, "alice", "bob")
	started := make(chan struct{}, 1)
	gate := make(chan struct{})
	var mu sync.Mutex
	synced := map[string]bool{}
	setSyncHook(s, func(path string) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-gate
		mu.Lock()
		synced[filepath.Base(path)] = true
		mu.Unlock()
		return syncWAL(path)
	})
	rowKeptWhileSyncing(t, s, "the fsyncs", started, gate, "alice", "bob")
	mu.Lock()
	defer mu.Unlock()
	if !synced["alice.db"] || !synced["bob.db"] {
		t.Errorf("synced %v before the row went, want alice.db and bob.db", synced)
	}
}

// rowKeptWhileSyncing posts a message to users and reads it back from each; with the round's
// sync (what) held at gate once it has started, the message's journal row must stay, and go
// once gate is closed.
func rowKeptWhileSyncing(t *testing.T, s *Store, what string, started, gate chan struct{}, users ...string) {
	t.Helper()
	m := post(t, s, "hi", users...)
	for _, u := range users {
		if _, err := s.GetMessage(context.Background(), u, m.Conversation, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-started:
	case <-time.After(pollTimeout):
		t.Fatalf("%s did not start", what)
	}
	if n := journalRows(t, s); n != 1 {
		t.Fatalf("journal rows while %s run = %d, want 1", what, n)
	}
	close(gate)
	eventually(t, "journal empty after "+what, func() bool { return journalRows(t, s) == 0 })
}

// Where the kernel can, one syncfs makes a whole round durable: the row stays until it has
// run, and no database is fsynced on its own.
func TestJournal_RowKeptUntilSyncfs(t *testing.T) {
	s := openJournalStore(t, t.TempDir(), Options{})
	if probe, err := fsutil.OpenFSSyncer(t.TempDir()); err == nil {
		probe.Close()
		if s.fsSync == nil {
			t.Errorf("the store does not use syncfs where the system has it")
		}
	}
	makeUserDBs(t, s, "alice", "bob", "carol")
	started := make(chan struct{}, 1)
	gate := make(chan struct{})
	var calls atomic.Int64
	setSyncAllHook(s, func() error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-gate
		calls.Add(1)
		if s.fsSync == nil {
			return nil
		}
		return s.fsSync.Sync()
	})
	rowKeptWhileSyncing(t, s, "the syncfs", started, gate, "alice", "bob", "carol")
	if n := calls.Load(); n < 1 || n > 3 {
		t.Errorf("%d syncfs calls for one message to three databases, want 1 (or a round or two more)", n)
	}
}

// A round with fewer dirty databases than syncfsFrom fsyncs them one by one: a syncfs would
// also write out whatever else is waiting on the file system.
func TestJournal_SmallRoundFsyncsItsOwnFiles(t *testing.T) {
	s := openJournalStore(t, t.TempDir(), Options{})
	makeUserDBs(t, s, "alice", "bob")
	var files, whole atomic.Int64
	s.fanout.mu.Lock()
	s.fanout.syncDB = func(path string) error { files.Add(1); return syncWAL(path) }
	s.fanout.syncAll = func() error { whole.Add(1); return nil }
	s.fanout.syncfsFrom = 3
	s.fanout.mu.Unlock()
	post(t, s, "hi", "alice", "bob")
	eventually(t, "journal empty", func() bool { return journalRows(t, s) == 0 })
	if files.Load() != 2 || whole.Load() != 0 {
		t.Errorf("two databases synced with %d fsyncs and %d syncfs, want 2 and 0", files.Load(), whole.Load())
	}
}

// A database file that cannot be opened for its fsync keeps the row (the copies may not be
// durable), and the fsync is tried again.
func TestJournal_UnopenableFileKeepsRowAndRetries(t *testing.T) {
	ctx := context.Background()
	s := openJournalStore(t, t.TempDir(), Options{})
	makeUserDBs(t, s, "alice")
	var failing atomic.Bool
	var failures atomic.Int64
	failing.Store(true)
	setSyncHook(s, func(path string) error {
		if failing.Load() {
			failures.Add(1)
			return errors.New("injected EMFILE")
		}
		return syncWAL(path)
	})
	m := post(t, s, "hi", "alice")
	if _, err := s.GetMessage(ctx, "alice", m.Conversation, m.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "fsync tried twice", func() bool { return failures.Load() >= 2 })
	if n := journalRows(t, s); n != 1 {
		t.Fatalf("journal rows while the file cannot be opened = %d, want 1", n)
	}
	failing.Store(false)
	eventually(t, "journal empty once it can", func() bool { return journalRows(t, s) == 0 })
}

// A failed fsync may have lost the pages it was writing, and a later one would succeed
// without them: the row it covered stays until the next start, whose replay writes the copy
// again. Later operations are not held up.
//
// Both ways a round makes copies durable are checked: an fsync of each database, and one
// syncfs of the file system (whose error the round marks as a failed fsync itself).
func TestJournal_FailedFsyncKeepsRowUntilReplay(t *testing.T) {
	t.Run("fsync", func(t *testing.T) {
		testFailedSyncKeepsRow(t, func(s *Store, fail func() bool) {
			setSyncHook(s, func(path string) error {
				if fail() {
					return fmt.Errorf("%w: injected EIO", errFsync)
				}
				return syncWAL(path)
			})
		})
	})
	t.Run("syncfs", func(t *testing.T) {
		testFailedSyncKeepsRow(t, func(s *Store, fail func() bool) {
			setSyncAllHook(s, func() error {
				if fail() {
					return errors.New("injected EIO")
				}
				return nil
			})
		})
	})
}

// testFailedSyncKeepsRow is TestJournal_FailedFsyncKeepsRowUntilReplay with the round's sync
// replaced by hook, which fails while fail returns true.
func testFailedSyncKeepsRow(t *testing.T, hook func(s *Store, fail func() bool)) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	makeUserDBs(t, s, "alice")
	var failing atomic.Bool
	var failures atomic.Int64
	failing.Store(true)
	hook(s, func() bool {
		if failing.Load() {
			failures.Add(1)
			return true
		}
		return false
	})
	lost := post(t, s, "maybe lost", "alice")
	if _, err := s.GetMessage(ctx, "alice", lost.Conversation, lost.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "fsync failed", func() bool { return failures.Load() >= 1 })
	failing.Store(false)
	later := post(t, s, "later", "alice")
	if _, err := s.GetMessage(ctx, "alice", later.Conversation, later.ID); err != nil {
		t.Fatal(err)
	}
	journaled := func() (ids []string) {
		ids, err := queryStrings(ctx, s.presence.R, "SELECT json_extract(payload, '$.id') FROM journal")
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	eventually(t, "later's row removed", func() bool { return len(journaled()) == 1 })
	if ids := journaled(); ids[0] != lost.ID {
		t.Fatalf("journal holds %v, want the operation whose fsync failed (%s)", ids, lost.ID)
	}
	s.Close()
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.GetMessage(ctx, "alice", lost.Conversation, lost.ID); err != nil || m.Body != "maybe lost" {
		t.Fatalf("after replay: %+v, %v", m, err)
	}
	eventually(t, "journal empty after replay", func() bool { return journalRows(t, s) == 0 })
}

// Messages removed by retention cleanup do not come back from the journal: here their rows
// are still there (a backup holds removals) when the daemon stops, and the restart replays
// the journal.
func TestJournal_CleanedMessagesNotReplayed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var past atomic.Bool
	clock := func() time.Time {
		if past.Load() {
			return time.Now().Add(-800 * 24 * time.Hour)
		}
		return time.Now()
	}
	s, err := Open(ctx, dir, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	makeUserDBs(t, s, "alice", "bob")
	release := s.fanout.holdRemovals()
	past.Store(true)
	old := post(t, s, "old", "alice", "bob")
	past.Store(false)
	recent := post(t, s, "recent", "alice", "bob")
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeleteMessagesOlderThan(ctx, time.Now().Add(-30*24*time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	if got["alice"] != 1 || got["bob"] != 1 {
		t.Fatalf("cleanup removed %v, want one message each for alice and bob", got)
	}
	var puts int
	if err := s.presence.R.QueryRow("SELECT COUNT(*) FROM journal WHERE json_extract(payload, '$.id') = ?", old.ID).Scan(&puts); err != nil {
		t.Fatal(err)
	}
	if puts != 0 {
		t.Errorf("%d journal rows left for the cleaned message, want 0", puts)
	}
	// Stop with the rows still held (as a crash would leave them), then replay.
	s.Close()
	release()
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := s.GetMessage(ctx, u, old.Conversation, old.ID); chat.ErrorCode(err) != chat.ENotFound {
			t.Errorf("%s: cleaned message after replay: err = %v, want not found", u, err)
		}
		if m, err := s.GetMessage(ctx, u, recent.Conversation, recent.ID); err != nil || m.Body != "recent" {
			t.Errorf("%s: recent message after replay: %+v, %v", u, m, err)
		}
	}
}

// An edit replayed after the message was deleted (their rows can leave the journal in either
// order) does not bring the text back.
func TestJournal_EditReplayedAfterDeleteKeepsItDeleted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	makeUserDBs(t, s, "alice", "bob")
	m := post(t, s, "secret", "alice", "bob")
	edited := *m
	edited.Body, edited.HTML = "secret, edited", "<p>secret, edited</p>"
	if err := s.EditMessage(ctx, edited, []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMessage(ctx, m.Conversation, m.ID, []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The edit's row is still in the journal; the delete's is gone.
	edited.EditedTS = time.Now().Unix()
	payload, _ := json.Marshal(edited)
	db, err := sql.Open("sqlite", filepath.Join(dir, "presence.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO journal(op, payload, recipients, created_ts) VALUES ('edit', ?, '["alice","bob"]', 1)`, string(payload)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = openJournalStore(t, dir, Options{})
	for _, u := range []string{"alice", "bob"} {
		got, err := s.GetMessage(ctx, u, m.Conversation, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Deleted || got.Body != "" || got.HTML != "" {
			t.Errorf("%s after replay: deleted=%v body=%q html=%q, want deleted and empty", u, got.Deleted, got.Body, got.HTML)
		}
	}
}

// A read whose user's earlier writes cannot be applied in time fails (EUnavailable) rather
// than answer without them; a read that merges the user's queue (history, search) answers
// with them, without waiting; a read whose caller gave up returns the caller's error.
func TestJournal_ReadYourWritesTimeoutIsAnError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Nobody's queue is written until a read asks for it.
	s := openJournalStore(t, dir, Options{FanoutLinger: time.Hour})
	makeUserDBs(t, s, "alice", "bob")
	saved := readYourWritesWait
	readYourWritesWait = 20 * time.Millisecond
	t.Cleanup(func() { readYourWritesWait = saved })

	lock := lockUserDB(t, dir, "bob")
	m := post(t, s, "hi", "alice", "bob")
	page, _, err := s.History(ctx, "bob", m.Conversation, "", 50)
	if err != nil || len(page) != 1 || page[0].ID != m.ID || page[0].Body != "hi" {
		t.Fatalf("history while bob's copy is queued: %+v, %v; want the message from the queue", page, err)
	}
	if got := s.FanoutStats().Queued; got != 2 {
		t.Errorf("queued = %d after bob's merged read, want 2 (nothing written)", got)
	}
	// With a thread reply queued, the Threads view waits for bob's queue, which cannot be
	// written while his file is locked.
	if err := s.PostMessage(ctx, &chat.Message{Conversation: m.Conversation, Sender: "alice", Body: "re", HTML: "re", ThreadRoot: m.ID}, []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.UserThreads(ctx, "bob", 10)
	var ce *chat.Error
	if !errors.As(err, &ce) || ce.Code != chat.EUnavailable {
		t.Fatalf("threads while bob's copy is stuck: %v, want %s", err, chat.EUnavailable)
	}
	if !strings.HasPrefix(err.Error(), "store: threads: ") {
		t.Errorf("error %q does not name the operation", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Search(cctx, "bob", "hi", 10); !errors.Is(err, context.Canceled) {
		t.Errorf("search with a canceled context: %v, want context.Canceled", err)
	}
	// Alice's copy is not behind: her reads are not held up by bob's.
	if page, _, err := s.History(ctx, "alice", m.Conversation, "", 50); err != nil || len(page) != 1 {
		t.Errorf("alice's history: %d messages, %v", len(page), err)
	}
	lock.release()
	readYourWritesWait = saved
	if page, _, err := s.History(ctx, "bob", m.Conversation, "", 50); err != nil || len(page) != 1 {
		t.Errorf("bob's history once unlocked: %d messages, %v", len(page), err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if page, _, err := s.History(ctx, "bob", m.Conversation, "", 50); err != nil || len(page) != 1 || page[0].ID != m.ID {
		t.Errorf("bob's history once written: %+v, %v", page, err)
	}
}

// Errors name the store operation and keep the domain error reachable.
func TestJournal_ErrorsWrapDomainErrors(t *testing.T) {
	ctx := context.Background()
	s := openJournalStore(t, t.TempDir(), Options{})
	makeUserDBs(t, s, "alice")
	for _, c := range []struct {
		op, code string
		err      error
	}{
		{"get message", chat.ENotFound, func() error {
			_, err := s.GetMessage(ctx, "alice", "c:general", "01KAAAAAAAAAAAAAAAAAAAAAAA")
			return err
		}()},
		{"search", chat.EInvalid, func() error { _, err := s.Search(ctx, "alice", "  ", 10); return err }()},
		{"history", chat.ENotFound, func() error { _, _, err := s.History(ctx, "nobody", "c:general", "", 10); return err }()},
	} {
		var ce *chat.Error
		if !errors.As(c.err, &ce) || ce.Code != c.code {
			t.Errorf("%s: %v, want a *chat.Error %s", c.op, c.err, c.code)
			continue
		}
		if want := fmt.Sprintf("store: %s: %s", c.op, ce.Message); c.err.Error() != want {
			t.Errorf("%s: error %q, want %q", c.op, c.err, want)
		}
	}
}
