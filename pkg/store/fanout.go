package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// Journal operations.
const (
	opPut    = "put"    // payload: chat.Message
	opEdit   = "edit"   // payload: chat.Message (id, conversation, body, html, mentions, edited_ts)
	opDelete = "delete" // payload: chat.Message (id, conversation)
)

// entry is one journaled operation on its way to its recipients' databases.
type entry struct {
	seq        int64
	op         string
	msg        chat.Message
	recipients []string
	remaining  atomic.Int64
}

type appendReq struct {
	e    *entry
	done chan error
}

// fanout owns the journal and the per-user write queues.
type fanout struct {
	s *Store

	appendCh chan appendReq
	doneCh   chan int64
	stopJ    chan struct{}
	jDone    chan struct{}

	mu          sync.Mutex
	cond        *sync.Cond
	queues      map[string][]*entry
	ready       []string
	active      map[string]bool
	outstanding int
	closing     bool
	workers     sync.WaitGroup
	// enq and applied count operations queued for and applied to each user's database, so a
	// read can wait for exactly the writes that came before it (read-your-writes).
	enq, applied map[string]uint64

	// holds > 0 keeps finished journal rows (a snapshot is being taken): held collects them.
	holdMu sync.Mutex
	holds  int
	held   []int64
}

func newFanout(s *Store, workers int) *fanout {
	f := &fanout{
		s:        s,
		appendCh: make(chan appendReq, 1024),
		doneCh:   make(chan int64, 4096),
		stopJ:    make(chan struct{}),
		jDone:    make(chan struct{}),
		queues:   map[string][]*entry{},
		active:   map[string]bool{},
		enq:      map[string]uint64{},
		applied:  map[string]uint64{},
	}
	f.cond = sync.NewCond(&f.mu)
	go f.journalLoop()
	for range workers {
		f.workers.Add(1)
		go f.worker()
	}
	return f
}

// submit journals e (durably) and queues it for its recipients. When it returns nil the
// operation is acknowledged: it will reach every recipient even across a crash.
func (f *fanout) submit(ctx context.Context, e *entry) error {
	req := appendReq{e: e, done: make(chan error, 1)}
	select {
	case f.appendCh <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-f.stopJ:
		return chat.Errorf(chat.EUnavailable, "server is shutting down")
	}
	select {
	case err := <-req.done:
		if err != nil {
			return err
		}
	case <-f.jDone:
		// The journal stopped after this request slipped into its queue: it may or may not
		// have been committed, so it is not acknowledged (a replay applies it if it was).
		select {
		case err := <-req.done:
			if err != nil {
				return err
			}
		default:
			return chat.Errorf(chat.EUnavailable, "server is shutting down")
		}
	}
	f.enqueue(e)
	return nil
}

// journalLoop commits appends in groups: everything waiting when a commit starts goes into
// the same transaction, together with the removal of finished rows.
func (f *fanout) journalLoop() {
	defer close(f.jDone)
	var done []int64
	for {
		var batch []appendReq
		select {
		case r := <-f.appendCh:
			batch = append(batch, r)
		case seq := <-f.doneCh:
			done = append(done, seq)
		case <-f.stopJ:
			// Drain what is already submitted, then the final removals.
			for {
				select {
				case r := <-f.appendCh:
					batch = append(batch, r)
					continue
				case seq := <-f.doneCh:
					done = append(done, seq)
					continue
				default:
				}
				break
			}
			f.commit(batch, done)
			return
		}
	drain:
		for len(batch) < 1024 {
			select {
			case r := <-f.appendCh:
				batch = append(batch, r)
			case seq := <-f.doneCh:
				done = append(done, seq)
			default:
				break drain
			}
		}
		if len(batch) == 0 && len(done) < 256 {
			// Removals alone can wait for company; they only keep the journal small.
			select {
			case r := <-f.appendCh:
				batch = append(batch, r)
			case seq := <-f.doneCh:
				done = append(done, seq)
				continue
			case <-time.After(50 * time.Millisecond):
			case <-f.stopJ:
				f.commit(nil, done)
				return
			}
		}
		f.commit(batch, done)
		done = done[:0]
	}
}

func (f *fanout) commit(batch []appendReq, done []int64) {
	if len(batch) == 0 && len(done) == 0 {
		return
	}
	now := f.s.Now().Unix()
	err := withTx(context.Background(), f.s.presence.W, func(tx *sql.Tx) error {
		if len(batch) > 0 {
			ins, err := tx.Prepare("INSERT INTO journal(op, payload, recipients, created_ts) VALUES (?, ?, ?, ?)")
			if err != nil {
				return err
			}
			defer ins.Close()
			for _, r := range batch {
				payload, _ := json.Marshal(r.e.msg)
				rcpt, _ := json.Marshal(r.e.recipients)
				res, err := ins.Exec(r.e.op, payload, rcpt, now)
				if err != nil {
					return err
				}
				r.e.seq, _ = res.LastInsertId()
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
		err = chat.Errorf(chat.EUnavailable, "cannot store the message right now: %v", err)
	}
	for _, r := range batch {
		r.done <- err
	}
	if err != nil && len(batch) == 0 {
		// Only removals failed: they stay in the journal and are replayed (idempotently).
		return
	}
}

func (f *fanout) enqueue(e *entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(e.recipients) == 0 {
		f.finishLocked(e)
		return
	}
	e.remaining.Store(int64(len(e.recipients)))
	f.outstanding++
	for _, r := range e.recipients {
		q := f.queues[r]
		if len(q) == 0 && !f.active[r] {
			f.ready = append(f.ready, r)
			f.cond.Signal()
		}
		f.queues[r] = append(q, e)
		f.enq[r]++
	}
}

func (f *fanout) finishLocked(e *entry) {
	f.holdMu.Lock()
	if f.holds > 0 {
		f.held = append(f.held, e.seq)
		f.holdMu.Unlock()
		return
	}
	f.holdMu.Unlock()
	select {
	case f.doneCh <- e.seq:
	default:
		// The journal loop is busy; hand it over without holding the lock.
		go func(seq int64) { f.doneCh <- seq }(e.seq)
	}
}

func (f *fanout) worker() {
	defer f.workers.Done()
	for {
		f.mu.Lock()
		for len(f.ready) == 0 && !f.closing {
			f.cond.Wait()
		}
		if len(f.ready) == 0 && f.closing {
			f.mu.Unlock()
			return
		}
		user := f.ready[0]
		f.ready = f.ready[1:]
		ops := f.queues[user]
		delete(f.queues, user)
		f.active[user] = true
		f.mu.Unlock()

		err := f.apply(user, ops)
		retry := err != nil && !errors.Is(err, errNoUserDB)
		if retry {
			f.s.Logger.Error("fan-out write failed; will retry", "user", user, "ops", len(ops), "err", err)
		}

		f.mu.Lock()
		f.active[user] = false
		if retry {
			f.queues[user] = append(ops, f.queues[user]...)
			ops = nil
			if !f.closing {
				u := user
				time.AfterFunc(500*time.Millisecond, func() {
					f.mu.Lock()
					if len(f.queues[u]) > 0 && !f.active[u] && !f.isReadyLocked(u) {
						f.ready = append(f.ready, u)
						f.cond.Signal()
					}
					f.mu.Unlock()
				})
			}
		} else {
			f.applied[user] += uint64(len(ops))
			if f.applied[user] == f.enq[user] && len(f.queues[user]) == 0 {
				// Nothing pending: forget the counters so the maps stay small.
				delete(f.applied, user)
				delete(f.enq, user)
			}
			if len(f.queues[user]) > 0 {
				f.ready = append(f.ready, user)
				f.cond.Signal()
			}
			f.cond.Broadcast()
		}
		for _, e := range ops {
			if e.remaining.Add(-1) == 0 {
				f.outstanding--
				f.finishLocked(e)
			}
		}
		if f.outstanding == 0 {
			f.cond.Broadcast()
		}
		f.mu.Unlock()
	}
}

func (f *fanout) isReadyLocked(u string) bool {
	for _, r := range f.ready {
		if r == u {
			return true
		}
	}
	return false
}

// putMessageSQL inserts one copy of a message; OR IGNORE makes a replay idempotent.
const putMessageSQL = `INSERT OR IGNORE INTO messages(id, conversation, sender, body, html,
	sent_ts, sent_ms, edited_ts, deleted, mentions, thread_root, attachment_file,
	attachment_name, attachment_size, attachment_type) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// apply writes ops into user's database in one transaction.
func (f *fanout) apply(user string, ops []*entry) error {
	ctx := context.Background()
	u, err := f.s.users.acquire(ctx, user, false)
	if err != nil {
		return err
	}
	defer f.s.users.release(u)
	now := f.s.Now().Unix()
	// Prepared before the transaction: the handle has one connection, which the
	// transaction holds until it ends.
	shared, err := u.putStmt(ctx)
	if err != nil {
		return err
	}
	return withTx(ctx, u.db, func(tx *sql.Tx) error {
		var put, conv *sql.Stmt
		for _, e := range ops {
			m := &e.msg
			switch e.op {
			case opPut:
				if put == nil {
					// Bound to this transaction; on the handle's one connection it reuses
					// the statement prepared there, and closing it leaves that one open.
					put = tx.StmtContext(ctx, shared)
					defer put.Close()
				}
				var af, an, at any
				var as any
				if a := m.Attachment; a != nil {
					af, an, as, at = a.StoredName, a.Name, a.Size, a.Type
				}
				if _, err := put.Exec(m.ID, m.Conversation, m.Sender, m.Body, m.HTML, m.SentTS, m.SentMS,
					m.EditedTS, boolInt(m.Deleted), mentionsText(m.Mentions), m.ThreadRoot, af, an, as, at); err != nil {
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
				if _, err := tx.Exec(`UPDATE messages SET body=?, html=?, mentions=?, edited_ts=? WHERE id=? AND conversation=?`,
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
		return nil
	})
}

// holdRemovals keeps finished operations in the journal until the returned func is called:
// a snapshot of presence.db taken meanwhile then holds every operation not already in a
// user database snapshotted before it.
func (f *fanout) holdRemovals() (release func()) {
	f.holdMu.Lock()
	f.holds++
	f.holdMu.Unlock()
	return func() {
		f.holdMu.Lock()
		f.holds--
		var seqs []int64
		if f.holds == 0 {
			seqs, f.held = f.held, nil
		}
		f.holdMu.Unlock()
		if len(seqs) > 0 {
			go func() {
				for _, s := range seqs {
					f.doneCh <- s
				}
			}()
		}
	}
}

// waitUser waits (at most until ctx ends) until every operation queued for user before the
// call is applied to user's database, so that a read sees the writes acknowledged before it.
func (f *fanout) waitUser(ctx context.Context, user string) error {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	target := f.enq[user]
	for f.enq[user] != 0 && f.applied[user] < target {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.cond.Wait()
	}
	return nil
}

// flush waits until nothing is outstanding.
func (f *fanout) flush(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.outstanding > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.cond.Wait()
	}
	return nil
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
	for _, e := range entries {
		f.enqueue(e)
	}
	if len(entries) > 0 {
		f.s.Logger.Info("replaying journal", "operations", len(entries))
	}
	return f.flush(ctx)
}

// close applies everything queued, then stops the workers and the journal.
func (f *fanout) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	f.flush(ctx)
	cancel()
	f.mu.Lock()
	f.closing = true
	f.cond.Broadcast()
	f.mu.Unlock()
	f.workers.Wait()
	close(f.stopJ)
	<-f.jDone
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
