package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/fsutil"
)

// UserRecord is a row of users joined with user_settings.
type UserRecord = chat.UserRecord

// errUserExists is returned by CreateUser for a taken name.
var errUserExists = chat.Errorf(chat.EConflict, "that username is taken")

// CreateUser makes an account: its users/<name>.db (any stale file of an earlier account of
// that name is removed first), the users and user_settings rows with a new account id, and a
// copy of the recent history of the public channels, so a new user does not open empty
// channels. Rows an earlier account of the name left behind in presence.db (a deletion done
// by hand may skip some) are removed, so the new account inherits nothing.
func (s *Store) CreateUser(ctx context.Context, name, passwordHash string, channels []string) (chat.Account, error) {
	if err := chat.ValidateUsername(name); err != nil {
		return chat.Account{}, err
	}
	s.lifecycleMu.Lock()
	defer s.lifecycleMu.Unlock()
	var n int
	if err := s.auth.R.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM users WHERE username=?) + (SELECT COUNT(*) FROM pending_deletions WHERE username=?)", name, name).Scan(&n); err != nil {
		return chat.Account{}, fmt.Errorf("store: create user: %w", err)
	}
	if n > 0 {
		return chat.Account{}, errUserExists
	}
	// A file left by an account deleted by hand must not leak into the new account.
	s.users.forget(name)
	if err := removeDBFiles(s.userDBPath(name)); err != nil {
		return chat.Account{}, fmt.Errorf("store: create user: %w", err)
	}
	if err := s.purgeName(ctx, name); err != nil {
		return chat.Account{}, fmt.Errorf("store: create user: %w", err)
	}
	u, err := s.users.acquire(ctx, name, true)
	if err != nil {
		return chat.Account{}, fmt.Errorf("store: create user database: %w", err)
	}
	s.users.release(u)
	// The new file's name is durable before the account that needs it is.
	if err := fsutil.SyncDir(filepath.Dir(s.userDBPath(name))); err != nil {
		return chat.Account{}, fmt.Errorf("store: create user database: %w", err)
	}
	now := s.Now().Unix()
	var acct chat.Account
	err = withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		var issued int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM account_ids WHERE username = ?", name).Scan(&issued); err != nil {
			return err
		}
		acct = chat.Account{ID: chat.AccountID(name, issued+1), Name: name}
		if _, err := tx.ExecContext(ctx, "INSERT INTO account_ids(id, username, created_ts) VALUES (?, ?, ?)", acct.ID, name, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO users(username, password_hash, created_ts, id) VALUES (?, ?, ?, ?)", name, passwordHash, now, acct.ID); err != nil {
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
		removeDBFiles(s.userDBPath(name))
		if chat.ErrorCode(err) != chat.EInternal {
			return chat.Account{}, err
		}
		return chat.Account{}, fmt.Errorf("store: create user: %w", err)
	}
	s.invalidateUsers()
	// Messages being fanned out now were addressed before this account existed; wait for them
	// so that the copy below includes them.
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	s.fanout.flush(fctx)
	cancel()
	if err := s.backfillChannels(ctx, name, channels); err != nil {
		s.Logger.Warn("copy channel history to new user", "user", name, "err", err)
	} else if err := s.fanout.syncUser(name); err != nil {
		// The copy is made durable before the account is acknowledged, like any copy.
		s.Logger.Warn("sync the new user's database", "user", name, "err", err)
	}
	return acct, nil
}

// purgeName removes the presence.db and auth.db rows that name on its own identifies, left by
// an earlier account of that name.
func (s *Store) purgeName(ctx context.Context, name string) error {
	err := s.privChange(ctx, "", func(tx *sql.Tx) error {
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
	return withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		for _, q := range namedAuthRows {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		return nil
	})
}

// namedAuthRows deletes what a username identifies in auth.db besides the account itself:
// what account deletion removes with it, and what a new account of the name must not inherit.
var namedAuthRows = []string{
	"DELETE FROM password_reset_tokens WHERE username = ?",
	"DELETE FROM sessions WHERE username = ?",
	"DELETE FROM access_tokens WHERE username = ?",
	"DELETE FROM incoming_webhooks WHERE creator = ?",
}

// namedPresenceRows deletes a username's rows from presence.db: the guide's manual deletion
// step 4, which account deletion runs too.
var namedPresenceRows = []string{
	"DELETE FROM presence WHERE user = ?",
	"DELETE FROM typing WHERE user = ?",
	"DELETE FROM read_receipts WHERE reader = ?",
	"DELETE FROM message_reactions WHERE reactor = ?",
	"DELETE FROM private_channel_members WHERE username = ?",
	"DELETE FROM call_participants WHERE username = ?",
}

// removeDBFiles removes an SQLite database file and its -wal, -shm and -journal companions.
func removeDBFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
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
	return s.fanout.applyNow(name, e)
}

// GetUser returns the account name, or ENotFound.
func (s *Store) GetUser(ctx context.Context, name string) (UserRecord, error) {
	var u UserRecord
	var avatar sql.NullString
	var dn, theme sql.NullString
	var id sql.NullString
	err := s.auth.R.QueryRowContext(ctx, `SELECT u.id, u.username, u.password_hash, u.created_ts, s.display_name, s.avatar_file, s.theme, u.bot
		FROM users u LEFT JOIN user_settings s ON s.username = u.username WHERE u.username = ?`, name).
		Scan(&id, &u.Username, &u.PasswordHash, &u.CreatedTS, &dn, &avatar, &theme, &u.Bot)
	if errors.Is(err, sql.ErrNoRows) {
		return u, chat.Errorf(chat.ENotFound, "no such user %q", name)
	}
	if err != nil {
		return u, fmt.Errorf("store: get user: %w", err)
	}
	u.ID = accountID(id, u.Username)
	u.DisplayName, u.AvatarFile, u.Theme = dn.String, avatar.String, theme.String
	if u.Theme == "" {
		u.Theme = "light"
	}
	return u, err
}

// ListUsers returns every account, ordered by name.
func (s *Store) ListUsers(ctx context.Context) ([]UserRecord, error) {
	rows, err := s.auth.R.QueryContext(ctx, `SELECT u.id, u.username, u.created_ts, s.display_name, s.avatar_file, s.theme, u.bot
		FROM users u LEFT JOIN user_settings s ON s.username = u.username ORDER BY u.username`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []UserRecord
	for rows.Next() {
		var u UserRecord
		var id, dn, avatar, theme sql.NullString
		if err := rows.Scan(&id, &u.Username, &u.CreatedTS, &dn, &avatar, &theme, &u.Bot); err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		u.ID = accountID(id, u.Username)
		u.DisplayName, u.AvatarFile, u.Theme = dn.String, avatar.String, theme.String
		out = append(out, u)
	}
	return out, rows.Err()
}

// accountID is the id of a users row: its id column, or the username for a row added by hand
// without one (which is what the first account of a name gets).
func accountID(id sql.NullString, name string) string {
	if id.Valid && id.String != "" {
		return id.String
	}
	return name
}

// Accounts returns every account, from a snapshot at most a second old (hand edits of auth.db
// are noticed within that second; the daemon's own changes at once). Every request asks for
// it. When the snapshot is a second old, one caller reads the table again while the others
// keep getting the snapshot they have: a read of thousands of rows on a busy machine took
// long enough that the requests queued behind it, all of them, once a second.
func (s *Store) Accounts(ctx context.Context) (*chat.Directory, error) {
	s.membersMu.Lock()
	d := s.accounts
	if d != nil && (s.accountsLoading || s.Now().Sub(s.accountsAt) < time.Second) {
		s.membersMu.Unlock()
		return d, nil
	}
	if d == nil {
		// None yet, or the daemon changed an account: everyone waits for the new one.
		defer s.membersMu.Unlock()
		at := s.Now()
		d, err := s.loadAccounts(ctx)
		if err != nil {
			return nil, err
		}
		s.accounts, s.accountsAt = d, at
		return d, nil
	}
	s.accountsLoading = true
	gen, at := s.accountsGen, s.Now()
	s.membersMu.Unlock()
	nd, err := s.loadAccounts(ctx)
	s.membersMu.Lock()
	defer s.membersMu.Unlock()
	s.accountsLoading = false
	if err != nil {
		// The snapshot a second old serves (the next caller tries again), rather than every
		// request failing; with none, the error is the caller's.
		s.Logger.Warn("accounts not read again; the last ones are used", "err", err)
		return d, nil
	}
	if s.accountsGen == gen {
		// Unless the daemon changed an account meanwhile: then what was read may predate it.
		s.accounts, s.accountsAt = nd, at
	}
	return nd, nil
}

// afterAccountsRead, when set (by tests), runs once the accounts' rows are read.
var afterAccountsRead func()

// loadAccounts reads every account from auth.db.
func (s *Store) loadAccounts(ctx context.Context) (*chat.Directory, error) {
	rows, err := s.auth.R.QueryContext(ctx, "SELECT id, username FROM users ORDER BY username")
	if err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	defer rows.Close()
	var list []chat.Account
	for rows.Next() {
		var id sql.NullString
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("store: list accounts: %w", err)
		}
		list = append(list, chat.Account{ID: accountID(id, name), Name: name})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	if afterAccountsRead != nil {
		afterAccountsRead()
	}
	return chat.NewDirectory(list), nil
}

// Usernames returns every account name.
func (s *Store) Usernames(ctx context.Context) ([]string, error) {
	d, err := s.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(d.All()))
	for _, a := range d.All() {
		out = append(out, a.Name)
	}
	return out, nil
}

func (s *Store) invalidateUsers() {
	s.membersMu.Lock()
	s.accounts = nil
	s.accountsGen++
	s.membersMu.Unlock()
}

// UserExists reports whether name is an account.
func (s *Store) UserExists(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.auth.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE username = ?", name).Scan(&n)
	return n > 0, err
}

// SetPassword replaces name's password hash, ends every session but keep (an id hash, or "")
// and invalidates every reset link of the account.
func (s *Store) SetPassword(ctx context.Context, name, hash, keep string) error {
	return withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE username = ?", hash, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return chat.Errorf(chat.ENotFound, "no such user %q", name)
		}
		if _, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE username = ? AND id_hash != ?", name, keep); err != nil {
			return err
		}
		// Reset links issued before the change are dead too.
		_, err = tx.ExecContext(ctx, "UPDATE password_reset_tokens SET used = 1 WHERE username = ? AND used = 0", name)
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
