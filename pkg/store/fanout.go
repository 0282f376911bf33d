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
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/fsutil"
)

// Journal operations.
const (
	opPut    = "put"    // payload: chat.Message
	opEdit   = "edit"   // payload: chat.Message (id, conversation, body, html, mentions, edited_ts)
	opDelete = "delete" // payload: chat.Message (id, conversation)
)

// Timing of the journal's housekeeping. A finished operation's row is removed within about
// syncInterval + removalDelay (plus the fsyncs) of its last copy, even on an idle daemon.
const (
	// removalDelay is how long removals alone wait for appends to share their commit.
	removalDelay = 50 * time.Millisecond
	// syncInterval is the least time between two rounds of user-database fsyncs.
	syncInterval = 100 * time.Millisecond
	// retryDelay is the wait before a failed user-database write, a database that could not
	// be opened for its fsync, or a failed journal removal is tried again.
	retryDelay = 500 * time.Millisecond
	// DefaultFanoutLinger is how long a user's first queued operation waits for others to
	// share its transaction (Options.FanoutLinger). A member of a busy channel gets its
	// copies in one transaction (and one fsync) a second instead of four: at 50 messages/s
	// into 1,000 members this took the store's CPU per copy from about 38 to 26 µs
	// (BenchmarkFanoutLive). Nobody waits for it: live delivery comes from the hub, and a
	// read of the user's database merges what is still queued for the user (readMerged).
	DefaultFanoutLinger = time.Second
	// lingerMaxOps is the queue length at which a user's operations are applied at once.
	lingerMaxOps = 256
	// DefaultFanoutMaxQueued is how many copies may wait for the fan-out before new posts
	// are refused with retry advice (Options.FanoutMaxQueued): about two seconds of the
	// fan-out's throughput on a small machine, so a backlog never outlasts the shutdown's
	// grace period. A larger bound (200,000 was tried with the 1 s linger) accepts more
	// posts when the machine is saturated, but everyone's reads then wait behind the work
	// accepted: on a saturated two-core machine, reads took 1.7 s on average instead of
	// 0.7 s and more sockets were dropped, while a channel at 50 messages/s gained nothing.
	DefaultFanoutMaxQueued = 100_000
)

// entry is one journaled operation on its way to its recipients' databases.
type entry struct {
	seq        int64
	op         string
	msg        chat.Message
	recipients []string
	// stageKey, when not 0, is msg's key in the staging database (see staging.go), where
	// it is from soon after the entry is journaled until its last copy is committed. The
	// stager sets it, with fanout.mu, while the workers may be writing the entry's copies:
	// a batch reads it once (write), and writes the copy from msg while it is 0.
	stageKey atomic.Int64

	// Guarded by fanout.mu.
	idx       uint64 // enqueue order, for flush
	remaining int    // copies not yet committed
	finished  bool   // every copy committed
}

// readyEntry is a user waiting for a worker.
type readyEntry struct {
	user string
	q    *userQueue
}

// FanoutStats are counters of the fan-out since the store was opened.
type FanoutStats struct {
	// Queued is the number of copies waiting to be written to user databases.
	Queued int64
	// Copies is the number of copies written; Transactions the number of user-database
	// transactions that wrote them.
	Copies, Transactions int64
	// JournalCommits is the number of journal commits and JournalCommitNanos their total
	// duration.
	JournalCommits, JournalCommitNanos int64
	// Refused is the number of operations refused because Queued was at its bound.
	Refused int64
	// Staged is the number of messages written to the staging database (see staging.go).
	Staged int64
}

type appendReq struct {
	e *entry
	// exec, instead of e, is a small write to presence.db that rides the journal's next group
	// commit (see groupWrite).
	exec func(*sql.Tx) error
	done chan error
}

// userQueue is the fan-out state of one recipient. It exists while the user has operations
// queued or being applied; a reader waiting on it keeps its pointer after it is dropped.
type userQueue struct {
	ops     []*entry
	ready   bool // in fanout.ready
	active  bool // a worker is applying a batch
	backoff bool // the last batch failed: wait for the retry timer
	// due is when a ready queue is applied even if no reader waits for it: its first
	// operation lingers so that the ones after it share the transaction.
	due time.Time
	// urgent is set while a reader waits for the queue: it is applied without lingering.
	urgent bool
	// enq and applied count operations queued for and applied to the user's database, so a
	// read can wait for exactly the writes that came before it (read-your-writes).
	enq, applied uint64
	// inflight is the batch a worker has taken from ops and is writing (nil when none): a
	// read that merges the queue (pendingFor) sees it until it is committed.
	inflight []*entry
}

// fanout owns the journal and the per-user write queues.
//
// An operation goes through three stages after its journal row is committed (submit):
//
//  1. Workers apply it, in one transaction per user and batch, to every recipient's database
//     (synchronous=NORMAL: committed, not yet durable). The user is then marked dirty.
//  2. When every copy is committed, syncLoop fsyncs the dirty databases' WAL files: the
//     copies are now durable.
//  3. Only then is the seq handed to journalLoop, which deletes the row with its next commit
//     (at most removalDelay later).
//
// A crash at any stage leaves the row in the journal and the operation is replayed.
type fanout struct {
	s *Store

	appendCh chan appendReq
	stopJ    chan struct{}
	jDone    chan struct{}
	stopS    chan struct{}
	sDone    chan struct{}

	mu sync.Mutex
	// work is signalled when a user is added to ready (one worker is enough) and broadcast
	// when closing. Only workers wait on it.
	work *sync.Cond
	// ready lists the users whose queue waits for a worker, in the order they became ready
	// (so by due time); urgentQ lists those a reader waits for. An entry whose queue has
	// since been taken is stale and skipped.
	ready   []readyEntry
	urgentQ []readyEntry
	users   map[string]*userQueue
	// linger bounds how long an operation waits in a user's queue for others to share its
	// transaction (0: none). flushing > 0 (a flush is waiting) or closing cancels it.
	linger   time.Duration
	flushing int
	// timer wakes the workers when the oldest lingering queue is due; timerAt is when
	// (zero: not set).
	timer   *time.Timer
	timerAt time.Time
	stats   FanoutStats
	// maxQueued bounds stats.Queued: past it, submit refuses new operations (refusing is
	// set meanwhile, so that the log says it once).
	maxQueued int64
	refusing  bool
	// progress is closed, and replaced, whenever operations have been applied: readers
	// (waitUser) and flush wait on it, together with their context.
	progress chan struct{}
	// pending holds the enqueued operations in enqueue order; the finished ones at its
	// front are dropped, so pending[0] is the oldest unfinished one.
	pending []*entry
	nextIdx uint64
	closing bool
	workers sync.WaitGroup
	// dirty are the users whose database had a commit since its last fsync; committed are
	// the seqs of operations whose copies are all committed, waiting for that fsync.
	dirty     map[string]struct{}
	committed []int64
	// unstage are the keys of staged messages whose copies are all committed, for syncLoop
	// to delete from the staging database.
	unstage  []int64
	syncWake chan struct{}
	// syncDB makes the commits to the database at a path durable: syncWAL (tests replace
	// it, under mu).
	syncDB func(path string) error
	// syncAll, when set, makes every commit to every user database durable at once, with one
	// syncfs of the file system users/ is on (Store.Open sets it where the kernel can). A
	// round with at least syncfsFrom dirty databases uses it instead of syncDB for each and
	// an fsync of users/. Under mu; tests replace both.
	syncAll    func() error
	syncfsFrom int
	// syncFailing is set while rounds fail to open files (syncLoop only), so that the log
	// says it once.
	syncFailing bool

	// removable are seqs whose copies are durable, for journalLoop to delete. holds > 0
	// keeps them in held instead (a snapshot is being taken).
	remMu     sync.Mutex
	removable []int64
	holds     int
	held      []int64
	remWake   chan struct{}

	// stageQ are the messages the stager (stageLoop) is to stage, stageBusy whether it is
	// staging some; stageCond is signalled when either changes.
	stageMu   sync.Mutex
	stageQ    []stageItem
	stageBusy bool
	stageStop bool
	stageCond *sync.Cond
	stageWake chan struct{}
	stageDone chan struct{}
}

// stageItem is a message for the stager: its entry, and a copy of the message taken before
// the entry was queued (finishLocked clears the entry's once every copy is written).
type stageItem struct {
	e   *entry
	msg chat.Message
}

func newFanout(s *Store, workers int, linger time.Duration, maxQueued int) *fanout {
	f := &fanout{
		s:         s,
		appendCh:  make(chan appendReq, 1024),
		stopJ:     make(chan struct{}),
		jDone:     make(chan struct{}),
		stopS:     make(chan struct{}),
		sDone:     make(chan struct{}),
		users:     map[string]*userQueue{},
		progress:  make(chan struct{}),
		dirty:     map[string]struct{}{},
		syncWake:  make(chan struct{}, 1),
		syncDB:    syncWAL,
		remWake:   make(chan struct{}, 1),
		stageWake: make(chan struct{}, 1),
		stageDone: make(chan struct{}),
		linger:    linger,
		maxQueued: int64(maxQueued),
	}
	f.syncfsFrom = syncfsFrom
	f.work = sync.NewCond(&f.mu)
	f.stageCond = sync.NewCond(&f.stageMu)
	f.timer = time.AfterFunc(time.Hour, func() {
		f.mu.Lock()
		f.timerAt = time.Time{}
		f.work.Broadcast()
		f.mu.Unlock()
	})
	f.timer.Stop()
	go f.journalLoop()
	go f.syncLoop()
	go f.stageLoop()
	for range workers {
		f.workers.Add(1)
		go f.worker()
	}
	return f
}

// wake does a non-blocking send on a 1-buffered channel: the receiver runs at least once
// after it.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// submit journals e (durably) and queues it for its recipients. When it returns nil the
// operation is acknowledged: it will reach every recipient even across a crash.
func (f *fanout) submit(ctx context.Context, e *entry) error {
	if err := f.admit(len(e.recipients)); err != nil {
		return err
	}
	if err := f.journal(ctx, appendReq{e: e, done: make(chan error, 1)}); err != nil {
		return err
	}
	f.enqueue(e)
	return nil
}

// stageChunk is the most messages stage writes with one statement: a replay after a crash
// under load can hold many thousands (a variable for tests).
var stageChunk = 512

// stageItems are the messages of entries worth staging: new messages to many recipients.
func stageItems(entries []*entry) []stageItem {
	var items []stageItem
	for _, e := range entries {
		if e != nil && e.op == opPut && len(e.recipients) >= minStagedRecipients && stageable(&e.msg) {
			items = append(items, stageItem{e: e, msg: e.msg})
		}
	}
	return items
}

// stage writes items' messages into the staging database, up to stageChunk in one
// statement, and sets their entries' stageKey: each recipient's batch copies them from there
// (see staging.go). The stager stages each group commit's messages once they are
// acknowledged, a replay each chunk it reads before queueing it. A message whose copies were
// all written before it was staged (the workers do not wait for the stager) is dropped
// again by the next sync round. If staging fails, the copies are written from the entry's
// message as any other's.
func (f *fanout) stage(items []stageItem) {
	if beforeStage != nil {
		beforeStage()
	}
	for len(items) > 0 {
		n := min(len(items), stageChunk)
		msgs := make([]*chat.Message, n)
		for i := range msgs {
			msgs[i] = &items[i].msg
		}
		keys, err := f.s.staging.add(context.Background(), msgs)
		if err != nil {
			f.s.Logger.Warn("fan-out staging failed; the copies are written one by one", "messages", n, "err", err)
		} else {
			late := false
			f.mu.Lock()
			f.stats.Staged += int64(n)
			for i, it := range items[:n] {
				if it.e.finished {
					f.unstage = append(f.unstage, keys[i])
					late = true
				} else {
					it.e.stageKey.Store(keys[i])
				}
			}
			f.mu.Unlock()
			if late {
				wake(f.syncWake)
			}
		}
		items = items[n:]
	}
}

// queueStage hands items to the stager.
func (f *fanout) queueStage(items []stageItem) {
	if len(items) == 0 {
		return
	}
	f.stageMu.Lock()
	f.stageQ = append(f.stageQ, items...)
	f.stageMu.Unlock()
	wake(f.stageWake)
}

// stageLoop is the stager: it stages what the journal's commits hand it, all that waits in
// one statement. It runs apart from the journal's goroutine, after the acknowledgements,
// because a statement on the staging database waits for the one running there, often a
// worker's copy of a batch: staged before the acknowledgement, a post waited for it (1,000
// members at 50 messages/s: staging took 2.7 ms at the median, 60 ms at p90, 145 ms at p99).
func (f *fanout) stageLoop() {
	defer close(f.stageDone)
	for range f.stageWake {
		for {
			f.stageMu.Lock()
			items := f.stageQ
			f.stageQ = nil
			if f.stageStop {
				items = nil
			}
			f.stageBusy = len(items) > 0
			f.stageCond.Broadcast()
			stop := f.stageStop
			f.stageMu.Unlock()
			if len(items) == 0 {
				if stop {
					return
				}
				break
			}
			f.stage(items)
		}
	}
}

// waitStaged waits until the stager has staged everything handed to it so far.
func (f *fanout) waitStaged() {
	f.stageMu.Lock()
	defer f.stageMu.Unlock()
	for (len(f.stageQ) > 0 || f.stageBusy) && !f.stageStop {
		f.stageCond.Wait()
	}
}

// stopStager stops the stager; what it has not staged yet is copied from the entries.
func (f *fanout) stopStager() {
	f.stageMu.Lock()
	f.stageStop = true
	f.stageCond.Broadcast()
	f.stageMu.Unlock()
	wake(f.stageWake)
	<-f.stageDone
}

// journal hands req to the journal loop and waits for its commit.
func (f *fanout) journal(ctx context.Context, req appendReq) error {
	select {
	case f.appendCh <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-f.stopJ:
		return chat.Errorf(chat.EUnavailable, "server is shutting down")
	}
	select {
	case err := <-req.done:
		return err
	case <-f.jDone:
		// The journal stopped after this request slipped into its queue: it may or may not
		// have been committed, so it is not acknowledged (a replay applies it if it was).
		select {
		case err := <-req.done:
			return err
		default:
			return chat.Errorf(chat.EUnavailable, "server is shutting down")
		}
	}
}

// admit refuses an operation of n copies while the fan-out's backlog is at its bound: the
// sender is asked to retry in a second (HTTP 429, or a WebSocket error with retry_after),
// rather than the backlog growing until readers or the shutdown pay for it. An operation
// alone bigger than the bound passes when nothing is queued.
func (f *fanout) admit(n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.stats.Queued
	if f.maxQueued <= 0 || q == 0 || q+int64(n) <= f.maxQueued {
		if f.refusing && q < f.maxQueued/2 {
			f.refusing = false
			f.s.Logger.Info("fan-out caught up: accepting messages again", "queued", q, "refused", f.stats.Refused)
		}
		return nil
	}
	f.stats.Refused++
	if !f.refusing {
		f.refusing = true
		f.s.Logger.Warn("fan-out saturated: refusing messages until it catches up", "queued", q, "max", f.maxQueued)
	}
	return &chat.Error{Code: chat.ETooMany, RetryAfter: 1,
		Message: "the server is busy delivering earlier messages; retry in a second"}
}

// journalLoop commits appends in groups: everything waiting when a commit starts goes into
// the same transaction, together with the removal of the rows whose copies are durable.
// Removals alone wait at most removalDelay for appends to share their commit.
func (f *fanout) journalLoop() {
	defer close(f.jDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	timing := false
	for {
		var batch []appendReq
		select {
		case r := <-f.appendCh:
			batch = append(batch, r)
		case <-f.remWake:
			if !timing {
				timer.Reset(removalDelay)
				timing = true
			}
			continue
		case <-timer.C:
			timing = false
		case <-f.stopJ:
			// Commit what is already submitted, with the last removals.
			for {
				select {
				case r := <-f.appendCh:
					batch = append(batch, r)
					continue
				default:
				}
				break
			}
			f.commit(batch, f.takeRemovals())
			return
		}
	drain:
		for len(batch) < 1024 {
			select {
			case r := <-f.appendCh:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		done := f.takeRemovals()
		if timing && len(done) > 0 {
			// They go now; a later wake starts a new wait.
			timer.Stop()
			timing = false
		}
		f.commit(batch, done)
	}
}

// takeRemovals returns the seqs ready to be deleted from the journal.
func (f *fanout) takeRemovals() []int64 {
	f.remMu.Lock()
	defer f.remMu.Unlock()
	done := f.removable
	f.removable = nil
	return done
}

// release hands seqs whose copies are durable to journalLoop, or keeps them while a
// snapshot holds removals.
func (f *fanout) release(seqs []int64) {
	if len(seqs) == 0 {
		return
	}
	f.remMu.Lock()
	if f.holds > 0 {
		f.held = append(f.held, seqs...)
		f.remMu.Unlock()
		return
	}
	f.removable = append(f.removable, seqs...)
	f.remMu.Unlock()
	wake(f.remWake)
}

func (f *fanout) commit(batch []appendReq, done []int64) {
	if len(batch) == 0 && len(done) == 0 {
		return
	}
	now := f.s.Now().Unix()
	start := time.Now()
	defer func() {
		f.mu.Lock()
		f.stats.JournalCommits++
		f.stats.JournalCommitNanos += int64(time.Since(start))
		f.mu.Unlock()
	}()
	// errs holds each small write's own error: it was rolled back to its savepoint, and
	// only its caller is told.
	errs := make([]error, len(batch))
	err := withTx(context.Background(), f.s.presence.W, func(tx *sql.Tx) error {
		var ins *sql.Stmt
		for i, r := range batch {
			if r.exec != nil {
				if _, err := tx.Exec("SAVEPOINT small_write"); err != nil {
					return err
				}
				if errs[i] = r.exec(tx); errs[i] != nil {
					if _, err := tx.Exec("ROLLBACK TO small_write"); err != nil {
						// SQLite rolled the whole transaction back (disk full, I/O error):
						// the commit fails, and everyone in it is told why.
						return fmt.Errorf("%w (undoing it: %v)", errs[i], err)
					}
				}
				if _, err := tx.Exec("RELEASE small_write"); err != nil {
					return err
				}
				continue
			}
			if ins == nil {
				var err error
				if ins, err = tx.Prepare("INSERT INTO journal(op, payload, recipients, created_ts) VALUES (?, ?, ?, ?)"); err != nil {
					return err
				}
				defer ins.Close()
			}
			payload, err := json.Marshal(r.e.msg)
			if err != nil {
				return err
			}
			rcpt, err := json.Marshal(r.e.recipients)
			if err != nil {
				return err
			}
			res, err := ins.Exec(r.e.op, payload, rcpt, now)
			if err != nil {
				return err
			}
			if r.e.seq, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		if len(done) > 0 {
			del, err := tx.Prepare("DELETE FROM journal WHERE seq = ?")
			if err != nil {
				return err
			}
			defer del.Close()
			for _, seq := range done {
				if _, err := del.Exec(seq); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		f.s.Logger.Error("journal commit failed", "err", err, "appends", len(batch), "removals", len(done))
		if len(done) > 0 {
			// The rows stay (a replay of them is harmless); try removing them again later.
			f.remMu.Lock()
			f.removable = append(f.removable, done...)
			f.remMu.Unlock()
			time.AfterFunc(retryDelay, func() { wake(f.remWake) })
		}
		err = chat.Errorf(chat.EUnavailable, "cannot store the message right now: %v", err)
	}
	if err == nil {
		entries := make([]*entry, len(batch))
		for i, r := range batch {
			entries[i] = r.e
		}
		f.queueStage(stageItems(entries))
	}
	for i, r := range batch {
		if err == nil {
			r.done <- errs[i]
		} else {
			r.done <- err
		}
	}
}

// groupWrite runs fn in the journal's next group commit on presence.db: one transaction and
// one fsync for everything waiting at that moment, instead of one each. fn runs under a
// savepoint: if it fails, its writes are undone and its error returned, and the rest of the
// commit goes on — unless the failure ended the whole transaction (disk full, I/O error):
// then the commit fails, and every operation and write in it gets the error (none is
// acknowledged). When groupWrite returns nil, fn's writes are durable.
func (f *fanout) groupWrite(ctx context.Context, fn func(*sql.Tx) error) error {
	return f.journal(ctx, appendReq{exec: fn, done: make(chan error, 1)})
}

func (f *fanout) enqueue(e *entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextIdx++
	e.idx = f.nextIdx
	f.pending = append(f.pending, e)
	e.remaining = len(e.recipients)
	if e.remaining == 0 {
		f.finishLocked(e)
		return
	}
	f.stats.Queued += int64(e.remaining)
	due := time.Now().Add(f.linger)
	// Through more members than the handle cache holds, a pass keeps the databases it
	// found open, in whatever order it goes (userDBs.acquireScan).
	for _, r := range e.recipients {
		q := f.users[r]
		if q == nil {
			q = &userQueue{}
			f.users[r] = q
		}
		q.ops = append(q.ops, e)
		q.enq++
		f.markReadyLocked(r, q, due)
	}
}

// markReadyLocked puts user in the ready list, to be applied at due (or earlier), if it has
// operations, no worker on it and no retry pending.
func (f *fanout) markReadyLocked(user string, q *userQueue, due time.Time) {
	if q.ready || q.active || q.backoff || len(q.ops) == 0 {
		return
	}
	q.ready = true
	q.due = due
	f.ready = append(f.ready, readyEntry{user, q})
	if q.urgent {
		f.urgentQ = append(f.urgentQ, readyEntry{user, q})
	}
	f.work.Signal()
}

// makeUrgentLocked has q applied without lingering: a reader waits for it.
func (f *fanout) makeUrgentLocked(user string, q *userQueue) {
	if q.urgent {
		return
	}
	q.urgent = true
	if q.ready {
		f.urgentQ = append(f.urgentQ, readyEntry{user, q})
		f.work.Signal()
	}
}

// nextLocked takes the next queue for a worker: a queue a reader waits for, else the oldest
// ready one once it is due (at once when lingering is off, a flush waits, the store is
// closing or the queue is long). With nothing to take it returns how long until the oldest
// ready queue is due (0: none is ready).
func (f *fanout) nextLocked(now time.Time) (user string, q *userQueue, wait time.Duration) {
	for len(f.urgentQ) > 0 {
		r := f.urgentQ[0]
		f.urgentQ[0] = readyEntry{}
		f.urgentQ = f.urgentQ[1:]
		if r.q.ready && f.users[r.user] == r.q {
			return r.user, r.q, 0
		}
	}
	for len(f.ready) > 0 {
		r := f.ready[0]
		if !r.q.ready || f.users[r.user] != r.q {
			f.ready[0] = readyEntry{}
			f.ready = f.ready[1:]
			continue
		}
		if f.linger > 0 && f.flushing == 0 && !f.closing && len(r.q.ops) < lingerMaxOps && now.Before(r.q.due) {
			return "", nil, r.q.due.Sub(now)
		}
		f.ready[0] = readyEntry{}
		f.ready = f.ready[1:]
		return r.user, r.q, 0
	}
	return "", nil, 0
}

// wakeAtLocked has the workers woken after d, unless they already will be by then.
func (f *fanout) wakeAtLocked(d time.Duration) {
	at := time.Now().Add(d)
	if !f.timerAt.IsZero() && !at.Before(f.timerAt) {
		return
	}
	f.timerAt = at
	f.timer.Reset(d)
}

// finishLocked records that every copy of e is committed: its seq waits for the fsync of
// those databases, and flush can move past it.
func (f *fanout) finishLocked(e *entry) {
	e.finished = true
	f.committed = append(f.committed, e.seq)
	if k := e.stageKey.Load(); k != 0 {
		f.unstage = append(f.unstage, k)
	}
	wake(f.syncWake)
	// Nothing needs the payload any more; pending may keep e a while behind an older one.
	e.msg, e.recipients = chat.Message{}, nil
	i := 0
	for i < len(f.pending) && f.pending[i].finished {
		f.pending[i] = nil
		i++
	}
	f.pending = f.pending[i:]
}

// notifyLocked wakes every reader and flush waiting for progress.
func (f *fanout) notifyLocked() {
	close(f.progress)
	f.progress = make(chan struct{})
}

func (f *fanout) worker() {
	defer f.workers.Done()
	for {
		f.mu.Lock()
		var user string
		var q *userQueue
		for {
			var wait time.Duration
			user, q, wait = f.nextLocked(time.Now())
			if q != nil {
				break
			}
			if f.closing && len(f.ready) == 0 {
				f.mu.Unlock()
				return
			}
			if wait > 0 {
				f.wakeAtLocked(wait)
			}
			f.work.Wait()
		}
		q.ready = false
		q.urgent = false
		q.active = true
		ops := q.ops
		q.ops = nil
		q.inflight = ops
		f.mu.Unlock()

		f.apply(user, ops, func(err error) { f.settle(user, q, ops, err) })
	}
}

// settle records the outcome of writing ops, a batch of user's queue q: applied, or queued
// again for a retry. apply calls it before it lets go of the user's database, so that a read
// merging the queue (readMerged) never sees a batch both committed and still in flight.
func (f *fanout) settle(user string, q *userQueue, ops []*entry, err error) {
	gone := errors.Is(err, errNoUserDB) // the account is gone: nothing to write
	retry := err != nil && !gone
	if retry {
		f.s.Logger.Error("fan-out write failed; will retry", "user", user, "ops", len(ops), "err", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	q.active = false
	q.inflight = nil
	if retry {
		q.ops = append(ops, q.ops...)
		q.backoff = true
		if !f.closing {
			time.AfterFunc(retryDelay, func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				q.backoff = false
				if !f.closing {
					f.markReadyLocked(user, q, time.Now())
				}
			})
		}
		return
	}
	if !gone {
		f.dirty[user] = struct{}{}
	}
	q.applied += uint64(len(ops))
	f.stats.Queued -= int64(len(ops))
	if !gone {
		f.stats.Copies += int64(len(ops))
		f.stats.Transactions++
	}
	for _, e := range ops {
		if e.remaining--; e.remaining == 0 {
			f.finishLocked(e)
		}
	}
	if len(q.ops) > 0 {
		// They arrived while this batch was written: they have lingered already.
		f.markReadyLocked(user, q, time.Now())
	} else if q.applied == q.enq {
		// Nothing pending: forget the user so the map stays small. A reader waiting on
		// q sees applied == enq, which is past its target.
		delete(f.users, user)
	}
	f.notifyLocked()
}

// syncLoop makes committed copies durable before their journal rows go: each round takes
// the finished operations and the dirty databases, fsyncs those, then releases the seqs to
// journalLoop. Rounds start at most every syncInterval, so under load one fsync per database
// covers many commits.
func (f *fanout) syncLoop() {
	defer close(f.sDone)
	var last time.Time
	for {
		select {
		case <-f.syncWake:
		case <-f.stopS:
			f.syncRound()
			return
		}
		if d := syncInterval - time.Since(last); d > 0 {
			select {
			case <-time.After(d):
			case <-f.stopS:
				f.syncRound()
				return
			}
		}
		last = time.Now()
		f.syncRound()
	}
}

// syncfsFrom is the least number of dirty user databases that a round makes durable with one
// syncfs instead of an fsync each. Each fsync costs an open, the call and a close, about
// 100 µs of the daemon's CPU, and the file system commits its journal for a few of them at a
// time; a syncfs is one call and one commit whatever the number of files (BenchmarkSyncRound:
// 1,000 files in 20 ms and 2 ms of CPU, against 180 ms and 110 ms). But a syncfs also writes
// out whatever else is waiting on that file system, so a quiet daemon's small rounds keep to
// their own files.
const syncfsFrom = 32

// syncParallel is how many fsyncs a round has in flight: the file system's journal commits
// many of them at once (on ext4, 1,000 WAL files take ~6× less time with 32 than with 4).
const syncParallel = 32

// syncRound fsyncs the dirty user databases and releases the seqs that were waiting for it.
//
// If a file cannot be opened, nothing is lost: the round is tried again later. If an fsync
// fails, the kernel may have dropped the pages it could not write, and a later fsync would
// succeed without them: the round's journal rows are then kept until the next start, whose
// replay writes the copies again.
func (f *fanout) syncRound() {
	f.mu.Lock()
	seqs, users, syncDB, unstage := f.committed, f.dirty, f.syncDB, f.unstage
	syncAll := f.syncAll
	if len(users) < f.syncfsFrom {
		syncAll = nil
	}
	f.committed, f.dirty, f.unstage = nil, map[string]struct{}{}, nil
	f.mu.Unlock()
	if len(unstage) > 0 {
		// Nothing reads them any more: every copy is committed.
		if err := f.s.staging.remove(context.Background(), unstage); err != nil {
			f.s.Logger.Error("fan-out staging: cannot drop finished messages; will retry", "messages", len(unstage), "err", err)
			f.mu.Lock()
			f.unstage = append(f.unstage, unstage...)
			f.mu.Unlock()
		}
	}
	if len(seqs) == 0 && len(users) == 0 {
		return
	}
	var err error
	if syncAll != nil {
		err = syncAll()
		if err != nil {
			err = fmt.Errorf("%w: %w", errFsync, err)
		}
	} else {
		err = f.syncUsers(users, syncDB)
	}
	switch {
	case err == nil:
		if f.syncFailing {
			f.syncFailing = false
			f.s.Logger.Info("fan-out fsync works again")
		}
		f.release(seqs)
	case errors.Is(err, errFsync):
		f.s.Logger.Error("fan-out fsync failed: the journal keeps these operations until the next start, which writes them again",
			"operations", len(seqs), "databases", len(users), "err", err)
	default:
		if !f.syncFailing {
			f.syncFailing = true
			f.s.Logger.Error("fan-out fsync cannot open a database; will retry", "databases", len(users), "err", err)
		}
		f.mu.Lock()
		f.committed = append(seqs, f.committed...)
		for u := range users {
			f.dirty[u] = struct{}{}
		}
		f.mu.Unlock()
		time.AfterFunc(retryDelay, func() { wake(f.syncWake) })
	}
}

// syncUsers fsyncs the WAL of each user database in users (syncParallel at once), then
// users/ itself.
func (f *fanout) syncUsers(users map[string]struct{}, syncDB func(string) error) error {
	if len(users) == 0 {
		return nil
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	all := make([]error, len(names))
	parallel(len(names), syncParallel, func(i int) {
		if err := syncDB(f.s.userDBPath(names[i])); err != nil {
			all[i] = fmt.Errorf("users/%s.db: %w", names[i], err)
		}
	})
	if err := errors.Join(all...); err != nil {
		return err
	}
	// A WAL file created since the last round must be found after a power loss too.
	if err := fsutil.SyncDir(filepath.Join(f.s.dir, "users")); err != nil {
		return fmt.Errorf("%w: users/: %w", errFsync, err)
	}
	return nil
}

// The fan-out's INSERTs; OR IGNORE makes a replay idempotent. putFull sets every column of
// one copy. putPlain, for the common message (no attachment, thread, props, edit or
// deletion), binds only the columns whose defaults do not fit: half the parameters, and each
// bound parameter is a call into SQLite under its connection mutex. putStaged (staging.go)
// copies staged messages, a batch's at once.
const (
	putPlain = iota
	putFull
	putStaged
)

var putSQL = [3]string{
	putPlain: `INSERT OR IGNORE INTO messages(id, conversation, sender, body, html, sent_ts, sent_ms,
	mentions) VALUES (?,?,?,?,?,?,?,?)`,
	putFull: `INSERT OR IGNORE INTO messages(id, conversation, sender, body, html,
	sent_ts, sent_ms, edited_ts, deleted, mentions, thread_root, attachment_file,
	attachment_name, attachment_size, attachment_type, props) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
	putStaged: putStagedSQL,
}

// fullColumns are m's values for the columns of putFull, in its order (stagedColumns').
func fullColumns(m *chat.Message) []any {
	var af, an, at, as any
	if a := m.Attachment; a != nil {
		af, an, as, at = a.StoredName, a.Name, a.Size, a.Type
	}
	return []any{m.ID, m.Conversation, m.Sender, m.Body, m.HTML, m.SentTS, m.SentMS,
		m.EditedTS, boolInt(m.Deleted), mentionsText(m.Mentions), m.ThreadRoot, af, an, as, at, chat.EncodeProps(m.Props)}
}

// putKind is the INSERT a copy of m needs (see putSQL).
func putKind(m *chat.Message) int {
	if m.Attachment == nil && m.ThreadRoot == "" && m.EditedTS == 0 && !m.Deleted && m.Props.IsZero() {
		return putPlain
	}
	return putFull
}

// apply writes ops into user's database in one transaction, and calls settle with the
// outcome (exactly once) while it still holds the database's write lock (userDB.applyMu).
func (f *fanout) apply(user string, ops []*entry, settle func(error)) {
	ctx := context.Background()
	u, opened, err := f.s.users.acquireScan(ctx, user)
	if err != nil {
		settle(err)
		return
	}
	if opened {
		f.s.users.fanoutOpens.Add(1)
	}
	defer f.s.users.release(u)
	u.applyMu.Lock()
	defer u.applyMu.Unlock()
	err = f.write(ctx, u, ops)
	if afterWrite != nil {
		afterWrite(user)
	}
	settle(err)
}

// afterWrite, when set (by tests), runs between a batch's commit and its settle;
// duringWrite inside the batch's transaction, after its writes.
var afterWrite, duringWrite func(user string)

// beforeStage, when set (by tests), runs before stage writes anything.
var beforeStage func()

// applyNow writes ops, which are not in the journal or any queue, into user's database
// directly.
func (f *fanout) applyNow(user string, ops []*entry) error {
	var err error
	f.apply(user, ops, func(e error) { err = e })
	return err
}

// write writes ops into u in one transaction.
func (f *fanout) write(ctx context.Context, u *userDB, ops []*entry) error {
	var err error
	now := f.s.Now().Unix()
	// Prepared before the transaction: the handle has one connection, which the
	// transaction holds until it ends.
	var shared [len(putSQL)]*sql.Stmt
	// Read once: the stager may set an entry's key meanwhile.
	keys := make([]int64, len(ops))
	for i, e := range ops {
		if e.op != opPut {
			continue
		}
		keys[i] = e.stageKey.Load()
		k := putKind(&e.msg)
		if keys[i] != 0 {
			k = putStaged
		}
		if shared[k] == nil {
			if shared[k], err = u.putStmt(ctx, k); err != nil {
				return err
			}
		}
	}
	// Deferred, not BEGIN IMMEDIATE: that would also take the write lock of the staging
	// database attached to the connection, which is shared by every user database's
	// connection and the staging writer, and so make every one of them wait for this
	// transaction. Every statement below that touches the user's file writes it, the first
	// one taking its write lock (waiting for another process's, under busy_timeout); the
	// reads (unreadStale) come after.
	err = withReadTx(ctx, u.db, func(tx *sql.Tx) error {
		var put [len(putSQL)]*sql.Stmt
		stmt := func(k int) *sql.Stmt {
			if put[k] == nil {
				// Bound to this transaction; on the handle's one connection it reuses the
				// statement prepared there, and closing it leaves that one open.
				put[k] = tx.StmtContext(ctx, shared[k])
			}
			return put[k]
		}
		defer func() {
			for _, st := range put {
				if st != nil {
					st.Close()
				}
			}
		}()
		// staged are the keys of the staged messages met since the last write, copied in one
		// statement before anything else is written.
		var staged []int64
		copyStaged := func() error {
			if len(staged) == 0 {
				return nil
			}
			if _, err := stmt(putStaged).Exec(keyList(staged)); err != nil {
				return fmt.Errorf("insert staged messages: %w", err)
			}
			staged = staged[:0]
			return nil
		}
		var conv *sql.Stmt
		for i, e := range ops {
			m := &e.msg
			if !(e.op == opPut && keys[i] != 0) {
				if err := copyStaged(); err != nil {
					return err
				}
			}
			switch e.op {
			case opPut:
				var err error
				switch k := putKind(m); {
				case keys[i] != 0:
					staged = append(staged, keys[i])
				case k == putPlain:
					_, err = stmt(k).Exec(m.ID, m.Conversation, m.Sender, m.Body, m.HTML, m.SentTS, m.SentMS,
						mentionsText(m.Mentions))
				default:
					_, err = stmt(k).Exec(fullColumns(m)...)
				}
				if err != nil {
					return fmt.Errorf("insert message: %w", err)
				}
				u.mu.Lock()
				known := u.convs[m.Conversation]
				u.mu.Unlock()
				if !known {
					if conv == nil {
						if conv, err = tx.Prepare("INSERT OR IGNORE INTO conversations(id, added_ts) VALUES (?, ?)"); err != nil {
							return err
						}
						defer conv.Close()
					}
					if _, err := conv.Exec(m.Conversation, now); err != nil {
						return err
					}
					u.mu.Lock()
					u.convs[m.Conversation] = true
					u.mu.Unlock()
				}
			case opEdit:
				// Never on a deleted copy: an edit replayed after the delete (their journal
				// rows can go in either order) must not bring the text back.
				if _, err := tx.Exec(`UPDATE messages SET body=?, html=?, mentions=?, edited_ts=? WHERE id=? AND conversation=? AND deleted=0`,
					m.Body, m.HTML, mentionsText(m.Mentions), m.EditedTS, m.ID, m.Conversation); err != nil {
					return fmt.Errorf("edit message: %w", err)
				}
			case opDelete:
				if _, err := tx.Exec(`UPDATE messages SET deleted=1, body='', html='', mentions='' WHERE id=? AND conversation=?`,
					m.ID, m.Conversation); err != nil {
					return fmt.Errorf("delete message: %w", err)
				}
			}
		}
		if err := copyStaged(); err != nil {
			return err
		}
		if duringWrite != nil {
			duringWrite(u.name)
		}
		// A message written among those the sidebar's kept counts covered drops the count.
		stale, err := u.unreadStale(ctx, tx, ops)
		if err != nil {
			return err
		}
		for _, c := range stale {
			if _, err := tx.Exec("DELETE FROM unread_counts WHERE conversation = ?", c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		u.unreadUnknown()
	}
	return err
}

// holdRemovals keeps finished operations in the journal until the returned func is called:
// a snapshot of presence.db taken meanwhile then holds every operation not already in a
// user database snapshotted before it.
func (f *fanout) holdRemovals() (release func()) {
	f.remMu.Lock()
	f.holds++
	f.remMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.remMu.Lock()
			f.holds--
			if f.holds == 0 && len(f.held) > 0 {
				f.removable = append(f.removable, f.held...)
				f.held = nil
				wake(f.remWake)
			}
			f.remMu.Unlock()
		})
	}
}

// waitUser waits (at most until ctx ends) until every operation queued for user before the
// call is applied to user's database, so that a read sees the writes acknowledged before it.
func (f *fanout) waitUser(ctx context.Context, user string) error {
	f.mu.Lock()
	q := f.users[user]
	if q == nil {
		f.mu.Unlock()
		return nil
	}
	target := q.enq
	for q.applied < target {
		f.makeUrgentLocked(user, q)
		ch := f.progress
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return nil
}

// flush waits until every operation enqueued before the call is applied to every
// recipient's database (operations enqueued meanwhile do not make it wait longer).
func (f *fanout) flush(ctx context.Context) error {
	f.mu.Lock()
	target := f.nextIdx
	f.flushing++
	f.work.Broadcast()
	defer func() {
		f.mu.Lock()
		f.flushing--
		f.mu.Unlock()
	}()
	for len(f.pending) > 0 && f.pending[0].idx <= target {
		ch := f.progress
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	// Then the stager's: nothing handed to it is still being staged when flush returns (a
	// message staged after its copies is dropped by the next sync round).
	f.waitStaged()
	return nil
}

// dropPuts deletes the journal rows of the put operations whose message matches where, an
// SQL condition on the columns id, conversation, sender and sent_ts (as in a user database's
// messages table). A hard delete of messages calls it (after flush, before deleting the
// copies) so that a replay cannot bring them back.
func (f *fanout) dropPuts(ctx context.Context, where string, args ...any) (int64, error) {
	res, err := f.s.presence.W.ExecContext(ctx, `DELETE FROM journal WHERE seq IN (
		SELECT seq FROM (SELECT seq,
			json_extract(payload, '$.id') AS id,
			json_extract(payload, '$.conversation') AS conversation,
			json_extract(payload, '$.sender') AS sender,
			json_extract(payload, '$.sent_ts') AS sent_ts
			FROM journal WHERE op = '`+opPut+`')
		WHERE `+where+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("drop journaled messages: %w", err)
	}
	return res.RowsAffected()
}

// syncUser makes the commits made so far to user's database durable (for hard deletes).
func (f *fanout) syncUser(user string) error {
	return syncWAL(f.s.userDBPath(user))
}

// replay re-queues every journal row left by a crash and waits until they are applied.
func (f *fanout) replay(ctx context.Context) error {
	rows, err := f.s.presence.R.QueryContext(ctx, "SELECT seq, op, payload, recipients FROM journal ORDER BY seq")
	if err != nil {
		return err
	}
	var entries []*entry
	for rows.Next() {
		e := &entry{}
		var payload, rcpt string
		if err := rows.Scan(&e.seq, &e.op, &payload, &rcpt); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal([]byte(payload), &e.msg); err != nil {
			f.s.Logger.Error("journal row unreadable; skipped", "seq", e.seq, "err", err)
			continue
		}
		if err := json.Unmarshal([]byte(rcpt), &e.recipients); err != nil {
			f.s.Logger.Error("journal row unreadable; skipped", "seq", e.seq, "err", err)
			continue
		}
		entries = append(entries, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	f.stage(stageItems(entries))
	for _, e := range entries {
		f.enqueue(e)
	}
	if len(entries) > 0 {
		f.s.Logger.Info("replaying journal", "operations", len(entries))
	}
	return f.flush(ctx)
}

// close applies everything queued, stops the workers, makes the copies durable and commits
// the last journal removals.
// close writes what is queued until ctx ends (what is left stays in the journal and is
// written at the next start), then stops the workers.
func (f *fanout) close(ctx context.Context) {
	f.flush(ctx)
	f.mu.Lock()
	f.closing = true
	f.work.Broadcast()
	f.mu.Unlock()
	f.workers.Wait()
	f.timer.Stop()
	close(f.stopS)
	<-f.sDone
	close(f.stopJ)
	<-f.jDone
	f.stopStager()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mentionsText stores mentions as " a b " so that instr(mentions, ' a ') finds one.
func mentionsText(m []string) string {
	if len(m) == 0 {
		return ""
	}
	return " " + strings.Join(m, " ") + " "
}

func mentionsList(s string) []string { return strings.Fields(s) }

// Ready reports whether auth.db and presence.db answer a query on their own connections (not
// the account snapshot) and the journal still takes operations: what a readiness probe asks.
func (s *Store) Ready(ctx context.Context) error {
	select {
	case <-s.fanout.stopJ:
		return chat.Errorf(chat.EUnavailable, "the store is closing")
	default:
	}
	for _, db := range []*sql.DB{s.auth.R, s.presence.R} {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return opErr("ready", err)
		}
	}
	return nil
}
