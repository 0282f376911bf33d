package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/fsutil"
)

// DeleteUser deletes an account. mode "soft" re-attributes the user's messages to
// chat.DeletedUser in every database; "hard" deletes them from every database. Both remove the
// credentials, settings, sessions and reset tokens at once (in one transaction that also
// records the deletion as pending), then the avatar, users/<name>.db and the presence.db rows.
// A deletion interrupted by a crash is finished by the next Open.
func (s *Store) DeleteUser(ctx context.Context, name, mode string) error {
	if mode != "soft" && mode != "hard" {
		return chat.Errorf(chat.EInvalid, "mode must be soft or hard")
	}
	s.lifecycleMu.Lock()
	defer s.lifecycleMu.Unlock()
	err := withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		var avatar sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT s.avatar_file FROM users u LEFT JOIN user_settings s ON s.username = u.username
			WHERE u.username = ?`, name).Scan(&avatar)
		if errors.Is(err, sql.ErrNoRows) {
			return chat.Errorf(chat.ENotFound, "no such user %q", name)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO pending_deletions(username, mode, avatar_file, started_ts) VALUES (?, ?, ?, ?)",
			name, mode, avatar, s.Now().Unix()); err != nil {
			return err
		}
		for _, q := range append([]string{"DELETE FROM users WHERE username = ?", "DELETE FROM user_settings WHERE username = ?"}, namedAuthRows...) {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return opErr("delete user", err)
	}
	s.invalidateUsers()
	return opErr("delete user", s.finishDeletion(ctx, name))
}

func (s *Store) finishDeletion(ctx context.Context, name string) error {
	var mode string
	var avatar sql.NullString
	if err := s.auth.R.QueryRowContext(ctx, "SELECT mode, avatar_file FROM pending_deletions WHERE username = ?", name).Scan(&mode, &avatar); err != nil {
		return fmt.Errorf("read pending deletion of %q: %w", name, err)
	}
	// Messages the user sent just before are still being fanned out: let them land first.
	if err := s.fanout.flush(ctx); err != nil {
		return err
	}
	// Hard: journal rows of the user's messages that are still kept (until their copies are
	// synced, or during a backup) must not bring them back at a replay after a crash.
	if mode == "hard" {
		if _, err := s.fanout.dropPuts(ctx, "sender = ?", name); err != nil {
			return fmt.Errorf("drop journal rows of %q: %w", name, err)
		}
	}
	// Nor may a replay deliver anything to the name, which a new account may hold by then.
	if _, err := s.presence.W.ExecContext(ctx, `UPDATE journal
		SET recipients = (SELECT json_group_array(value) FROM json_each(journal.recipients) WHERE value != ?1)
		WHERE EXISTS (SELECT 1 FROM json_each(journal.recipients) WHERE value = ?1)`, name); err != nil {
		return fmt.Errorf("drop %q from journal recipients: %w", name, err)
	}
	// Hard: the reactions on the user's messages go before the messages that identify them,
	// database by database, so a crash at any step leaves no reaction behind for good. The
	// user's own copy holds every message they sent; it is handled before it is removed.
	if mode == "hard" {
		err := s.withUserDB(ctx, name, func(db *sql.DB) error { return s.dropReactionsOn(ctx, db, name) })
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			return fmt.Errorf("reactions on the messages of %q: %w", name, err)
		}
	}
	// users/<name>.db goes first so the loop below does not rewrite it.
	s.users.forget(name)
	if err := removeDBFiles(s.userDBPath(name)); err != nil {
		return err
	}
	// The removal must survive a power cut: without a sync of users/, the file (with every
	// message the user sent) can come back while the account and its pending row are gone.
	if err := fsutil.SyncDir(filepath.Dir(s.userDBPath(name))); err != nil {
		return err
	}
	if s.deletionHook != nil {
		s.deletionHook("files")
	}
	dbs, err := s.UserDBNames()
	if err != nil {
		return err
	}
	for _, u := range dbs {
		err := s.withUserDB(ctx, u, func(db *sql.DB) error {
			var err error
			if mode == "soft" {
				_, err = db.ExecContext(ctx, "UPDATE messages SET sender = ? WHERE sender = ?", chat.DeletedUser, name)
			} else {
				if err := s.dropReactionsOn(ctx, db, name); err != nil {
					return err
				}
				_, err = db.ExecContext(ctx, "DELETE FROM messages WHERE sender = ?", name)
			}
			return err
		})
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			return fmt.Errorf("%s messages of %q in users/%s.db: %w", mode, name, u, err)
		}
		// The rewrite must survive a power cut like a fanned-out copy does.
		if err == nil {
			if err := s.fanout.syncUser(u); err != nil {
				return fmt.Errorf("sync users/%s.db: %w", u, err)
			}
		}
		if s.deletionHook != nil {
			s.deletionHook("user:" + u)
		}
	}
	if avatar.Valid && avatar.String != "" && filepath.Base(avatar.String) == avatar.String {
		if err := os.Remove(filepath.Join(s.dir, "avatars", avatar.String)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove avatar: %w", err)
		}
	}
	err = s.privChange(ctx, "", func(tx *sql.Tx) error {
		for _, q := range namedPresenceRows {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		return nil
	}) // the name's private channel memberships are gone: privChange drops every channel
	if err != nil {
		return err
	}
	_, err = s.auth.W.ExecContext(ctx, "DELETE FROM pending_deletions WHERE username = ?", name)
	s.Logger.Info("account deleted", "user", name, "mode", mode)
	return err
}

// dropReactionsOn deletes from presence.db the reactions on the messages that name sent, as
// found in the user database db.
func (s *Store) dropReactionsOn(ctx context.Context, db *sql.DB, name string) error {
	rows, err := db.QueryContext(ctx, "SELECT id FROM messages WHERE sender = ?", name)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	return withTx(ctx, s.presence.W, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, "DELETE FROM message_reactions WHERE message_id = ?")
		if err != nil {
			return err
		}
		defer st.Close()
		for _, id := range ids {
			if _, err := st.ExecContext(ctx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) resumeDeletions(ctx context.Context) error {
	rows, err := s.auth.R.QueryContext(ctx, "SELECT username FROM pending_deletions")
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		s.Logger.Info("finishing interrupted account deletion", "user", n)
		if err := s.finishDeletion(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// UserDBNames lists the users whose database file exists in users/ (the guide's users/*.db).
func (s *Store) UserDBNames() ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(s.dir, "users", "*.db"))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		n := filepath.Base(m)
		n = n[:len(n)-3]
		if chat.ValidateUsername(n) == nil || chat.IsReserved(n) {
			out = append(out, n)
		}
	}
	return out, nil
}
