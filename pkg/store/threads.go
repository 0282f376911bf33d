package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/minimost/minimost/pkg/chat"
)

// MaxThreadReplies is the most replies of one thread a read returns (the newest ones).
const MaxThreadReplies = 1000

// Thread returns the replies to message root of conversation in user's copy, oldest first.
func (s *Store) Thread(ctx context.Context, user, conversation, root string) ([]chat.Message, error) {
	var out []chat.Message
	err := s.readMerged(ctx, user, func(c string) bool { return c == conversation }, func(db *sql.DB, pending []pendingOp) error {
		var err error
		// thread_root != '' lets SQLite use the partial index of replies.
		out, err = queryMessages(ctx, db, "WHERE conversation = ? AND thread_root = ? AND thread_root != '' ORDER BY id DESC LIMIT ?", conversation, root, MaxThreadReplies)
		out = mergePending(out, pending, func(m *chat.Message) bool { return m.ThreadRoot == root && root != "" }, MaxThreadReplies)
		return err
	})
	slices.Reverse(out)
	return out, opErr("thread", err)
}

// ThreadSummaries returns, for each of roots that has replies in user's copy of conversation,
// how many (not deleted), when the last came and who wrote them.
func (s *Store) ThreadSummaries(ctx context.Context, user, conversation string, roots []string) (map[string]chat.ThreadSummary, error) {
	out := map[string]chat.ThreadSummary{}
	if len(roots) == 0 {
		return out, nil
	}
	args := []any{conversation}
	for _, r := range roots {
		args = append(args, r)
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(roots)), ",")
	err := s.readMerged(ctx, user, func(c string) bool { return c == conversation }, func(db *sql.DB, pending []pendingOp) error {
		if touchesReplies(pending) {
			// Replies or deletions are queued: count from the replies themselves.
			rows, err := queryMessages(ctx, db, `WHERE +conversation = ? AND thread_root != '' AND thread_root IN (`+marks+`) ORDER BY id DESC`, args...)
			if err != nil {
				return err
			}
			rows = mergePending(rows, pending, func(m *chat.Message) bool { return slices.Contains(roots, m.ThreadRoot) }, 0)
			summarize(rows, out)
			return nil
		}
		// By the partial index of replies (thread_root != ''), not the conversation's (the
		// unary + keeps SQLite from choosing it): only the replies of these roots are read.
		rows, err := db.QueryContext(ctx, `SELECT thread_root, sender, COUNT(*), MAX(sent_ms), MIN(id) FROM messages
			WHERE +conversation = ? AND deleted = 0 AND thread_root != '' AND thread_root IN (`+marks+`)
			GROUP BY thread_root, sender ORDER BY thread_root, MIN(id)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var root, sender, first string
			var n int
			var last int64
			if err := rows.Scan(&root, &sender, &n, &last, &first); err != nil {
				return err
			}
			t := out[root]
			t.Replies += n
			t.LastReplyMS = max(t.LastReplyMS, last)
			t.Participants = append(t.Participants, sender)
			out[root] = t
		}
		return rows.Err()
	})
	return out, opErr("thread summaries", err)
}

// touchesReplies reports whether pending holds a thread reply or a deletion (of a reply,
// perhaps): what changes a thread's summary.
func touchesReplies(pending []pendingOp) bool {
	return slices.ContainsFunc(pending, func(p pendingOp) bool {
		return p.op == opDelete || (p.op == opPut && p.msg.ThreadRoot != "")
	})
}

// summarize adds to out the summary of each thread whose replies are in replies (newest
// first), as ThreadSummaries' query computes it: replies not deleted, the last one's time,
// and their senders in the order of their first reply.
func summarize(replies []chat.Message, out map[string]chat.ThreadSummary) {
	for i := len(replies) - 1; i >= 0; i-- {
		m := &replies[i]
		if m.Deleted {
			continue
		}
		t := out[m.ThreadRoot]
		t.Replies++
		t.LastReplyMS = max(t.LastReplyMS, m.SentMS)
		if !slices.Contains(t.Participants, m.Sender) {
			t.Participants = append(t.Participants, m.Sender)
		}
		out[m.ThreadRoot] = t
	}
}

// ThreadItem is one thread of the Threads view: its root and how many replies are unread.
type ThreadItem = chat.ThreadItem

// UserThreads returns the threads user started, replied in or was mentioned in (newest reply
// first, at most limit), each with its summary and the replies from others not yet read.
//
// It reads the user's database as it is while only new messages outside threads are queued
// for the user (what a busy channel queues): they are not in any thread, and a thread's
// root counts only once it has a reply. With a reply, an edit or a deletion queued, it waits
// for the user's queue to be written, as reads did before they merged the queue.
func (s *Store) UserThreads(ctx context.Context, user string, limit int) ([]chat.ThreadItem, error) {
	var out []chat.ThreadItem
	wait := false
	err := s.readMerged(ctx, user, nil, func(db *sql.DB, pending []pendingOp) error {
		for _, p := range pending {
			if p.op != opPut || p.msg.ThreadRoot != "" {
				wait = true
				return nil
			}
		}
		var err error
		out, err = userThreads(ctx, db, user, limit)
		return err
	})
	if err == nil && wait {
		if err = s.readYourWrites(ctx, user); err == nil {
			err = s.withUserDB(ctx, user, func(db *sql.DB) error {
				out, err = userThreads(ctx, db, user, limit)
				return err
			})
		}
	}
	return out, opErr("threads", err)
}

// userThreads reads UserThreads from the user's database.
func userThreads(ctx context.Context, db *sql.DB, user string, limit int) ([]chat.ThreadItem, error) {
	var out []chat.ThreadItem
	roots, err := queryMessages(ctx, db, `WHERE thread_root = '' AND deleted = 0 AND id IN (
		SELECT x.thread_root FROM messages x JOIN messages r ON r.id = x.thread_root
		WHERE x.deleted = 0 AND (r.sender = ?1 OR x.sender = ?1 OR instr(x.mentions, ' '||?1||' ') > 0)
		GROUP BY x.thread_root ORDER BY MAX(x.id) DESC LIMIT ?2)`, user, limit)
	if err != nil {
		return nil, err
	}
	for _, r := range roots {
		var it chat.ThreadItem
		it.Root = r
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages
			WHERE thread_root = ?1 AND deleted = 0 AND sender != ?2
			AND id > COALESCE((SELECT last_read FROM thread_reads WHERE root = ?1), '')`, r.ID, user).Scan(&it.Unread); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// MarkThreadRead records that user has read thread root up to reply messageID (never back).
func (s *Store) MarkThreadRead(ctx context.Context, user, root, messageID string) error {
	err := s.withUserDB(ctx, user, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, `INSERT INTO thread_reads(root, last_read) VALUES (?, ?)
			ON CONFLICT(root) DO UPDATE SET last_read = excluded.last_read WHERE excluded.last_read > thread_reads.last_read`, root, messageID)
		return err
	})
	return opErr("mark thread read", err)
}
