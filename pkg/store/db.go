package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrationsFS embed.FS

// JournalSizeLimit is every connection's PRAGMA journal_size_limit, in bytes.
const JournalSizeLimit = 256 << 10

// UserDBCacheKiB is each user database connection's page cache (PRAGMA cache_size), in KiB,
// instead of SQLite's 2,000 KiB. The handle cache keeps up to MaxOpenUserDBs of them open,
// and the allocator of this SQLite (modernc.org/memory) gives each 4 KiB page, with SQLite's
// header, an 8 KiB slot: a full default cache holds 4 MiB of RSS, 8 GiB over 2,048 handles.
// A user database is written at its end and read mostly there (the newest pages of
// history), which a small cache holds; while a cache grows every new page is fresh memory
// the kernel has to fault in (15 % of the daemon's CPU with a channel of 1,000 members at
// 50 messages/s), and a full cache reuses its pages instead.
const UserDBCacheKiB = 256

// dsn builds a modernc.org/sqlite DSN. Pragmas go in the DSN so every pooled connection gets
// them; _txlock=immediate makes BEGIN take the write lock up front, so two writers never
// deadlock upgrading read locks.
func dsn(path string, create bool, sync string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	// After a checkpoint resets the WAL, SQLite truncates the -wal file to this size rather
	// than keeping it at its high-water mark (4 MiB and more) for ever.
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", JournalSizeLimit))
	q.Set("_txlock", "immediate")
	if !create {
		q.Set("mode", "rw")
	}
	return "file:" + path + "?" + q.Encode()
}

// openDB opens one SQLite file with maxConns pooled connections and applies the migrations
// of kind ("auth", "presence" or "user").
func openDB(ctx context.Context, path, kind string, create bool, maxConns int, sync string) (*sql.DB, error) {
	return openDBAttached(ctx, path, kind, create, maxConns, sync, "")
}

// openDBAttached is openDB, with the fan-out's staging database (stagingURI, see
// fanoutStaging) attached to every connection when stagingURI is not "".
func openDBAttached(ctx context.Context, path, kind string, create bool, maxConns int, sync, stagingURI string) (*sql.DB, error) {
	d := dsn(path, create, sync)
	if kind == "user" {
		d += "&_pragma=" + url.QueryEscape(fmt.Sprintf("cache_size(%d)", -UserDBCacheKiB))
	}
	var db *sql.DB
	if stagingURI == "" {
		var err error
		if db, err = sql.Open("sqlite", d); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	} else {
		conn, err := sqlite.NewConnector(d)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		db = sql.OpenDB(stagingConnector{conn, stagingURI})
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(0)
	if err := migrate(ctx, db, kind); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return db, nil
}

// migrate applies migrations/<kind>/NNNN_*.sql in order, tracked by PRAGMA user_version, each
// in one transaction with the version bump.
func migrate(ctx context.Context, db *sql.DB, kind string) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	entries, err := fs.ReadDir(migrationsFS, "migrations/"+kind)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		n, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %q: bad name", name)
		}
		if n <= version {
			continue
		}
		script, err := migrationsFS.ReadFile("migrations/" + kind + "/" + name)
		if err != nil {
			return err
		}
		// A user database's connection has the fan-out's staging database attached, whose
		// lock every BEGIN IMMEDIATE would take too (see fanout.write): its migration begins
		// deferred, and its first statement, a write, takes the file's write lock.
		var opts *sql.TxOptions
		if kind == "user" {
			opts = &sql.TxOptions{ReadOnly: true}
		}
		tx, err := db.BeginTx(ctx, opts)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(script)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		version = n
	}
	return nil
}

// pair is one database file with a single-connection writer and a pool of readers.
type pair struct {
	path string
	W    *sql.DB
	R    *sql.DB

	// prepared holds R's statements for the queries run on every request (readStmt).
	mu       sync.Mutex
	prepared map[string]*sql.Stmt
}

// readStmt returns query prepared on R, preparing it on first use. For a query run on every
// request or WebSocket frame (the session's lookup), parsing it again each time was half of
// its cost. database/sql prepares the statement again on each of R's connections that runs
// it, and keeps it there.
func (p *pair) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.prepared[query]; st != nil {
		return st, nil
	}
	st, err := p.R.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if p.prepared == nil {
		p.prepared = map[string]*sql.Stmt{}
	}
	p.prepared[query] = st
	return st, nil
}

func openPair(ctx context.Context, path, kind, sync string) (*pair, error) {
	w, err := openDB(ctx, path, kind, true, 1, sync)
	if err != nil {
		return nil, err
	}
	r, err := openDB(ctx, path, kind, false, 4, sync)
	if err != nil {
		w.Close()
		return nil, err
	}
	return &pair{path: path, W: w, R: r}, nil
}

func (p *pair) Close() error {
	p.mu.Lock()
	for _, st := range p.prepared {
		st.Close()
	}
	p.prepared = nil
	p.mu.Unlock()
	err1 := p.R.Close()
	// A last checkpoint on close leaves a small WAL for the admin's tools.
	p.W.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	err2 := p.W.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// opErr prefixes err with the store operation that failed ("store: post message: ..."). It
// wraps with %w, so errors.Is and errors.As (chat.ErrorCode) still find what is inside, a
// *chat.Error in particular, whose Message is what a client is shown.
func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// errFsync marks an fsync that failed (as opposed to a file that could not be opened). After
// a failed fsync the kernel may have dropped the pages it could not write, so a later fsync of
// the same file can succeed without them: what the failed one covered is not durable.
var errFsync = errors.New("fsync failed")

// syncWAL makes every transaction committed so far to the WAL-mode database at path durable,
// whatever its synchronous setting: it fsyncs path-wal, where those commits are. A commit
// that is no longer there went into the database file with a checkpoint, which SQLite
// fsyncs itself, as it does before removing the WAL file when the last connection closes;
// a missing file therefore needs nothing.
//
// Only the -wal file is opened. SQLite holds POSIX (fcntl) locks on the database file, and
// closing any descriptor of that file in this process would drop them.
func syncWAL(path string) error {
	f, err := os.OpenFile(path+"-wal", os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: %w", errFsync, err)
	}
	return nil
}

// withTx runs fn in a write transaction on db.
func withTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	return withTxOpts(ctx, db, nil, fn)
}

// withReadTx runs fn in a transaction that begins as a read (BEGIN DEFERRED: no write lock,
// so it does not wait for a writer) and becomes a write at fn's first write, if any; that
// write fails at once (SQLITE_BUSY_SNAPSHOT) if another connection wrote since fn's first
// read.
func withReadTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	return withTxOpts(ctx, db, &sql.TxOptions{ReadOnly: true}, fn)
}

func withTxOpts(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// queryStrings runs a query of one text column and returns the values.
func queryStrings(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
