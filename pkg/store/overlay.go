package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/minimost/minimost/pkg/chat"
)

// A read of a user's database must see every write acknowledged before it, but the fan-out
// writes a user's copies up to a linger later, in one transaction with the copies that
// follow. Rather than have the read wait for that transaction (behind every other user's,
// when the fan-out is busy), the reads that a browsing user makes all the time — a page of
// history, the sidebar's counts, a search — read the database and add to what it holds the
// operations still queued for the user (readMerged). The result is what the database will
// hold once the queue is written.

// pendingOp is one operation queued for a user and not yet committed to their database. msg
// is the queued entry's own message: it stays as it is while the user's database is
// read-locked (userDB.applyMu), since the entry cannot finish before the user's copy is
// settled, which needs the write lock.
type pendingOp struct {
	op  string
	msg *chat.Message
}

// pendingFor returns the operations queued for user, including a batch a worker is writing,
// in the order they will be applied; keep (nil: all) picks the conversations of interest.
// Call it, and use what it returns, with the user's database read-locked (userDB.applyMu),
// so that no batch is committed between this and the read of the database.
func (f *fanout) pendingFor(user string, keep func(conversation string) bool) []pendingOp {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.users[user]
	if q == nil {
		return nil
	}
	var out []pendingOp
	for _, batch := range [2][]*entry{q.inflight, q.ops} {
		for _, e := range batch {
			if keep == nil || keep(e.msg.Conversation) {
				out = append(out, pendingOp{op: e.op, msg: &e.msg})
			}
		}
	}
	return out
}

// asStored is m as a read of the user's database returns it once the fan-out has written it.
func asStored(m chat.Message) chat.Message {
	out := chat.Message{ID: m.ID, Conversation: m.Conversation, Sender: m.Sender, Body: m.Body, HTML: m.HTML,
		SentTS: m.SentTS, SentMS: m.SentMS, EditedTS: m.EditedTS, Deleted: m.Deleted,
		Mentions: mentionsList(mentionsText(m.Mentions)), ThreadRoot: m.ThreadRoot,
		Props: m.Props}
	if m.Props != nil {
		out.Props = chat.DecodeProps(chat.EncodeProps(m.Props))
	}
	if a := m.Attachment; a != nil && a.StoredName != "" {
		c := *a
		out.Attachment = &c
	}
	return out
}

// readMerged runs read on user's database with the operations queued for the user in the
// conversations keep picks (nil: all). No batch of the user's can be committed while read
// runs, so each queued operation is either in pending or in the database. While a worker is
// writing one of the user's batches, the read waits for the user's queue to be written, as
// other reads do (readYourWrites), and merges nothing.
func (s *Store) readMerged(ctx context.Context, user string, keep func(string) bool, read func(db *sql.DB, pending []pendingOp) error) error {
	return s.readMergedHandle(ctx, user, keep, func(u *userDB, pending []pendingOp) error { return read(u.db, pending) })
}

// readMergedHandle is readMerged for a read that needs the open handle, not only its
// database.
func (s *Store) readMergedHandle(ctx context.Context, user string, keep func(string) bool, read func(u *userDB, pending []pendingOp) error) error {
	u, err := s.acquireUser(ctx, user)
	if err != nil {
		return err
	}
	defer s.users.release(u)
	if !u.applyMu.TryRLock() {
		if err := s.readYourWrites(ctx, user); err != nil {
			return err
		}
		return read(u, nil)
	}
	defer u.applyMu.RUnlock()
	return read(u, s.fanout.pendingFor(user, keep))
}

// mergePending applies pending, in order, to rows read from the database: a queued put that
// keep accepts adds its message (unless the database has it), an edit or a deletion changes
// the message if it is among them. The result is sorted newest first, as the reads ask, and
// cut to its first n (n <= 0: all of it).
func mergePending(rows []chat.Message, pending []pendingOp, keep func(*chat.Message) bool, n int) []chat.Message {
	if len(pending) == 0 {
		return rows
	}
	at := make(map[string]int, len(rows)+len(pending))
	for i := range rows {
		at[rows[i].ID] = i
	}
	// The queued messages first (a message's edits and deletion are queued after it): only
	// the newest n can be among the first n.
	var adds []*chat.Message
	for _, p := range pending {
		if _, ok := at[p.msg.ID]; p.op == opPut && !ok && keep(p.msg) {
			adds = append(adds, p.msg)
		}
	}
	if n > 0 && len(adds) > n {
		slices.SortFunc(adds, func(a, b *chat.Message) int { return strings.Compare(b.ID, a.ID) })
		adds = adds[:n]
	}
	queued := make(map[string]bool, len(adds)) // rows still as queued, to be made asStored
	for _, m := range adds {
		if !queued[m.ID] {
			at[m.ID] = len(rows)
			rows = append(rows, *m)
			queued[m.ID] = true
		}
	}
	for _, p := range pending {
		i, ok := at[p.msg.ID]
		switch p.op {
		case opEdit:
			// As the fan-out's UPDATE: never on a deleted copy.
			if ok && !rows[i].Deleted {
				m := &rows[i]
				m.Body, m.HTML, m.EditedTS = p.msg.Body, p.msg.HTML, p.msg.EditedTS
				m.Mentions = mentionsList(mentionsText(p.msg.Mentions))
			}
		case opDelete:
			if ok {
				m := &rows[i]
				m.Deleted, m.Body, m.HTML, m.Mentions = true, "", "", mentionsList("")
			}
		}
	}
	slices.SortFunc(rows, func(a, b chat.Message) int { return strings.Compare(b.ID, a.ID) })
	if n > 0 && len(rows) > n {
		rows = rows[:n]
	}
	for i := range rows {
		if queued[rows[i].ID] {
			rows[i] = asStored(rows[i])
		}
	}
	return rows
}

// inChannel is inChannelList for a message in memory.
func inChannel(m *chat.Message) bool { return m.ThreadRoot == "" || m.AlsoInChannel() }
