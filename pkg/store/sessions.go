package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/minimost/minimost/pkg/chat"
)

// CreateSession records a session (by the hash of its id) for name.
func (s *Store) CreateSession(ctx context.Context, idHash, name string, expiresTS int64, userAgent string) error {
	now := s.Now().Unix()
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	_, err := s.auth.W.ExecContext(ctx, `INSERT INTO sessions(id_hash, username, created_ts, last_seen_ts, expires_ts, user_agent)
		VALUES (?, ?, ?, ?, ?, ?)`, idHash, name, now, now, expiresTS, userAgent)
	return err
}

// LookupSession returns the user of a live session. A session whose account is gone (even
// deleted by hand with sqlite3) or that expired is EUnauthorized.
func (s *Store) LookupSession(ctx context.Context, idHash string) (string, error) {
	var name string
	err := s.auth.R.QueryRowContext(ctx, `SELECT s.username FROM sessions s JOIN users u ON u.username = s.username
		WHERE s.id_hash = ? AND s.expires_ts > ?`, idHash, s.Now().Unix()).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", chat.Errorf(chat.EUnauthorized, "not logged in")
	}
	return name, err
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.auth.W.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", idHash)
	return err
}

// PurgeExpiredSessions removes expired sessions and returns how many.
func (s *Store) PurgeExpiredSessions(ctx context.Context) (int64, error) {
	res, err := s.auth.W.ExecContext(ctx, "DELETE FROM sessions WHERE expires_ts <= ?", s.Now().Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
