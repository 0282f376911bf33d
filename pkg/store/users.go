package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// UserRecord is a row of users joined with user_settings.
type UserRecord struct {
	Username     string
	PasswordHash string
	CreatedTS    int64
	DisplayName  string
	AvatarFile   string
	Theme        string
}

// ErrUserExists is returned by CreateUser for a taken name.
var errUserExists = chat.Errorf(chat.EConflict, "that username is taken")

// CreateUser makes an account: its users/<name>.db (any stale file of an earlier account of
// that name is removed first), the users and user_settings rows, and a copy of the recent
// history of the public channels, so a new user does not open empty channels.
func (s *Store) CreateUser(ctx context.Context, name, passwordHash string, channels []string) error {
	if err := chat.ValidateUsername(name); err != nil {
		return err
	}
	s.lifecycleMu.Lock()
	defer s.lifecycleMu.Unlock()
	var n int
	if err := s.auth.R.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM users WHERE username=?) + (SELECT COUNT(*) FROM pending_deletions WHERE username=?)", name, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errUserExists
	}
	// A file left by an account deleted by hand must not leak into the new account.
	s.users.forget(name)
	path := s.userDBPath(name)
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale %s: %w", p, err)
		}
	}
	u, err := s.users.acquire(ctx, name, true)
	if err != nil {
		return fmt.Errorf("create user database: %w", err)
	}
	s.users.release(u)
	now := s.Now().Unix()
	err = withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO users(username, password_hash, created_ts) VALUES (?, ?, ?)", name, passwordHash, now); err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return errUserExists
			}
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO user_settings(username, display_name, avatar_file, theme) VALUES (?, '', NULL, 'light')", name)
		return err
	})
	if err != nil {
		s.users.forget(name)
		os.Remove(path)
		return err
	}
	s.invalidateUsers()
	// Messages being fanned out now were addressed before this account existed; wait for them
	// so that the copy below includes them.
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	s.fanout.flush(fctx)
	cancel()
	if err := s.backfillChannels(ctx, name, channels); err != nil {
		s.Logger.Warn("copy channel history to new user", "user", name, "err", err)
	}
	return nil
}

// backfillRows is how many recent messages of each public channel a new user receives.
const backfillRows = 200

func (s *Store) backfillChannels(ctx context.Context, name string, channels []string) error {
	if len(channels) == 0 {
		return nil
	}
	// The oldest account still here has the longest history.
	var src string
	err := s.auth.R.QueryRowContext(ctx, "SELECT username FROM users WHERE username != ? ORDER BY created_ts, username LIMIT 1", name).Scan(&src)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var msgs []chat.Message
	err = s.withUserDB(ctx, src, func(db *sql.DB) error {
		for _, ch := range channels {
			page, err := queryMessages(ctx, db, `WHERE conversation = ? AND deleted = 0 ORDER BY id DESC LIMIT ?`, chat.ChannelID(ch), backfillRows)
			if err != nil {
				return err
			}
			msgs = append(msgs, page...)
		}
		return nil
	})
	if err != nil || len(msgs) == 0 {
		return err
	}
	e := make([]*entry, len(msgs))
	for i := range msgs {
		e[i] = &entry{op: opPut, msg: msgs[i]}
	}
	return s.fanout.apply(name, e)
}

// GetUser returns the account name, or ENotFound.
func (s *Store) GetUser(ctx context.Context, name string) (UserRecord, error) {
	var u UserRecord
	var avatar sql.NullString
	var dn, theme sql.NullString
	err := s.auth.R.QueryRowContext(ctx, `SELECT u.username, u.password_hash, u.created_ts, s.display_name, s.avatar_file, s.theme
		FROM users u LEFT JOIN user_settings s ON s.username = u.username WHERE u.username = ?`, name).
		Scan(&u.Username, &u.PasswordHash, &u.CreatedTS, &dn, &avatar, &theme)
	if errors.Is(err, sql.ErrNoRows) {
		return u, chat.Errorf(chat.ENotFound, "no such user %q", name)
	}
	u.DisplayName, u.AvatarFile, u.Theme = dn.String, avatar.String, theme.String
	if u.Theme == "" {
		u.Theme = "light"
	}
	return u, err
}

// ListUsers returns every account, ordered by name.
func (s *Store) ListUsers(ctx context.Context) ([]UserRecord, error) {
	rows, err := s.auth.R.QueryContext(ctx, `SELECT u.username, u.created_ts, s.display_name, s.avatar_file, s.theme
		FROM users u LEFT JOIN user_settings s ON s.username = u.username ORDER BY u.username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UserRecord
	for rows.Next() {
		var u UserRecord
		var dn, avatar, theme sql.NullString
		if err := rows.Scan(&u.Username, &u.CreatedTS, &dn, &avatar, &theme); err != nil {
			return nil, err
		}
		u.DisplayName, u.AvatarFile, u.Theme = dn.String, avatar.String, theme.String
		out = append(out, u)
	}
	return out, rows.Err()
}

// Usernames returns every account name, from a cache at most a second old (hand edits of
// auth.db are noticed within that second).
func (s *Store) Usernames(ctx context.Context) ([]string, error) {
	s.membersMu.Lock()
	defer s.membersMu.Unlock()
	if s.allUsers != nil && s.Now().Sub(s.allUsersAt) < time.Second {
		return s.allUsers, nil
	}
	out, err := queryStrings(ctx, s.auth.R, "SELECT username FROM users ORDER BY username")
	if err != nil {
		return nil, err
	}
	s.allUsers, s.allUsersAt = out, s.Now()
	return out, nil
}

func (s *Store) invalidateUsers() {
	s.membersMu.Lock()
	s.allUsers = nil
	s.membersMu.Unlock()
}

// UserExists reports whether name is an account.
func (s *Store) UserExists(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.auth.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE username = ?", name).Scan(&n)
	return n > 0, err
}

// SetPassword replaces name's password hash and ends every session but keep (an id hash, or "").
func (s *Store) SetPassword(ctx context.Context, name, hash, keep string) error {
	return withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE username = ?", hash, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return chat.Errorf(chat.ENotFound, "no such user %q", name)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE username = ? AND id_hash != ?", name, keep)
		return err
	})
}

// UpdateProfile sets display name and theme (nil leaves a value unchanged).
func (s *Store) UpdateProfile(ctx context.Context, name string, displayName, theme *string) error {
	return withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		if displayName != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE user_settings SET display_name = ? WHERE username = ?", *displayName, name); err != nil {
				return err
			}
		}
		if theme != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE user_settings SET theme = ? WHERE username = ?", *theme, name); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetAvatar records file (a name in avatars/, or "" for none) and returns the previous one,
// which the caller removes.
func (s *Store) SetAvatar(ctx context.Context, name, file string) (old string, err error) {
	err = withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		var prev sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT avatar_file FROM user_settings WHERE username = ?", name).Scan(&prev); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return chat.Errorf(chat.ENotFound, "no such user %q", name)
			}
			return err
		}
		old = prev.String
		var v any
		if file != "" {
			v = file
		}
		_, err := tx.ExecContext(ctx, "UPDATE user_settings SET avatar_file = ? WHERE username = ?", v, name)
		return err
	})
	return old, err
}

// AvatarOwner returns the user whose avatar is file, or ENotFound.
func (s *Store) AvatarOwner(ctx context.Context, file string) (string, error) {
	var u string
	err := s.auth.R.QueryRowContext(ctx, "SELECT username FROM user_settings WHERE avatar_file = ?", file).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", chat.Errorf(chat.ENotFound, "not found")
	}
	return u, err
}
