package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

const messageCols = `id, conversation, sender, body, html, sent_ts, sent_ms, edited_ts, deleted, mentions,
	thread_root, attachment_file, attachment_name, attachment_size, attachment_type, props`

func queryMessages(ctx context.Context, db *sql.DB, where string, args ...any) ([]chat.Message, error) {
	rows, err := db.QueryContext(ctx, "SELECT "+messageCols+" FROM messages "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []chat.Message
	for rows.Next() {
		var m chat.Message
		var deleted int
		var mentions string
		var af, an, at sql.NullString
		var as sql.NullInt64
		var props string
		if err := rows.Scan(&m.ID, &m.Conversation, &m.Sender, &m.Body, &m.HTML, &m.SentTS, &m.SentMS, &m.EditedTS,
			&deleted, &mentions, &m.ThreadRoot, &af, &an, &as, &at, &props); err != nil {
			return nil, err
		}
		m.Deleted = deleted == 1
		m.Mentions = mentionsList(mentions)
		m.Props = chat.DecodeProps(props)
		if af.Valid && af.String != "" {
			m.Attachment = &chat.Attachment{StoredName: af.String, Name: an.String, Size: as.Int64, Type: at.String}
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// PostMessage assigns m an id and send time, journals it for recipients and queues the
// fan-out. When it returns nil, m is durable and will reach every recipient's database.
func (s *Store) PostMessage(ctx context.Context, m *chat.Message, recipients []string) error {
	now := s.Now()
	m.ID = s.ids.New(now)
	m.SentTS = now.Unix()
	m.SentMS = now.UnixMilli()
	return opErr("post message", s.fanout.submit(ctx, &entry{op: opPut, msg: *m, recipients: recipients}))
}

// GetMessage returns message id of conversation from user's own copy, or ENotFound. It sees
// every write acknowledged before the call.
func (s *Store) GetMessage(ctx context.Context, user, conversation, id string) (chat.Message, error) {
	var out []chat.Message
	err := s.readMerged(ctx, user, func(c string) bool { return c == conversation }, func(db *sql.DB, pending []pendingOp) error {
		var err error
		out, err = queryMessages(ctx, db, "WHERE id = ? AND conversation = ?", id, conversation)
		out = mergePending(out, pending, func(m *chat.Message) bool { return m.ID == id }, 0)
		return err
	})
	if err != nil {
		return chat.Message{}, opErr("get message", err)
	}
	if len(out) == 0 {
		return chat.Message{}, opErr("get message", chat.Errorf(chat.ENotFound, "message not found"))
	}
	return out[0], nil
}

// EditMessage changes the body of m (already rendered by the caller) in every copy.
func (s *Store) EditMessage(ctx context.Context, m chat.Message, recipients []string) error {
	m.EditedTS = s.Now().Unix()
	return opErr("edit message", s.fanout.submit(ctx, &entry{op: opEdit, msg: m, recipients: recipients}))
}

// DeleteMessage marks message id deleted, and clears its text, in every copy. Like a post it
// is journaled before it returns, so a crash cannot undo it; an edit journaled before it and
// replayed after it changes nothing (edits skip deleted copies).
func (s *Store) DeleteMessage(ctx context.Context, conversation, id string, recipients []string) error {
	err := s.fanout.submit(ctx, &entry{op: opDelete, msg: chat.Message{ID: id, Conversation: conversation}, recipients: recipients})
	return opErr("delete message", err)
}

// readYourWritesWait bounds how long a read waits for the writes acknowledged before it
// (a variable for tests).
var readYourWritesWait = 3 * time.Second

// readYourWrites waits (up to readYourWritesWait) until every operation acknowledged before
// the call has reached user's database, so a read after a write sees it. If the fan-out is
// that far behind (a user database failing, say), the read fails with EUnavailable rather
// than answer without those writes; if ctx ends first, it returns ctx's error.
func (s *Store) readYourWrites(ctx context.Context, user string) error {
	wctx, cancel := context.WithTimeout(ctx, readYourWritesWait)
	defer cancel()
	err := s.fanout.waitUser(wctx, user)
	if err != nil && ctx.Err() == nil {
		return chat.Errorf(chat.EUnavailable, "recent messages are still being delivered; try again in a moment")
	}
	return err
}

// inChannelList is the SQL condition of a message shown in its conversation's list: not a
// thread reply, unless it was also sent to the channel (props "also_channel", as
// chat.EncodeProps writes it).
const inChannelList = `(thread_root = '' OR instr(props, '"also_channel":true') > 0)`

// History returns up to limit messages of conversation from user's copy, older than before
// ("" for the newest), oldest first, and whether older ones exist. Thread replies are not
// among them (Thread reads those) unless they were also sent to the channel.
func (s *Store) History(ctx context.Context, user, conversation, before string, limit int) ([]chat.Message, bool, error) {
	var out []chat.Message
	err := s.readMerged(ctx, user, func(c string) bool { return c == conversation }, func(db *sql.DB, pending []pendingOp) error {
		var err error
		if before == "" {
			out, err = queryMessages(ctx, db, "WHERE conversation = ? AND "+inChannelList+" ORDER BY id DESC LIMIT ?", conversation, limit+1)
		} else {
			out, err = queryMessages(ctx, db, "WHERE conversation = ? AND "+inChannelList+" AND id < ? ORDER BY id DESC LIMIT ?", conversation, before, limit+1)
		}
		// A queued message older than a full page's oldest cannot be on the page.
		floor := ""
		if len(out) > limit {
			floor = out[len(out)-1].ID
		}
		out = mergePending(out, pending, func(m *chat.Message) bool {
			return inChannel(m) && (before == "" || m.ID < before) && m.ID > floor
		}, limit+1)
		return err
	})
	if err != nil {
		return nil, false, opErr("history", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	slices.Reverse(out)
	return out, more, nil
}

// Search returns user's messages (in conversations listed in allowed, when not nil) whose
// body contains every word of q, newest first.
func (s *Store) Search(ctx context.Context, user, q string, limit int) ([]chat.Message, error) {
	words := strings.Fields(q)
	if len(words) == 0 {
		return nil, opErr("search", chat.Errorf(chat.EInvalid, "search for at least one word"))
	}
	if len(words) > 10 {
		words = words[:10]
	}
	where := "WHERE deleted = 0"
	args := []any{}
	for _, w := range words {
		where += ` AND body LIKE ? ESCAPE '\'`
		w = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(w)
		args = append(args, "%"+w+"%")
	}
	var out []chat.Message
	err := s.readMerged(ctx, user, nil, func(db *sql.DB, pending []pendingOp) error {
		// A queued edit or deletion can take a message out of the results: each one makes
		// room for one more from the database.
		n := limit
		for _, p := range pending {
			if p.op != opPut {
				n++
			}
		}
		var err error
		if out, err = queryMessages(ctx, db, where+" ORDER BY id DESC LIMIT ?", append(args, n)...); err != nil {
			return err
		}
		// A queued edit can also bring a message into them.
		if edited := editedIDs(pending, out); len(edited) > 0 {
			list, err := json.Marshal(edited)
			if err != nil {
				return err
			}
			more, err := queryMessages(ctx, db, "WHERE deleted = 0 AND id IN (SELECT value FROM json_each(?))", string(list))
			if err != nil {
				return err
			}
			out = append(out, more...)
		}
		out = mergePending(out, pending, func(*chat.Message) bool { return true }, 0)
		out = slices.DeleteFunc(out, func(m chat.Message) bool { return m.Deleted || !containsWords(m.Body, words) })
		switch {
		case len(out) == 0:
			out = nil // as a query that finds nothing
		case len(out) > limit:
			out = out[:limit]
		}
		return nil
	})
	if err != nil {
		return nil, opErr("search", err)
	}
	return out, nil
}

// editedIDs returns the ids of the messages pending edits and not among rows.
func editedIDs(pending []pendingOp, rows []chat.Message) []string {
	var ids []string
	for _, p := range pending {
		if p.op == opEdit && !slices.ContainsFunc(rows, func(m chat.Message) bool { return m.ID == p.msg.ID }) &&
			!slices.Contains(ids, p.msg.ID) {
			ids = append(ids, p.msg.ID)
		}
	}
	return ids
}

// containsWords reports whether body contains every word as the search's LIKE matches it:
// ignoring the case of ASCII letters only.
func containsWords(body string, words []string) bool {
	b := asciiLower(body)
	for _, w := range words {
		if !strings.Contains(b, asciiLower(w)) {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// ConversationStat is what the sidebar needs of one conversation in one user's copy.
type ConversationStat = chat.ConversationStat

// ConversationStats computes unread and mention counts of user's conversations, given the
// last message each has read (from read receipts). What it counted is kept in the user's
// unread_counts table, so that the next call reads only the messages that arrived since.
func (s *Store) ConversationStats(ctx context.Context, user string, convs []string, lastRead map[string]string) (map[string]ConversationStat, error) {
	out := make(map[string]ConversationStat, len(convs))
	asked := make(map[string]bool, len(convs))
	for _, c := range convs {
		asked[c] = true
	}
	err := s.readMergedHandle(ctx, user, func(c string) bool { return asked[c] }, func(u *userDB, pending []pendingOp) error {
		db := u.db
		// One transaction, so that the counts kept are those of what was read: no other
		// write to the file comes between. It begins as a read, and takes the write lock
		// only when there are new counts to keep. Keeping them is only a saving: when that
		// fails (a full disk, another process writing the file) after the counts were
		// made, the counts are still answered; when the transaction fails before, they are
		// counted again without what was kept.
		var counted bool
		var dv int64
		err := withReadTx(ctx, db, func(tx *sql.Tx) (err error) {
			counted, dv, err = countUnread(ctx, tx, u, user, convs, lastRead, out, true)
			return err
		})
		switch {
		case err == nil:
			u.unreadMu.Lock()
			u.dataVersion, u.dvKnown = dv, true
			u.unreadMu.Unlock()
		case counted:
			u.unreadUnknown()
			s.Logger.Warn("sidebar counts not kept", "user", user, "err", err)
		default:
			u.unreadUnknown()
			s.Logger.Warn("sidebar counts kept not usable: counting from scratch", "user", user, "err", err)
			if err := withReadTx(ctx, db, func(tx *sql.Tx) error {
				_, _, err := countUnread(ctx, tx, u, user, convs, lastRead, out, false)
				return err
			}); err != nil {
				return err
			}
		}
		byConv := map[string][]pendingOp{}
		for _, p := range pending {
			byConv[p.msg.Conversation] = append(byConv[p.msg.Conversation], p)
		}
		for c, p := range byConv {
			st := out[c]
			if err := pendingStats(ctx, db, user, c, lastRead[c], p, &st); err != nil {
				return err
			}
			out[c] = st
		}
		return nil
	})
	if err != nil {
		return nil, opErr("conversation stats", err)
	}
	return out, nil
}

// unreadCount is a row of unread_counts: the counts of the messages after lastRead, up to
// and including upto.
type unreadCount struct {
	lastRead, upto   string
	unread, mentions int
}

// countUnread fills out with the counts of convs in u, from what unread_counts kept for
// the same last read plus the messages after it, and keeps the new counts there. counted
// reports that out is complete (an error after that is one of keeping the counts); dv is
// the file's data_version the counts were made at. With keep false it reads and writes
// nothing of unread_counts: every count is made from scratch.
func countUnread(ctx context.Context, tx *sql.Tx, u *userDB, user string, convs []string, lastRead map[string]string, out map[string]ConversationStat, keep bool) (counted bool, dv int64, err error) {
	kept := map[string]unreadCount{}
	upto := map[string]string{}
	if keep {
		// Read first: the transaction's snapshot is taken here, and data_version below is
		// that snapshot's.
		rows, err := tx.QueryContext(ctx, "SELECT conversation, last_read, upto, unread, mentions FROM unread_counts")
		if err != nil {
			return false, 0, err
		}
		for rows.Next() {
			var c string
			var e unreadCount
			if err := rows.Scan(&c, &e.lastRead, &e.upto, &e.unread, &e.mentions); err != nil {
				rows.Close()
				return false, 0, err
			}
			kept[c] = e
			upto[c] = e.upto
		}
		if err := rows.Close(); err != nil {
			return false, 0, err
		}
		// Another process (the sqlite3 shell) wrote to the file since the last count: what
		// it changed may be among what was counted. The caller records dv once the
		// transaction has committed, so a failed one is looked at again.
		if err := tx.QueryRowContext(ctx, "PRAGMA data_version").Scan(&dv); err != nil {
			return false, 0, err
		}
		u.unreadMu.Lock()
		external := u.dvKnown && dv != u.dataVersion
		u.unreadMu.Unlock()
		if external {
			if _, err := tx.ExecContext(ctx, "DELETE FROM unread_counts"); err != nil {
				return false, 0, err
			}
			clear(kept)
			clear(upto)
		}
		defer func() {
			u.unreadMu.Lock()
			u.upto, u.uptoLoaded = upto, true
			u.unreadMu.Unlock()
		}()
	}
	var changed []string
	for _, c := range convs {
		var st ConversationStat
		var last sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT MAX(id) FROM messages WHERE conversation = ?", c).Scan(&last); err != nil {
			return false, 0, err
		}
		st.LastID = last.String
		out[c] = st
		if st.LastID == "" || st.LastID <= lastRead[c] {
			continue
		}
		from := lastRead[c]
		e, ok := kept[c]
		if ok && e.lastRead == lastRead[c] && e.upto <= st.LastID {
			if e.upto == st.LastID {
				st.Unread, st.Mentions = e.unread, e.mentions
				out[c] = st
				continue
			}
			st.Unread, st.Mentions, from = e.unread, e.mentions, max(e.upto, from)
		}
		// Thread replies are not in the conversation's own list (unless also sent there):
		// they count as unread only when they mention the user.
		var unread, mentions int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(`+inChannelList+`), 0),
			COALESCE(SUM(`+mentionsUserSQL+`), 0)
			FROM messages WHERE conversation = ? AND id > ? AND id <= ? AND deleted = 0 AND sender != ?`,
			user, c, from, st.LastID, user).Scan(&unread, &mentions); err != nil {
			return false, 0, err
		}
		st.Unread += unread
		st.Mentions += mentions
		out[c] = st
		changed = append(changed, c)
	}
	if !keep || len(changed) == 0 {
		return true, dv, nil
	}
	save, err := tx.PrepareContext(ctx, "INSERT OR REPLACE INTO unread_counts(conversation, last_read, upto, unread, mentions) VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		return true, dv, err
	}
	defer save.Close()
	for _, c := range changed {
		st := out[c]
		if _, err := save.ExecContext(ctx, c, lastRead[c], st.LastID, st.Unread, st.Mentions); err != nil {
			return true, dv, err
		}
		upto[c] = st.LastID
	}
	return true, dv, nil
}

// mentionsUserSQL is true for a message whose mentions name the user (the query's first
// parameter) or everyone.
const mentionsUserSQL = `instr(mentions, ' '||?||' ') > 0 OR instr(mentions, ' here ') > 0 OR instr(mentions, ' channel ') > 0 OR instr(mentions, ' all ') > 0`

// pendingStats corrects st, computed from the database alone, for the operations queued for
// conversation c: the messages they touch are read from the database, their share of the
// counts taken out, and the share they have once the operations are applied put back.
func pendingStats(ctx context.Context, db *sql.DB, user, c, lastRead string, pending []pendingOp, st *ConversationStat) error {
	var ids []string
	for _, p := range pending {
		if p.op == opPut && p.msg.ID > st.LastID {
			st.LastID = p.msg.ID
		}
		if p.msg.ID > lastRead {
			ids = append(ids, p.msg.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	rows, err := queryMessages(ctx, db, "WHERE conversation = ? AND id IN (SELECT value FROM json_each(?))", c, string(list))
	if err != nil {
		return err
	}
	count := func(rows []chat.Message, sign int) {
		for i := range rows {
			m := &rows[i]
			if m.ID <= lastRead || m.Deleted || m.Sender == user {
				continue
			}
			if inChannel(m) {
				st.Unread += sign
			}
			if mentionsUser(m.Mentions, user) {
				st.Mentions += sign
			}
		}
	}
	count(rows, -1)
	count(mergePending(rows, pending, func(m *chat.Message) bool { return m.ID > lastRead }, 0), +1)
	return nil
}

// mentionsUser is mentionsUserSQL for a message in memory.
func mentionsUser(mentions []string, user string) bool {
	for _, n := range mentions {
		if n == user || n == "here" || n == "channel" || n == "all" {
			return true
		}
	}
	return false
}

// UserConversations returns the ids of conversations present in user's copy (DMs among
// them), as recorded by the fan-out.
func (s *Store) UserConversations(ctx context.Context, user string) ([]string, error) {
	var out []string
	err := s.readMerged(ctx, user, nil, func(db *sql.DB, pending []pendingOp) error {
		var err error
		if out, err = queryStrings(ctx, db, "SELECT id FROM conversations ORDER BY added_ts, id"); err != nil {
			return err
		}
		// The fan-out records a conversation with its first copy there.
		n := len(out)
		for _, p := range pending {
			if p.op == opPut && !slices.Contains(out, p.msg.Conversation) {
				out = append(out, p.msg.Conversation)
			}
		}
		slices.Sort(out[n:])
		return nil
	})
	if err != nil {
		return nil, opErr("user conversations", err)
	}
	return out, nil
}

// AddUserConversation records that user takes part in conversation (a DM opened before any
// message), so it shows in the sidebar.
func (s *Store) AddUserConversation(ctx context.Context, user, conversation string) error {
	err := s.withUserDB(ctx, user, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, "INSERT OR IGNORE INTO conversations(id, added_ts) VALUES (?, ?)", conversation, s.Now().Unix())
		return err
	})
	return opErr("add user conversation", err)
}

// HasAttachment reports whether user's copy of conversation has a message with file stored.
func (s *Store) HasAttachment(ctx context.Context, user, conversation, stored string) (chat.Attachment, error) {
	var a chat.Attachment
	err := s.readMerged(ctx, user, func(c string) bool { return c == conversation }, func(db *sql.DB, pending []pendingOp) error {
		if len(pending) == 0 {
			// Every image of a history page asks: stop at the first message holding it.
			return db.QueryRowContext(ctx, `SELECT attachment_file, attachment_name, attachment_size, attachment_type
				FROM messages WHERE conversation = ? AND attachment_file = ? AND deleted = 0 LIMIT 1`, conversation, stored).
				Scan(&a.StoredName, &a.Name, &a.Size, &a.Type)
		}
		// The messages that hold the file, as the queue leaves them.
		rows, err := queryMessages(ctx, db, "WHERE conversation = ? AND attachment_file = ?", conversation, stored)
		if err != nil {
			return err
		}
		rows = mergePending(rows, pending, func(m *chat.Message) bool { return m.Attachment != nil && m.Attachment.StoredName == stored }, 0)
		for _, m := range rows {
			if !m.Deleted && m.Attachment != nil {
				a = *m.Attachment
				return nil
			}
		}
		return sql.ErrNoRows
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = chat.Errorf(chat.ENotFound, "file not found")
	}
	return a, opErr("attachment", err)
}

// unreadUnknown forgets what u knows of its unread_counts (after a transaction that may have
// changed it failed): the next write reads it again.
func (u *userDB) unreadUnknown() {
	u.unreadMu.Lock()
	u.uptoLoaded = false
	u.unreadMu.Unlock()
}

// unreadStale returns the conversations among ops' puts whose unread_counts entry counted
// up to a message at or after the put's (a history copy, two posts written out of order),
// and forgets their entries; the caller deletes them in its transaction.
func (u *userDB) unreadStale(ctx context.Context, tx *sql.Tx, ops []*entry) ([]string, error) {
	u.unreadMu.Lock()
	defer u.unreadMu.Unlock()
	if !u.uptoLoaded {
		rows, err := tx.QueryContext(ctx, "SELECT conversation, upto FROM unread_counts")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for rows.Next() {
			var c, upto string
			if err := rows.Scan(&c, &upto); err != nil {
				rows.Close()
				return nil, err
			}
			m[c] = upto
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		u.upto, u.uptoLoaded = m, true
	}
	var stale []string
	for _, e := range ops {
		c := e.msg.Conversation
		if upto, ok := u.upto[c]; ok && e.op == opPut && e.msg.ID <= upto {
			stale = append(stale, c)
			delete(u.upto, c)
		}
	}
	return stale, nil
}
