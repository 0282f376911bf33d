package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// DBResult is the outcome of a maintenance operation on one database.
type DBResult struct {
	Path   string // relative to the data directory
	OK     bool
	Detail string
}

// target is one database a maintenance operation runs on.
type target struct {
	rel  string
	with func(context.Context, func(*sql.DB) error) error
}

// targets returns auth.db, presence.db and users/*.db, or only the named users' databases.
func (s *Store) targets(users []string) ([]target, error) {
	var out []target
	if len(users) == 0 {
		out = append(out,
			target{"auth.db", func(ctx context.Context, fn func(*sql.DB) error) error { return fn(s.auth.W) }},
			target{"presence.db", func(ctx context.Context, fn func(*sql.DB) error) error { return fn(s.presence.W) }},
		)
		var err error
		if users, err = s.UserDBNames(); err != nil {
			return nil, err
		}
	} else {
		for _, u := range users {
			if err := chat.ValidateUsername(u); err != nil && !chat.IsReserved(u) {
				return nil, chat.Errorf(chat.EInvalid, "invalid username %q", u)
			}
			if _, err := os.Stat(s.userDBPath(u)); err != nil {
				return nil, chat.Errorf(chat.ENotFound, "no database users/%s.db", u)
			}
		}
	}
	for _, u := range users {
		u := u
		out = append(out, target{"users/" + u + ".db", func(ctx context.Context, fn func(*sql.DB) error) error {
			return s.withUserDB(ctx, u, fn)
		}})
	}
	return out, nil
}

func (s *Store) eachDB(ctx context.Context, users []string, fn func(*sql.DB) (string, bool, error)) ([]DBResult, error) {
	ts, err := s.targets(users)
	if err != nil {
		return nil, err
	}
	out := make([]DBResult, 0, len(ts))
	for _, t := range ts {
		r := DBResult{Path: t.rel}
		err := t.with(ctx, func(db *sql.DB) error {
			var err error
			r.Detail, r.OK, err = fn(db)
			return err
		})
		if err != nil {
			r.OK, r.Detail = false, err.Error()
		}
		out = append(out, r)
	}
	return out, nil
}

// IntegrityCheck runs PRAGMA integrity_check on every database.
func (s *Store) IntegrityCheck(ctx context.Context) ([]DBResult, error) {
	return s.eachDB(ctx, nil, func(db *sql.DB) (string, bool, error) {
		rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
		if err != nil {
			return "", false, err
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var l string
			rows.Scan(&l)
			lines = append(lines, l)
		}
		d := strings.Join(lines, "; ")
		return d, d == "ok", rows.Err()
	})
}

// Checkpoint runs PRAGMA wal_checkpoint(TRUNCATE) on the named users' databases, or on all.
func (s *Store) Checkpoint(ctx context.Context, users []string) ([]DBResult, error) {
	return s.eachDB(ctx, users, func(db *sql.DB) (string, bool, error) {
		var busy, logFrames, ckpt int
		if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &ckpt); err != nil {
			return "", false, err
		}
		if busy != 0 {
			return "busy: a reader kept the checkpoint from finishing; try again", false, nil
		}
		return fmt.Sprintf("ok (%d frames checkpointed)", ckpt), true, nil
	})
}

// Vacuum runs VACUUM on the named users' databases, or on all.
func (s *Store) Vacuum(ctx context.Context, users []string) ([]DBResult, error) {
	return s.eachDB(ctx, users, func(db *sql.DB) (string, bool, error) {
		if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
			return "", false, err
		}
		return "ok", true, nil
	})
}

// Snapshot writes a consistent copy of every database into dir (users/*.db, presence.db,
// auth.db) with VACUUM INTO a temporary file, synced and renamed. While it runs, finished
// operations stay in the journal, and presence.db (the journal) is copied after the user
// databases: every acknowledged message is then either in every recipient's copy or still in
// the copied journal, and a daemon started on the backup replays it (idempotently).
func (s *Store) Snapshot(ctx context.Context, dir string) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "users"), 0o755); err != nil {
		return nil, err
	}
	var written []string
	snap := func(rel string, db *sql.DB) error {
		dst := filepath.Join(dir, rel)
		tmp := dst + ".tmp"
		os.Remove(tmp)
		if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("snapshot %s: %w", rel, err)
		}
		if err := syncFile(tmp); err != nil {
			return err
		}
		if err := os.Rename(tmp, dst); err != nil {
			return err
		}
		written = append(written, rel)
		return nil
	}
	release := s.fanout.holdRemovals()
	defer release()
	names, err := s.UserDBNames()
	if err != nil {
		return written, err
	}
	for _, u := range names {
		err := s.withUserDB(ctx, u, func(db *sql.DB) error { return snap("users/"+u+".db", db) })
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			return written, err
		}
	}
	if err := snap("presence.db", s.presence.R); err != nil {
		return written, err
	}
	if err := snap("auth.db", s.auth.R); err != nil {
		return written, err
	}
	for _, d := range []string{dir, filepath.Join(dir, "users")} {
		if f, err := os.Open(d); err == nil {
			f.Sync()
			f.Close()
		}
	}
	return written, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// MessageCounts returns the number of visible (deleted=0) messages in each users/*.db.
func (s *Store) MessageCounts(ctx context.Context) (map[string]int64, error) {
	names, err := s.UserDBNames()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, u := range names {
		var n int64
		err := s.withUserDB(ctx, u, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, "SELECT COUNT(*) FROM messages WHERE deleted=0").Scan(&n)
		})
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			return nil, err
		}
		out[u] = n
	}
	return out, nil
}

// MessageCleanupBatch is how many rows one transaction of message cleanup deletes, so that
// the chat's writes get the database between batches.
const MessageCleanupBatch = 500

// DeleteMessagesOlderThan removes (or, with dryRun, counts) the messages whose sent_ts is
// before cutoff in every users/*.db, in batches. It returns the rows per user.
func (s *Store) DeleteMessagesOlderThan(ctx context.Context, cutoff time.Time, dryRun bool) (map[string]int64, error) {
	names, err := s.UserDBNames()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	c := cutoff.Unix()
	for _, u := range names {
		var n int64
		err := s.withUserDB(ctx, u, func(db *sql.DB) error {
			if dryRun {
				return db.QueryRowContext(ctx, "SELECT COUNT(*) FROM messages WHERE sent_ts < ?", c).Scan(&n)
			}
			for {
				res, err := db.ExecContext(ctx, "DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages WHERE sent_ts < ? LIMIT ?)", c, MessageCleanupBatch)
				if err != nil {
					return err
				}
				k, _ := res.RowsAffected()
				n += k
				if k < MessageCleanupBatch {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		})
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			return out, fmt.Errorf("clean users/%s.db: %w", u, err)
		}
		if n > 0 {
			out[u] = n
		}
	}
	return out, nil
}
