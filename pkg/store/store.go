package store

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/fsutil"
)

// Store is the SQLite state of one data directory.
type Store struct {
	dir      string
	auth     *pair
	presence *pair
	users    *userDBs
	fanout   *fanout
	staging  *fanoutStaging   // attached to every user database connection
	fsSync   *fsutil.FSSyncer // users/'s file system, for the fan-out's sync rounds (nil: none)
	ids      IDGen

	// Now is the clock. Logger receives what the store has to report.
	Now    func() time.Time
	Logger *slog.Logger

	membersMu sync.Mutex
	accounts  *chat.Directory
	// accountsAt is when accounts was read; accountsLoading is set while a caller reads them
	// again (the others get the snapshot meanwhile); accountsGen counts the daemon's own
	// changes, after which a read begun before is not kept.
	accountsAt      time.Time
	accountsLoading bool
	accountsGen     uint64
	lifecycleMu     sync.Mutex // serialises account creation and deletion

	deletionHook func(step string)

	priv privCache
	// typing holds the users who may have rows in presence.db's typing table (ClearTyping).
	typingMu sync.Mutex
	typing   map[string]bool

	closeOnce sync.Once
	closeErr  error
}

// Options are the store's optional settings.
type Options struct {
	// MaxOpenUserDBs bounds the cache of open users/<name>.db handles (default
	// DefaultMaxOpenUserDBs).
	MaxOpenUserDBs int
	// FanoutWorkers is the number of goroutines writing user databases (default 4).
	FanoutWorkers int
	// FanoutLinger is how long a copy may wait in its recipient's queue for others to share
	// the transaction (default DefaultFanoutLinger; negative: none). Reads of that user's
	// database never wait for it: they merge the queued copies (readMerged).
	FanoutLinger time.Duration
	// FanoutMaxQueued bounds the copies waiting for the fan-out: past it, posts, edits and
	// deletions are refused with chat.ETooMany and a retry delay (default
	// DefaultFanoutMaxQueued; negative: no bound).
	FanoutMaxQueued int
	Logger          *slog.Logger
	Now             func() time.Time
	// DeletionHook, if set, runs between the steps of an account deletion ("files", then
	// "user:<name>" after each database); tests use it to crash a deletion half way.
	DeletionHook func(step string)
}

// DefaultMaxOpenUserDBs is the handle cache's bound unless Options say otherwise. More
// handles open costs memory (up to about 0.7 MiB each, see UserDBCacheKiB) and three file
// descriptors each; fewer means more opens (about 2 ms of CPU each) when more accounts are
// active than the cache holds.
const DefaultMaxOpenUserDBs = 2048

// Open opens (creating if needed) the databases and folders of dir, replays the journal and
// finishes interrupted account deletions.
func Open(ctx context.Context, dir string, opt Options) (*Store, error) {
	if opt.MaxOpenUserDBs <= 0 {
		opt.MaxOpenUserDBs = DefaultMaxOpenUserDBs
	}
	if opt.FanoutWorkers <= 0 {
		opt.FanoutWorkers = 4
	}
	if opt.FanoutLinger == 0 {
		opt.FanoutLinger = DefaultFanoutLinger
	}
	opt.FanoutLinger = max(opt.FanoutLinger, 0)
	if opt.FanoutMaxQueued == 0 {
		opt.FanoutMaxQueued = DefaultFanoutMaxQueued
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	for _, d := range []string{"users", "uploads", "avatars"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	s := &Store{dir: dir, Now: opt.Now, Logger: opt.Logger, deletionHook: opt.DeletionHook, typing: map[string]bool{}}
	var err error
	if s.auth, err = openPair(ctx, filepath.Join(dir, "auth.db"), "auth", "FULL"); err != nil {
		return nil, err
	}
	// presence.db holds the journal: FULL so an acknowledged message survives power loss too.
	if s.presence, err = openPair(ctx, filepath.Join(dir, "presence.db"), "presence", "FULL"); err != nil {
		s.auth.Close()
		return nil, err
	}
	if s.staging, err = openStaging(ctx); err != nil {
		s.presence.Close()
		s.auth.Close()
		return nil, err
	}
	s.users = newUserDBs(filepath.Join(dir, "users"), opt.MaxOpenUserDBs, s.staging.uri)
	s.fanout = newFanout(s, opt.FanoutWorkers, opt.FanoutLinger, opt.FanoutMaxQueued)
	// One syncfs makes a sync round's user databases durable, however many there are:
	// the kernel writes them out together and commits its own journal once, instead of
	// an open, fsync and close for each file (ErrNoSyncFS: the round does that instead).
	if fss, err := fsutil.OpenFSSyncer(filepath.Join(dir, "users")); err == nil {
		s.fsSync = fss
		s.fanout.mu.Lock()
		s.fanout.syncAll = fss.Sync
		s.fanout.mu.Unlock()
	} else if !errors.Is(err, fsutil.ErrNoSyncFS) {
		s.Close()
		return nil, fmt.Errorf("open users/: %w", err)
	}
	if err := s.fanout.replay(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("replay journal: %w", err)
	}
	if err := s.resumeDeletions(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("finish interrupted deletions: %w", err)
	}
	// Presence and typing describe live connections: none survive a restart.
	s.presence.W.ExecContext(ctx, "DELETE FROM typing")
	s.presence.W.ExecContext(ctx, "DELETE FROM call_participants")
	s.presence.W.ExecContext(ctx, "UPDATE presence SET status='offline'")
	return s, nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Close stops the fan-out after it has applied everything acknowledged, checkpoints and
// closes every database.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	return s.CloseContext(ctx)
}

// CloseContext is Close within ctx: the fan-out's queued copies are written and the user
// databases checkpointed until ctx ends; what is left then is safe in the journal and written
// at the next start, and every database is closed all the same.
func (s *Store) CloseContext(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Store) close(ctx context.Context) error {
	if s.fanout != nil {
		s.fanout.close(ctx)
	}
	if s.users != nil {
		s.users.closeAll(ctx)
	}
	var errs []error
	if s.presence != nil {
		errs = append(errs, s.presence.Close())
	}
	if s.auth != nil {
		errs = append(errs, s.auth.Close())
	}
	if s.fsSync != nil {
		errs = append(errs, s.fsSync.Close())
	}
	if s.staging != nil {
		// Last: the in-memory database goes with its last connection.
		errs = append(errs, s.staging.close())
	}
	return errors.Join(errs...)
}

// Flush waits until every journaled operation so far is applied to every user database.
func (s *Store) Flush(ctx context.Context) error { return opErr("flush", s.fanout.flush(ctx)) }

// FanoutStats returns the fan-out's counters.
func (s *Store) FanoutStats() FanoutStats {
	s.fanout.mu.Lock()
	defer s.fanout.mu.Unlock()
	return s.fanout.stats
}

// userDBPath returns users/<name>.db for a valid username.
func (s *Store) userDBPath(name string) string { return filepath.Join(s.dir, "users", name+".db") }

// userDB is one open users/<name>.db.
type userDB struct {
	name  string
	db    *sql.DB
	fi    os.FileInfo
	refs  int
	elem  *list.Element
	convs map[string]bool // conversations known to be in its conversations table
	mu    sync.Mutex      // guards convs and put
	// applyMu is held for writing while the fan-out writes a batch and records it, and for
	// reading while a read takes the queued operations it merges and reads the database
	// (readMerged): such a read sees each batch either committed or queued, never both.
	applyMu sync.RWMutex
	// put are the fan-out's INSERTs (putPlain, putFull, putStaged), prepared once per open handle
	// and reused by every transaction (tx.Stmt reuses them on the handle's single
	// connection) instead of being prepared again for each batch.
	put [len(putSQL)]*sql.Stmt
	// upto mirrors the upto column of the database's unread_counts (once uptoLoaded), so
	// that the fan-out tells without a query per copy when it writes a message among those
	// an entry counted. dataVersion is the file's PRAGMA data_version when the sidebar last
	// counted (once dvKnown): it moves when another process writes to the file. Guarded by
	// unreadMu, which is taken inside transactions (the sidebar's count, the fan-out's
	// write) and so must never be held while waiting for the handle's one connection.
	unreadMu    sync.Mutex
	upto        map[string]string
	uptoLoaded  bool
	dataVersion int64
	dvKnown     bool
}

// putStmt returns the handle's prepared fan-out INSERT of the kind (putPlain or putFull),
// preparing it on first use.
func (u *userDB) putStmt(ctx context.Context, kind int) (*sql.Stmt, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.put[kind] == nil {
		st, err := u.db.PrepareContext(ctx, putSQL[kind])
		if err != nil {
			return nil, err
		}
		u.put[kind] = st
	}
	return u.put[kind], nil
}

// close closes the prepared statement and the database; the handle must be idle.
func (u *userDB) close() {
	u.mu.Lock()
	for i, st := range u.put {
		if st != nil {
			st.Close()
			u.put[i] = nil
		}
	}
	u.mu.Unlock()
	u.db.Close()
}

// userDBs is a bounded cache of open user databases. A handle in use is never closed; the
// least recently used idle handles are closed when the cache is over its bound.
type userDBs struct {
	dir     string
	max     int
	staging string // the staging database every connection attaches ("": none)

	mu  sync.Mutex
	m   map[string]*userDB
	lru *list.List // front = most recent
	// closing counts, by name, the handles evicted and not yet closed: the closer closes them
	// outside mu, one at a time (closeEvicted), and a handle of that name is not opened again,
	// nor its files removed, until they are (closed is signalled, with mu).
	closing map[string]int
	closed  *sync.Cond
	// toClose are the evicted handles waiting for the closer goroutine (closeLoop), which runs
	// while there are any (closer).
	toClose []*userDB
	closer  bool
	// opens counts the databases opened (minimost_user_database_opens_total): against the
	// writes and reads, how well the cache does; fanoutOpens those the fan-out opened.
	opens, fanoutOpens atomic.Int64
	// scanOpens counts the handles the fan-out opened, for scanPromoteEvery.
	scanOpens int
}

// scanPromoteEvery: one in this many handles that the fan-out opens goes to the front of the
// LRU list, the others to its back (see acquireScan).
const scanPromoteEvery = 32

var errNoUserDB = errors.New("user database does not exist")

// newUserDBs makes the cache of dir's databases; stagingURI ("" for none) is attached to
// every connection (see staging.go).
func newUserDBs(dir string, max int, stagingURI string) *userDBs {
	c := &userDBs{dir: dir, max: max, staging: stagingURI, m: map[string]*userDB{}, lru: list.New(), closing: map[string]int{}}
	c.closed = sync.NewCond(&c.mu)
	return c
}

// waitClosedLocked waits, with mu held, until no evicted handle of name is still closing.
func (c *userDBs) waitClosedLocked(name string) {
	for c.closing[name] > 0 {
		c.closed.Wait()
	}
}

// OpenUserDBs is how many users/<name>.db handles the cache holds open now.
func (s *Store) OpenUserDBs() int {
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	return s.users.lru.Len()
}

// UserDBOpens is how many times a users/<name>.db was opened since the store was.
func (s *Store) UserDBOpens() int64 { return s.users.opens.Load() }

// UserDBFanoutOpens is how many of UserDBOpens the fan-out made to write copies; the rest
// were for reads and account creation.
func (s *Store) UserDBFanoutOpens() int64 { return s.users.fanoutOpens.Load() }

// WarmUserDBs opens, one at a time, the databases of the accounts whose sessions were used
// most recently, as many as the handle cache holds, and keeps them in the cache. After a
// start, the first message into a big channel otherwise opens every member's database at
// once: 1,000 cold opens took the fan-out 13 s, and posts were refused meanwhile. The most
// recent are opened last, so that they are the last the cache evicts. It returns how many it
// opened; it stops early when ctx ends.
func (s *Store) WarmUserDBs(ctx context.Context) (int, error) {
	rows, err := s.auth.R.QueryContext(ctx, `SELECT username FROM sessions WHERE expires_ts > ?
		GROUP BY username ORDER BY MAX(last_seen_ts) DESC, username`, s.Now().Unix())
	if err != nil {
		return 0, opErr("warm user databases", err)
	}
	var names []string
	for len(names) < s.users.max && rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, opErr("warm user databases", err)
		}
		if chat.ValidateUsername(n) != nil {
			continue // a row written by hand: never a path outside users/
		}
		if _, err := os.Stat(filepath.Join(s.users.dir, n+".db")); err != nil {
			continue // the account is gone
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, opErr("warm user databases", err)
	}
	opened := 0
	for i := len(names) - 1; i >= 0 && ctx.Err() == nil; i-- {
		u, o, err := s.users.acquireOpened(ctx, names[i], false)
		if errors.Is(err, errNoUserDB) {
			continue // deleted meanwhile
		}
		if err != nil {
			return opened, opErr("warm user databases", err)
		}
		s.users.release(u)
		if o {
			opened++
		}
	}
	return opened, nil
}

// acquire returns the open database of name, opening it if needed. With create false a
// missing file is errNoUserDB (the account is gone); a file replaced behind the daemon's back
// (deleted by hand, re-created) is reopened. The caller must release it.
func (c *userDBs) acquire(ctx context.Context, name string, create bool) (*userDB, error) {
	u, _, err := c.acquireOpened(ctx, name, create)
	return u, err
}

// acquireOpened is acquire, and reports whether this call opened the database.
func (c *userDBs) acquireOpened(ctx context.Context, name string, create bool) (*userDB, bool, error) {
	return c.acquireFor(ctx, name, create, false)
}

// acquireScan is acquireOpened for the fan-out, whose passes through a big channel's members
// touch each of them once, in turn. When they are more than the cache holds, a plain LRU
// misses on every one of them: each database opened pushes out the least recently used,
// which the pass needs again before the newly opened one. So a handle the fan-out opens goes
// to the back of the LRU list, first in line for eviction, and the databases already open
// stay open for the next pass; only the members beyond the cache's size are opened again.
// A handle used again goes to the front as usual, and one in scanPromoteEvery of the opened
// goes to the front at once, so that the open set follows the members who are active and
// those who left it age out. (Browsing 2,500 users, with posts to a channel of all 2,500,
// through 2,048 handles: the fan-out opened a median of 1,942 databases in 30 s, against
// 2,479 with a plain LRU and passes in alternating order. The workers' batches, not whole
// passes, set the order, so it opens more than the members beyond the cache's size.)
func (c *userDBs) acquireScan(ctx context.Context, name string) (*userDB, bool, error) {
	return c.acquireFor(ctx, name, false, true)
}

func (c *userDBs) acquireFor(ctx context.Context, name string, create, scan bool) (*userDB, bool, error) {
	path := filepath.Join(c.dir, name+".db")
	fi, statErr := os.Stat(path)
	c.mu.Lock()
	if u, ok := c.m[name]; ok {
		if statErr == nil && os.SameFile(fi, u.fi) {
			u.refs++
			c.lru.MoveToFront(u.elem)
			c.mu.Unlock()
			return u, false, nil
		}
		// The file was removed or replaced by hand: drop the stale handle once idle.
		c.removeLocked(u)
	}
	// An evicted handle of the file still closing finishes first (its close checkpoints it).
	c.waitClosedLocked(name)
	c.mu.Unlock()
	if statErr != nil && !create {
		return nil, false, errNoUserDB
	}
	db, err := openDBAttached(ctx, path, "user", create, 1, "NORMAL", c.staging)
	if err != nil {
		return nil, false, err
	}
	c.opens.Add(1)
	fi, err = os.Stat(path)
	if err != nil {
		db.Close()
		return nil, false, errNoUserDB
	}
	c.mu.Lock()
	if u, ok := c.m[name]; ok && os.SameFile(fi, u.fi) {
		// Another goroutine opened it meanwhile.
		u.refs++
		c.lru.MoveToFront(u.elem)
		c.mu.Unlock()
		db.Close()
		return u, true, nil
	}
	u := &userDB{name: name, db: db, fi: fi, refs: 1, convs: map[string]bool{}}
	if scan {
		c.scanOpens++
	}
	if scan && c.scanOpens%scanPromoteEvery != 0 {
		u.elem = c.lru.PushBack(u)
	} else {
		u.elem = c.lru.PushFront(u)
	}
	c.m[name] = u
	evicted := c.evictLocked()
	c.mu.Unlock()
	c.closeEvicted(evicted)
	return u, true, nil
}

func (c *userDBs) release(u *userDB) {
	c.mu.Lock()
	u.refs--
	if u.refs == 0 && u.elem == nil {
		// Removed from the cache while in use.
		go u.close()
	}
	evicted := c.evictLocked()
	c.mu.Unlock()
	c.closeEvicted(evicted)
}

// unlinkLocked takes u out of the cache: out of the LRU list and the map.
func (c *userDBs) unlinkLocked(u *userDB) {
	if u.elem != nil {
		c.lru.Remove(u.elem)
		u.elem = nil
	}
	if c.m[u.name] == u {
		delete(c.m, u.name)
	}
}

func (c *userDBs) removeLocked(u *userDB) {
	c.unlinkLocked(u)
	if u.refs == 0 {
		u.close()
	}
}

// evictLocked takes the least recently used idle handles out of the cache until it is within
// its bound, and returns them for closeEvicted, which the caller runs once it has let go of
// mu.
func (c *userDBs) evictLocked() []*userDB {
	var out []*userDB
	for e := c.lru.Back(); e != nil && c.lru.Len() > c.max; {
		prev := e.Prev()
		u := e.Value.(*userDB)
		if u.refs == 0 {
			c.unlinkLocked(u)
			c.closing[u.name]++
			out = append(out, u)
		}
		e = prev
	}
	return out
}

// closeEvicted hands handles that evictLocked took out of the cache to the closer. Closing
// one checkpoints and syncs its file, which takes milliseconds: it is done by a goroutine of
// its own, outside the cache's lock, so that neither the requests and fan-out workers that
// find their handle in the cache nor the one that evicted wait for it (they did, and in the
// browsing mix at 2,500 users that wait was most of a request's time). The closes are made
// one at a time, not side by side: many at once (from the fan-out's workers and the requests
// together) slowed the journal's own syncs, the acknowledgement of every post (browsing at
// 2,500 users: ack p50 22-31 ms became 126-209 ms). At most maxToClose wait: past that, the
// caller waits for the closer, so that handles cannot pile up open.
func (c *userDBs) closeEvicted(us []*userDB) {
	if len(us) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.toClose = append(c.toClose, us...)
	if !c.closer {
		c.closer = true
		go c.closeLoop()
	}
	for len(c.toClose) > maxToClose {
		c.closed.Wait()
	}
}

// maxToClose bounds the evicted handles waiting to be closed.
const maxToClose = 64

// closeLoop closes the evicted handles, one at a time, until none is left.
func (c *userDBs) closeLoop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.toClose) > 0 {
		u := c.toClose[0]
		c.toClose[0] = nil
		c.toClose = c.toClose[1:]
		c.mu.Unlock()
		u.close()
		c.mu.Lock()
		if c.closing[u.name]--; c.closing[u.name] <= 0 {
			delete(c.closing, u.name)
		}
		c.closed.Broadcast()
	}
	c.toClose = nil
	c.closer = false
}

// forget closes and drops the handle of name (for account deletion and re-creation).
func (c *userDBs) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, ok := c.m[name]; ok {
		c.removeLocked(u)
	}
	// The caller may remove the files next: no evicted handle of them may still be closing.
	c.waitClosedLocked(name)
}

// closeAll checkpoints (until ctx ends) and closes every open user database. Each checkpoint
// syncs its file, so they run side by side: thousands of open databases still close within the
// shutdown's bound.
func (c *userDBs) closeAll(ctx context.Context) {
	c.mu.Lock()
	all := make([]*userDB, 0, len(c.m))
	for _, u := range c.m {
		all = append(all, u)
	}
	c.mu.Unlock()
	parallel(len(all), closeWorkers, func(i int) {
		if ctx.Err() == nil {
			all[i].db.ExecContext(ctx, "PRAGMA main.wal_checkpoint(TRUNCATE)")
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range all {
		c.removeLocked(u)
	}
	// Handles evicted before are closed by the closer: wait for them too.
	for len(c.closing) > 0 {
		c.closed.Wait()
	}
}

// closeWorkers is how many user databases are synced at once by work that touches many
// (closing them all, adding a conversation to every member of a big private channel).
const closeWorkers = 16

// parallel runs fn(0) … fn(n-1) on at most workers goroutines and waits for them.
func parallel(n, workers int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// withUserDB runs fn with the database of an existing user.
func (s *Store) withUserDB(ctx context.Context, name string, fn func(*sql.DB) error) error {
	u, err := s.acquireUser(ctx, name)
	if err != nil {
		return err
	}
	defer s.users.release(u)
	return fn(u.db)
}

// acquireUser returns the open handle of name's database (ENotFound when it has none); the
// caller releases it.
func (s *Store) acquireUser(ctx context.Context, name string) (*userDB, error) {
	u, err := s.users.acquire(ctx, name, false)
	if errors.Is(err, errNoUserDB) {
		return nil, chat.Errorf(chat.ENotFound, "no such user %q", name)
	}
	return u, err
}
