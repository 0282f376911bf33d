package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// CreateSession records a session (by the hash of its id) of account a.
func (s *Store) CreateSession(ctx context.Context, idHash string, a chat.Account, expiresTS int64, userAgent string) error {
	now := s.Now().Unix()
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	_, err := s.auth.W.ExecContext(ctx, `INSERT INTO sessions(id_hash, username, user_id, created_ts, last_seen_ts, expires_ts, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, idHash, a.Name, a.ID, now, now, expiresTS, userAgent)
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// lookupSessionSQL is LookupSession's query: run for every request and WebSocket frame, so
// prepared once (pair.readStmt).
const lookupSessionSQL = `SELECT u.id, u.username, s.last_seen_ts FROM sessions s JOIN users u ON u.id = s.user_id AND u.username = s.username
	WHERE s.id_hash = ? AND s.expires_ts > ?`

// LookupSession returns the account of a live session. A session belongs to an account id,
// not a name: a session whose account is gone (even deleted by hand with sqlite3, which leaves
// sessions rows behind) is EUnauthorized, also when the name has been registered again.
// A session that expired, or was not used for idle (0: no idle limit), is EUnauthorized too.
// Its last_seen_ts is brought up to date at most once a minute.
func (s *Store) LookupSession(ctx context.Context, idHash string, idle time.Duration) (chat.Account, error) {
	var a chat.Account
	var seen int64
	now := s.Now().Unix()
	st, err := s.auth.readStmt(ctx, lookupSessionSQL)
	if err != nil {
		return a, fmt.Errorf("store: look up session: %w", err)
	}
	err = st.QueryRowContext(ctx, idHash, now).Scan(&a.ID, &a.Name, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return a, chat.Errorf(chat.EUnauthorized, "not logged in")
	}
	if err != nil {
		return a, fmt.Errorf("store: look up session: %w", err)
	}
	if idle > 0 && now-seen > int64(idle/time.Second) {
		return chat.Account{}, chat.Errorf(chat.EUnauthorized, "your session ended after a long time unused; log in again")
	}
	if now-seen >= 60 {
		if _, err := s.auth.W.ExecContext(ctx, "UPDATE sessions SET last_seen_ts = ? WHERE id_hash = ?", now, idHash); err != nil {
			return a, fmt.Errorf("store: touch session: %w", err)
		}
	}
	return a, nil
}

// EndSessions ends every session of the account that holds name ("log out everywhere").
func (s *Store) EndSessions(ctx context.Context, name string) error {
	if _, err := s.auth.W.ExecContext(ctx, "DELETE FROM sessions WHERE username = ?", name); err != nil {
		return fmt.Errorf("store: end sessions: %w", err)
	}
	return nil
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.auth.W.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// PurgeExpiredSessions removes expired sessions and returns how many.
func (s *Store) PurgeExpiredSessions(ctx context.Context) (int64, error) {
	res, err := s.auth.W.ExecContext(ctx, "DELETE FROM sessions WHERE expires_ts <= ?", s.Now().Unix())
	if err != nil {
		return 0, fmt.Errorf("store: purge sessions: %w", err)
	}
	return res.RowsAffected()
}
