package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/minimost/minimost/pkg/chat"
)

// CreateResetToken stores the hash of a password-reset token for name.
func (s *Store) CreateResetToken(ctx context.Context, tokenHash, name string, expiresTS int64) error {
	if ok, err := s.UserExists(ctx, name); err != nil {
		return err
	} else if !ok {
		return chat.Errorf(chat.ENotFound, "no such user %q", name)
	}
	_, err := s.auth.W.ExecContext(ctx, `INSERT INTO password_reset_tokens(token_hash, username, created_ts, expires_ts, used)
		VALUES (?, ?, ?, ?, 0)`, tokenHash, name, s.Now().Unix(), expiresTS)
	return err
}

// ErrBadToken is the one answer for an unknown, used or expired reset token.
var ErrBadToken = chat.Errorf(chat.EInvalid, "this reset link is invalid, expired or already used; ask your administrator for a new one")

// ConsumeResetToken marks the token used and sets the new password hash in one transaction,
// ending every session of the user. Of two racing uses of a token exactly one succeeds.
func (s *Store) ConsumeResetToken(ctx context.Context, tokenHash, newHash string) (string, error) {
	var name string
	err := withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE password_reset_tokens SET used = 1
			WHERE token_hash = ? AND used = 0 AND expires_ts > ? RETURNING username`, tokenHash, s.Now().Unix()).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrBadToken
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE username = ?", newHash, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrBadToken
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE username = ?", name)
		return err
	})
	return name, err
}

// CheckResetToken reports whether a token is currently usable (for the reset page).
func (s *Store) CheckResetToken(ctx context.Context, tokenHash string) bool {
	var n int
	s.auth.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM password_reset_tokens t JOIN users u ON u.username = t.username
		WHERE t.token_hash = ? AND t.used = 0 AND t.expires_ts > ?`, tokenHash, s.Now().Unix()).Scan(&n)
	return n > 0
}

// CleanupTokens deletes used and expired tokens, as the guide's
// DELETE FROM password_reset_tokens WHERE used = 1 OR expires_ts < unixepoch().
func (s *Store) CleanupTokens(ctx context.Context) (int64, error) {
	res, err := s.auth.W.ExecContext(ctx, "DELETE FROM password_reset_tokens WHERE used = 1 OR expires_ts < ?", s.Now().Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
