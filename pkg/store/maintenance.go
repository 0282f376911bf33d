package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/fsutil"
	"github.com/minimost/minimost/pkg/progress"
)

// DBResult is the outcome of a maintenance operation on one database.
type DBResult = chat.DBResult

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

// eachDB runs fn on each target database; path is the database file's absolute path.
func (s *Store) eachDB(ctx context.Context, users []string, fn func(db *sql.DB, path string) (string, bool, error)) ([]DBResult, error) {
	ts, err := s.targets(users)
	if err != nil {
		return nil, err
	}
	out := make([]DBResult, 0, len(ts))
	pr := progress.Start(ctx, "databases", len(ts))
	for _, t := range ts {
		r := DBResult{Path: t.rel}
		path := filepath.Join(s.dir, filepath.FromSlash(t.rel))
		err := t.with(ctx, func(db *sql.DB) error {
			var err error
			r.Detail, r.OK, err = fn(db, path)
			return err
		})
		if err != nil {
			r.OK, r.Detail = false, err.Error()
		}
		out = append(out, r)
		pr.Add(t.rel, fileSize(path))
	}
	return out, nil
}

// IntegrityCheck runs PRAGMA integrity_check on every database.
func (s *Store) IntegrityCheck(ctx context.Context) ([]DBResult, error) {
	res, err := s.eachDB(ctx, nil, func(db *sql.DB, _ string) (string, bool, error) {
		d, err := integrityCheck(ctx, db)
		return d, d == "ok", err
	})
	return res, opErr("integrity check", err)
}

func integrityCheck(ctx context.Context, db *sql.DB) (string, error) {
	lines, err := queryStrings(ctx, db, "PRAGMA main.integrity_check")
	return strings.Join(lines, "; "), err
}

// IntegrityCheckFile runs PRAGMA integrity_check on a database file that the store does not
// serve, such as one in a backup. The file is opened read-only and immutable, so nothing is
// written beside it (no -wal or -shm).
func IntegrityCheckFile(ctx context.Context, path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("immutable", "1")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	return integrityCheck(ctx, db)
}

// walSize returns the size of path's -wal file, 0 when there is none.
func walSize(path string) int64 {
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Checkpoint runs PRAGMA wal_checkpoint(TRUNCATE) on the named users' databases, or on all,
// and reports what it did in terms an admin checks with ls: the -wal file's size before and
// after, and how many frames the WAL held. (SQLite counts frames since the WAL was last
// reset; a WAL that an automatic checkpoint had already copied back has frames but nothing
// left to copy, which a bare "0 frames checkpointed" misreports as nothing done.)
func (s *Store) Checkpoint(ctx context.Context, users []string) ([]DBResult, error) {
	res, err := s.eachDB(ctx, users, func(db *sql.DB, path string) (string, bool, error) {
		before := walSize(path)
		busy, frames, err := checkpointTruncate(ctx, db)
		if err != nil {
			return "", false, err
		}
		after := walSize(path)
		if busy {
			return fmt.Sprintf("busy: a reader kept the checkpoint from finishing (WAL %s); try again", progress.Bytes(after)), false, nil
		}
		return fmt.Sprintf("ok (WAL %s -> %s, %d frames)", progress.Bytes(before), progress.Bytes(after), frames), true, nil
	})
	return res, opErr("checkpoint", err)
}

// checkpointTruncate copies the WAL back into the database and truncates it to 0 bytes.
func checkpointTruncate(ctx context.Context, db *sql.DB) (busy bool, frames int, err error) {
	var b, logFrames, ckpt int
	if err := db.QueryRowContext(ctx, "PRAGMA main.wal_checkpoint(TRUNCATE)").Scan(&b, &logFrames, &ckpt); err != nil {
		return false, 0, err
	}
	return b != 0, max(logFrames, 0), nil
}

// CheckpointIdle truncates the WAL of every database that has not been written for quiet:
// a -wal file that is not empty and whose modification time is older than now-quiet is
// checkpointed with TRUNCATE, so that thousands of idle users do not each keep megabytes of
// WAL on disk. It returns how many it truncated and the bytes freed. The daemon runs it
// periodically; a database in use is simply waited for (it has one connection).
func (s *Store) CheckpointIdle(ctx context.Context, quiet time.Duration) (n int, freed int64, err error) {
	ts, err := s.targets(nil)
	if err != nil {
		return 0, 0, opErr("checkpoint idle", err)
	}
	cutoff := s.Now().Add(-quiet)
	for _, t := range ts {
		if err := ctx.Err(); err != nil {
			return n, freed, err
		}
		path := filepath.Join(s.dir, filepath.FromSlash(t.rel))
		fi, err := os.Stat(path + "-wal")
		if err != nil || fi.Size() == 0 || fi.ModTime().After(cutoff) {
			continue
		}
		werr := t.with(ctx, func(db *sql.DB) error {
			busy, _, err := checkpointTruncate(ctx, db)
			if err == nil && !busy {
				n++
				freed += fi.Size() - walSize(path)
			}
			return err
		})
		if werr != nil && chat.ErrorCode(werr) != chat.ENotFound {
			s.Logger.Warn("idle checkpoint", "db", t.rel, "err", werr)
		}
	}
	return n, freed, nil
}

// Vacuum runs VACUUM on the named users' databases, or on all.
func (s *Store) Vacuum(ctx context.Context, users []string) ([]DBResult, error) {
	res, err := s.eachDB(ctx, users, func(db *sql.DB, _ string) (string, bool, error) {
		if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
			return "", false, err
		}
		return "ok", true, nil
	})
	return res, opErr("vacuum", err)
}

// Snapshot writes a consistent copy of every database into dir (users/*.db, presence.db,
// auth.db) with VACUUM INTO a temporary file, synced and renamed. While it runs, finished
// operations stay in the journal, and presence.db (the journal) is copied after the user
// databases: every acknowledged message is then either in every recipient's copy or still in
// the copied journal, and a daemon started on the backup replays it (idempotently).
func (s *Store) Snapshot(ctx context.Context, dir string) ([]string, error) {
	written, err := s.snapshot(ctx, dir)
	return written, opErr("snapshot", err)
}

func (s *Store) snapshot(ctx context.Context, dir string) ([]string, error) {
	// Copies acknowledged but still waiting in the fan-out's queues (which linger to batch
	// them) are written first: the users' databases in the snapshot then hold every message
	// acknowledged before it began, and the journal they came from is not needed to read them.
	if err := s.fanout.flush(ctx); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "users"), 0o755); err != nil {
		return nil, err
	}
	var written []string
	var pr *progress.Counter
	snap := func(rel string, db *sql.DB) error {
		dst := filepath.Join(dir, rel)
		tmp := dst + ".tmp"
		os.Remove(tmp)
		if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("snapshot %s: %w", rel, err)
		}
		if err := syncFile(tmp); err != nil {
			return fmt.Errorf("snapshot %s: %w", rel, err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			return fmt.Errorf("snapshot %s: %w", rel, err)
		}
		written = append(written, rel)
		pr.Add(rel, fileSize(dst))
		return nil
	}
	release := s.fanout.holdRemovals()
	defer release()
	names, err := s.UserDBNames()
	if err != nil {
		return written, err
	}
	pr = progress.Start(ctx, "databases", len(names)+2)
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
	// Best effort, as some file systems refuse to fsync a directory.
	for _, d := range []string{dir, filepath.Join(dir, "users")} {
		fsutil.SyncDir(d)
	}
	return written, nil
}

// syncFile fsyncs a file that no database connection has open (see syncWAL).
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// MessageCounts returns the number of visible (deleted=0) messages in each users/*.db, once
// the copies of everything acknowledged before the call are written there (so the counts
// agree with sqlite3 run on the files afterwards).
func (s *Store) MessageCounts(ctx context.Context) (map[string]int64, error) {
	if err := s.fanout.flush(ctx); err != nil {
		return nil, opErr("message counts", err)
	}
	names, err := s.UserDBNames()
	if err != nil {
		return nil, opErr("message counts", err)
	}
	out := map[string]int64{}
	for _, u := range names {
		var n int64
		err := s.withUserDB(ctx, u, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, "SELECT COUNT(*) FROM messages WHERE deleted=0").Scan(&n)
		})
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			return nil, opErr("message counts", fmt.Errorf("users/%s.db: %w", u, err))
		}
		out[u] = n
	}
	return out, nil
}

// MessageCleanupBatch is how many rows one transaction of message cleanup deletes, so that
// the chat's writes get the database between batches.
const MessageCleanupBatch = 500

// cleanupFlushWait bounds how long message cleanup waits for the fan-out to apply what is
// queued before it starts (see DeleteMessagesOlderThan).
const cleanupFlushWait = 5 * time.Second

// DeleteMessagesOlderThan removes (or, with dryRun, counts) the messages whose sent_ts is
// before cutoff in every users/*.db, in batches. It returns the rows per user.
//
// A removed message must not come back, from the journal or after a power loss: the fan-out
// first applies what is queued (so no old copy lands after its database was cleaned), then
// the journal rows of puts older than cutoff are dropped (a crash from then on cannot replay
// them), and each database is fsynced after its rows are deleted.
func (s *Store) DeleteMessagesOlderThan(ctx context.Context, cutoff time.Time, dryRun bool) (map[string]int64, error) {
	out, err := s.deleteMessagesOlderThan(ctx, cutoff, dryRun)
	return out, opErr("clean up messages", err)
}

func (s *Store) deleteMessagesOlderThan(ctx context.Context, cutoff time.Time, dryRun bool) (map[string]int64, error) {
	c := cutoff.Unix()
	if !dryRun {
		// Bounded: a user database failing for a while must not stop retention. What is
		// still queued then was sent after cutoff anyway, unless it has been failing for
		// the whole retention period.
		fctx, cancel := context.WithTimeout(ctx, cleanupFlushWait)
		err := s.fanout.flush(fctx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if _, err := s.fanout.dropPuts(ctx, "sent_ts < ?", c); err != nil {
			return nil, err
		}
	}
	names, err := s.UserDBNames()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	pr := progress.Start(ctx, "databases", len(names))
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
					break
				}
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if n == 0 {
				return nil
			}
			// User databases are synchronous=NORMAL: make the deletion durable now.
			return s.fanout.syncUser(u)
		})
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			return out, fmt.Errorf("clean users/%s.db: %w", u, err)
		}
		if n > 0 {
			out[u] = n
		}
		pr.Add("users/"+u+".db", fileSize(s.userDBPath(u)))
	}
	return out, nil
}

// fileSize is the size of the file at path, 0 if it cannot be read; for progress reports.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
