package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"unicode/utf8"

	"github.com/minimost/minimost/pkg/chat"
)

// The fan-out's staging database. A message going to many recipients is written once, with
// all its columns bound, into an in-memory table that every user database connection has
// attached; each recipient's batch then copies its staged messages from there with one
// INSERT … SELECT that binds only the list of their keys. Binding a copy's sixteen columns
// and stepping an INSERT for each copy, through database/sql, cost about as much as SQLite's
// own work for the row: with the 1,000-member channel at 50 messages/s the daemon's CPU per
// delivered copy went from 21.7 to 18.5 µs (medians of five runs), and four runs of five,
// against two, accepted every post (docs/performance.md, round 11).
//
// The table lives in a shared-cache in-memory database of this process, whose name is
// unique to the store (two stores in one process never share one). It holds each staged
// message from soon after its journal commit until the entry's last copy is committed
// (finishLocked, then syncRound deletes it); a copy made before the message is staged is
// written from the message itself. It is never on disk: after a crash, the
// journal's rows are staged again as they are replayed.
//
// Locks. In shared-cache mode SQLite locks per table, and a connection's write transaction
// on the shared database excludes every other connection's. The user database connections
// read with read_uncommitted, which takes no table locks, and nothing is read there before
// its insert has committed or after its delete. A BEGIN IMMEDIATE would start a write
// transaction on every attached database, the staging one included, so that every user
// database transaction and the staging writer would wait for each other: the fan-out's
// transactions, and the migrations of a new user database, begin deferred (their first
// statement on the user's file is a write, which takes its lock as IMMEDIATE would have).
// A statement reading the staging database holds its mutex while it runs, so the fan-out
// workers' copy statements run one at a time, and their commits (the WAL writes) in
// parallel. The staging writer, the stager (fanout.stageLoop), waits for that mutex too: it
// writes each journal group commit's messages with one statement (a JSON array of them),
// after they are acknowledged. Staged before the acknowledgement, posts queued behind the
// mutex (2.7 ms at the median and 145 ms at p99 with 1,000 members at 50 messages/s; with a
// statement per post at 500 messages/s, 2.8 s at the median).

// stagingSchema is the attached database's name on every user database connection.
const stagingSchema = "fanout_staging"

// minStagedRecipients is the least number of recipients for which a message is staged. A
// message to two or three (a direct message, a small group) is copied as before: staging it
// writes and deletes one more row, for two or three bound INSERTs saved (not measured).
const minStagedRecipients = 4

// stagedColumns are the columns a staged message is copied with, putFull's.
const stagedColumns = `id, conversation, sender, body, html, sent_ts, sent_ms, edited_ts, deleted,
	mentions, thread_root, attachment_file, attachment_name, attachment_size, attachment_type, props`

// putStagedSQL (putStaged) copies the staged messages whose keys are listed (a JSON array), in
// one statement.
const putStagedSQL = `INSERT OR IGNORE INTO main.messages(` + stagedColumns + `)
	SELECT ` + stagedColumns + ` FROM ` + stagingSchema + `.staged
	WHERE k IN (SELECT value FROM json_each(?))`

// stagingSeq makes each store's staging database name unique in the process.
var stagingSeq atomic.Uint64

// fanoutStaging is the staging database of one store.
type fanoutStaging struct {
	uri  string
	last atomic.Int64 // the last key given
	db   *sql.DB      // one connection: it keeps the in-memory database alive
	put  *sql.Stmt
	del  *sql.Stmt
}

func openStaging(ctx context.Context) (*fanoutStaging, error) {
	st := &fanoutStaging{uri: "file:minimost-fanout-staging-" + strconv.FormatUint(stagingSeq.Add(1), 10) + "?mode=memory&cache=shared"}
	db, err := sql.Open("sqlite", st.uri)
	if err != nil {
		return nil, fmt.Errorf("fan-out staging: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	st.db = db
	// A backlog's messages leave the table when their copies are written: with auto_vacuum
	// the pages they held go back to the allocator instead of staying in the database.
	if _, err := db.ExecContext(ctx, "PRAGMA auto_vacuum = FULL"); err != nil {
		st.close()
		return nil, fmt.Errorf("fan-out staging: %w", err)
	}
	// The columns have the types of users/<name>.db's messages table, so that a copy holds
	// what the INSERT of the row would have stored.
	if _, err := db.ExecContext(ctx, `CREATE TABLE staged (
		k               INTEGER PRIMARY KEY, -- fanoutStaging.last gives them
		id              TEXT NOT NULL,
		conversation    TEXT NOT NULL,
		sender          TEXT NOT NULL,
		body            TEXT NOT NULL,
		html            TEXT NOT NULL,
		sent_ts         INTEGER NOT NULL,
		sent_ms         INTEGER NOT NULL,
		edited_ts       INTEGER NOT NULL,
		deleted         INTEGER NOT NULL,
		mentions        TEXT NOT NULL,
		thread_root     TEXT NOT NULL,
		attachment_file TEXT,
		attachment_name TEXT,
		attachment_size INTEGER,
		attachment_type TEXT,
		props           TEXT NOT NULL)`); err != nil {
		st.close()
		return nil, fmt.Errorf("fan-out staging: %w", err)
	}
	// ?1 is the first key; ?2 a JSON array of the messages, each an array of the columns.
	if st.put, err = db.PrepareContext(ctx, `INSERT INTO staged(k, `+stagedColumns+`)
		SELECT ?1 + key, value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7,
			value->>8, value->>9, value->>10, value->>11, value->>12, value->>13, value->>14, value->>15
		FROM json_each(?2)`); err != nil {
		st.close()
		return nil, fmt.Errorf("fan-out staging: %w", err)
	}
	if st.del, err = db.PrepareContext(ctx, `DELETE FROM staged WHERE k IN (SELECT value FROM json_each(?))`); err != nil {
		st.close()
		return nil, fmt.Errorf("fan-out staging: %w", err)
	}
	return st, nil
}

// add stages msgs under new keys, never given before by this store (a journal seq can be,
// once its row is gone), in one statement, and returns their keys. One statement for many:
// the staging database's mutex, which the fan-out's copy statements hold while they run, is
// waited for once.
func (st *fanoutStaging) add(ctx context.Context, msgs []*chat.Message) ([]int64, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	rows := make([][]any, len(msgs))
	for i, m := range msgs {
		rows[i] = fullColumns(m)
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	first := st.last.Add(int64(len(msgs))) - int64(len(msgs)) + 1
	if _, err := st.put.ExecContext(ctx, first, string(js)); err != nil {
		return nil, err
	}
	keys := make([]int64, len(msgs))
	for i := range keys {
		keys[i] = first + int64(i)
	}
	return keys, nil
}

// stageable reports whether m's text goes through the staging statement's JSON unchanged:
// valid UTF-8 (json.Marshal would replace what is not).
func stageable(m *chat.Message) bool {
	for _, s := range []string{m.ID, m.Conversation, m.Sender, m.Body, m.HTML, m.ThreadRoot} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	if a := m.Attachment; a != nil && !(utf8.ValidString(a.StoredName) && utf8.ValidString(a.Name) && utf8.ValidString(a.Type)) {
		return false
	}
	for _, s := range m.Mentions {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return utf8.ValidString(chat.EncodeProps(m.Props))
}

// remove drops the staged messages of keys.
func (st *fanoutStaging) remove(ctx context.Context, keys []int64) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := st.del.ExecContext(ctx, keyList(keys))
	return err
}

func (st *fanoutStaging) close() error {
	if st.put != nil {
		st.put.Close()
	}
	if st.del != nil {
		st.del.Close()
	}
	return st.db.Close()
}

// keyList is keys as a JSON array, for json_each.
func keyList(keys []int64) string {
	b := make([]byte, 0, 8*len(keys)+2)
	b = append(b, '[')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, k, 10)
	}
	return string(append(b, ']'))
}

// stagingConnector attaches the staging database to every connection it opens, readable
// without table locks (read_uncommitted).
type stagingConnector struct {
	driver.Connector
	uri string
}

func (c stagingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("fan-out staging: the driver's connection cannot execute")
	}
	if _, err := ex.ExecContext(ctx, "ATTACH DATABASE ? AS "+stagingSchema, []driver.NamedValue{{Ordinal: 1, Value: c.uri}}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("fan-out staging: attach: %w", err)
	}
	if _, err := ex.ExecContext(ctx, "PRAGMA read_uncommitted = 1", nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("fan-out staging: %w", err)
	}
	return conn, nil
}
