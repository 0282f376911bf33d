package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/minimost/minimost/pkg/chat"
)

// SetPresence records user's status ("online", "away" or "offline").
func (s *Store) SetPresence(ctx context.Context, user, status string) error {
	return s.SetPresences(ctx, []chat.PresenceChange{{User: user, Presence: status}})
}

// SetPresences records several users' statuses ("online", "away" or "offline") in one
// transaction: one commit of presence.db, so one fsync, however many changed. A status that
// is none of those is an error, and nothing is written.
func (s *Store) SetPresences(ctx context.Context, changes []chat.PresenceChange) error {
	for _, c := range changes {
		switch c.Presence {
		case "online", "away", "offline":
		default:
			return opErr("set presence", chat.Errorf(chat.EInvalid, "presence of %q must be online, away or offline", c.User))
		}
		if c.User == "" {
			return opErr("set presence", chat.Errorf(chat.EInvalid, "presence of no user"))
		}
	}
	if len(changes) == 0 {
		return nil
	}
	now := s.Now().Unix()
	err := withTx(ctx, s.presence.W, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO presence(user, status, updated_ts) VALUES (?, ?, ?)
			ON CONFLICT(user) DO UPDATE SET status = excluded.status, updated_ts = excluded.updated_ts`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, c := range changes {
			if _, err := st.ExecContext(ctx, c.User, c.Presence, now); err != nil {
				return err
			}
		}
		return nil
	})
	return opErr("set presence", err)
}

// Presences returns every recorded status.
func (s *Store) Presences(ctx context.Context) (map[string]string, error) {
	rows, err := s.presence.R.QueryContext(ctx, "SELECT user, status FROM presence")
	if err != nil {
		return nil, opErr("presences", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var u, st string
		if err := rows.Scan(&u, &st); err != nil {
			return nil, opErr("presences", err)
		}
		out[u] = st
	}
	return out, opErr("presences", rows.Err())
}

// SetTyping records that user is typing in conversation.
func (s *Store) SetTyping(ctx context.Context, user, conversation string) error {
	now := s.Now().Unix()
	s.typingMu.Lock()
	s.typing[user] = true
	s.typingMu.Unlock()
	err := s.fanout.groupWrite(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO typing(user, conversation, updated_ts) VALUES (?, ?, ?)
			ON CONFLICT(user, conversation) DO UPDATE SET updated_ts = excluded.updated_ts`, user, conversation, now)
		return err
	})
	return opErr("set typing", err)
}

// ClearTyping removes user's typing rows (when they send, or disconnect). Every post calls
// it and most senders were not typing: for them it costs neither a turn of presence.db's
// single writer, which the message journal's commits wait for, nor a query (one was 17 % of
// a post's CPU at 500 posts/s). Store.typing knows who may have rows: SetTyping adds the
// user before its write, and the table is emptied when the store opens.
func (s *Store) ClearTyping(ctx context.Context, user string) error {
	s.typingMu.Lock()
	typing := s.typing[user]
	delete(s.typing, user)
	s.typingMu.Unlock()
	if !typing {
		return nil
	}
	_, err := s.presence.W.ExecContext(ctx, "DELETE FROM typing WHERE user = ?", user)
	if err != nil {
		// The rows may still be there: the next call tries again.
		s.typingMu.Lock()
		s.typing[user] = true
		s.typingMu.Unlock()
	}
	return opErr("clear typing", err)
}

// MarkRead records that reader has read conversation up to messageID (never moving back).
// Like the other small presence.db writes it shares the journal's group commit: many readers
// marking messages read cost one fsync, not one each.
func (s *Store) MarkRead(ctx context.Context, reader, conversation, messageID string) error {
	now := s.Now().Unix()
	err := s.fanout.groupWrite(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO read_receipts(reader, conversation, message_id, read_ts) VALUES (?, ?, ?, ?)
			ON CONFLICT(reader, conversation) DO UPDATE SET message_id = excluded.message_id, read_ts = excluded.read_ts
			WHERE excluded.message_id > read_receipts.message_id`, reader, conversation, messageID, now)
		return err
	})
	return opErr("mark read", err)
}

// LastRead returns reader's last-read message per conversation.
func (s *Store) LastRead(ctx context.Context, reader string) (map[string]string, error) {
	rows, err := s.presence.R.QueryContext(ctx, "SELECT conversation, message_id FROM read_receipts WHERE reader = ?", reader)
	if err != nil {
		return nil, opErr("last read", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, m string
		if err := rows.Scan(&c, &m); err != nil {
			return nil, opErr("last read", err)
		}
		out[c] = m
	}
	return out, opErr("last read", rows.Err())
}

// Receipts returns the read receipts of conversation.
func (s *Store) Receipts(ctx context.Context, conversation string) ([]chat.Receipt, error) {
	rows, err := s.presence.R.QueryContext(ctx, "SELECT reader, message_id, read_ts FROM read_receipts WHERE conversation = ? ORDER BY reader", conversation)
	if err != nil {
		return nil, opErr("receipts", err)
	}
	defer rows.Close()
	var out []chat.Receipt
	for rows.Next() {
		var r chat.Receipt
		if err := rows.Scan(&r.Reader, &r.MessageID, &r.ReadTS); err != nil {
			return nil, opErr("receipts", err)
		}
		out = append(out, r)
	}
	return out, opErr("receipts", rows.Err())
}

// SetReaction adds (on) or removes a reaction and reports whether anything changed.
func (s *Store) SetReaction(ctx context.Context, conversation, messageID, reactor, emoji string, on bool) (bool, error) {
	now := s.Now().Unix()
	var n int64
	err := s.fanout.groupWrite(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if on {
			res, err = tx.Exec(`INSERT OR IGNORE INTO message_reactions(message_id, conversation, reactor, emoji, created_ts)
				VALUES (?, ?, ?, ?, ?)`, messageID, conversation, reactor, emoji, now)
		} else {
			res, err = tx.Exec("DELETE FROM message_reactions WHERE message_id = ? AND reactor = ? AND emoji = ?", messageID, reactor, emoji)
		}
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, opErr("set reaction", err)
}

// Reactions returns the reactions of the given messages.
func (s *Store) Reactions(ctx context.Context, ids []string) (map[string][]chat.Reaction, error) {
	out := map[string][]chat.Reaction{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.presence.R.QueryContext(ctx, `SELECT message_id, emoji, reactor FROM message_reactions
		WHERE message_id IN (?`+strings.Repeat(",?", len(ids)-1)+`) ORDER BY message_id, created_ts, emoji, reactor`, args...)
	if err != nil {
		return nil, opErr("reactions", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, emoji, reactor string
		if err := rows.Scan(&id, &emoji, &reactor); err != nil {
			return nil, opErr("reactions", err)
		}
		list := out[id]
		found := false
		for i := range list {
			if list[i].Emoji == emoji {
				list[i].Users = append(list[i].Users, reactor)
				found = true
				break
			}
		}
		if !found {
			list = append(list, chat.Reaction{Emoji: emoji, Users: []string{reactor}})
		}
		out[id] = list
	}
	return out, opErr("reactions", rows.Err())
}

// JoinCall records connection conn of user as a participant of conversation's call.
func (s *Store) JoinCall(ctx context.Context, conversation, user, conn string) error {
	_, err := s.presence.W.ExecContext(ctx, `INSERT INTO call_participants(conversation, username, conn, joined_ts) VALUES (?, ?, ?, ?)
		ON CONFLICT(conversation, conn) DO UPDATE SET username = excluded.username, joined_ts = excluded.joined_ts`,
		conversation, user, conn, s.Now().Unix())
	return opErr("join call", err)
}

// LeaveCall removes connection conn from conversation's call.
func (s *Store) LeaveCall(ctx context.Context, conversation, conn string) error {
	_, err := s.presence.W.ExecContext(ctx, "DELETE FROM call_participants WHERE conversation = ? AND conn = ?", conversation, conn)
	return opErr("leave call", err)
}

// LeaveCalls removes connection conn from every call it is in and returns those calls'
// conversations. Every closing connection calls it and most were in no call: those cost a
// read, not a write (a commit of presence.db waits for fsync).
func (s *Store) LeaveCalls(ctx context.Context, conn string) ([]string, error) {
	convs, err := queryStrings(ctx, s.presence.R, "SELECT conversation FROM call_participants WHERE conn = ?", conn)
	if err != nil || len(convs) == 0 {
		return nil, opErr("leave calls", err)
	}
	convs, err = queryStrings(ctx, s.presence.W, "DELETE FROM call_participants WHERE conn = ? RETURNING conversation", conn)
	return convs, opErr("leave calls", err)
}

// CallParticipants lists the connections in conversation's call, in the order they joined.
func (s *Store) CallParticipants(ctx context.Context, conversation string) ([]chat.CallParticipant, error) {
	rows, err := s.presence.R.QueryContext(ctx, "SELECT username, conn FROM call_participants WHERE conversation = ? ORDER BY joined_ts, rowid", conversation)
	if err != nil {
		return nil, opErr("call participants", err)
	}
	defer rows.Close()
	out := []chat.CallParticipant{}
	for rows.Next() {
		var p chat.CallParticipant
		if err := rows.Scan(&p.User, &p.Conn); err != nil {
			return nil, opErr("call participants", err)
		}
		out = append(out, p)
	}
	return out, opErr("call participants", rows.Err())
}
