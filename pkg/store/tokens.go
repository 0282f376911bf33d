package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/minimost/minimost/pkg/chat"
)

// CreateResetToken stores the hash of a password-reset token for the account that holds name
// now, and returns that account. The token belongs to the account id: it never resets the
// password of a later account of the same name.
func (s *Store) CreateResetToken(ctx context.Context, tokenHash, name string, expiresTS int64) (chat.Account, error) {
	u, err := s.GetUser(ctx, name)
	if err != nil {
		return chat.Account{}, err
	}
	a := chat.Account{ID: u.ID, Name: u.Username}
	_, err = s.auth.W.ExecContext(ctx, `INSERT INTO password_reset_tokens(token_hash, username, user_id, created_ts, expires_ts, used)
		VALUES (?, ?, ?, ?, ?, 0)`, tokenHash, a.Name, a.ID, s.Now().Unix(), expiresTS)
	if err != nil {
		return a, fmt.Errorf("store: create reset token: %w", err)
	}
	return a, nil
}

// ErrBadToken is the one answer for an unknown, used or expired reset token.
var ErrBadToken = chat.Errorf(chat.EInvalid, "this reset link is invalid, expired or already used; ask your administrator for a new one")

// ConsumeResetToken marks the token used and sets the new password hash in one transaction,
// ending every session of the user and invalidating the user's other reset links. Of two racing uses of a token exactly one succeeds.
func (s *Store) ConsumeResetToken(ctx context.Context, tokenHash, newHash string) (chat.Account, error) {
	var a chat.Account
	err := withTx(ctx, s.auth.W, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE password_reset_tokens SET used = 1
			WHERE token_hash = ? AND used = 0 AND expires_ts > ? RETURNING username, user_id`, tokenHash, s.Now().Unix()).Scan(&a.Name, &a.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrBadToken
		}
		if err != nil {
			return err
		}
		name := a.Name
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE username = ? AND id = ?", newHash, name, a.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrBadToken
		}
		if _, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE username = ?", name); err != nil {
			return err
		}
		// Every other link of the account is dead once one was used.
		_, err = tx.ExecContext(ctx, "UPDATE password_reset_tokens SET used = 1 WHERE username = ? AND used = 0", name)
		return err
	})
	if err != nil && chat.ErrorCode(err) == chat.EInternal {
		err = fmt.Errorf("store: consume reset token: %w", err)
	}
	return a, err
}

// CheckResetToken reports whether a token is currently usable (for the reset page).
func (s *Store) CheckResetToken(ctx context.Context, tokenHash string) bool {
	var n int
	s.auth.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM password_reset_tokens t JOIN users u ON u.username = t.username AND u.id = t.user_id
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
