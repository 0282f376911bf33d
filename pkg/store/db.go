package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrationsFS embed.FS

// dsn builds a modernc.org/sqlite DSN. Pragmas go in the DSN so every pooled connection gets
// them; _txlock=immediate makes BEGIN take the write lock up front, so two writers never
// deadlock upgrading read locks.
func dsn(path string, create bool, sync string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	if !create {
		q.Set("mode", "rw")
	}
	return "file:" + path + "?" + q.Encode()
}

// openDB opens one SQLite file with maxConns pooled connections and applies the migrations
// of kind ("auth", "presence" or "user").
func openDB(ctx context.Context, path, kind string, create bool, maxConns int, sync string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, create, sync))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
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
		tx, err := db.BeginTx(ctx, nil)
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
	err1 := p.R.Close()
	// A last checkpoint on close leaves a small WAL for the admin's tools.
	p.W.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	err2 := p.W.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// withTx runs fn in a write transaction on db.
func withTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
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
