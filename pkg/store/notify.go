package store

import (
	"context"
	"database/sql"

	"github.com/minimost/minimost/pkg/chat"
)

// NotificationPrefs returns user's notification settings: do-not-disturb and the
// conversations whose level or mute was set.
func (s *Store) NotificationPrefs(ctx context.Context, user string) (chat.NotificationPrefs, error) {
	p := chat.NotificationPrefs{Conversations: map[string]chat.ConversationPrefs{}}
	err := s.withUserDB(ctx, user, func(db *sql.DB) error {
		var dnd sql.NullString
		if err := db.QueryRowContext(ctx, "SELECT value FROM user_prefs WHERE key = 'dnd'").Scan(&dnd); err != nil && err != sql.ErrNoRows {
			return err
		}
		p.DND = dnd.String == "1"
		rows, err := db.QueryContext(ctx, "SELECT conversation, level, muted FROM notification_prefs")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var cp chat.ConversationPrefs
			if err := rows.Scan(&id, &cp.Level, &cp.Muted); err != nil {
				return err
			}
			p.Conversations[id] = cp
		}
		return rows.Err()
	})
	return p, opErr("notification prefs", err)
}

// SetConversationPrefs stores user's level and mute of conversation (the default level and
// not muted: the row goes).
func (s *Store) SetConversationPrefs(ctx context.Context, user, conversation string, cp chat.ConversationPrefs) error {
	err := s.withUserDB(ctx, user, func(db *sql.DB) error {
		var err error
		if cp == (chat.ConversationPrefs{}) {
			_, err = db.ExecContext(ctx, "DELETE FROM notification_prefs WHERE conversation = ?", conversation)
		} else {
			_, err = db.ExecContext(ctx, `INSERT INTO notification_prefs(conversation, level, muted) VALUES (?, ?, ?)
				ON CONFLICT(conversation) DO UPDATE SET level = excluded.level, muted = excluded.muted`, conversation, cp.Level, cp.Muted)
		}
		return err
	})
	return opErr("set conversation prefs", err)
}

// SetDND turns user's do-not-disturb on or off.
func (s *Store) SetDND(ctx context.Context, user string, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	err := s.withUserDB(ctx, user, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, `INSERT INTO user_prefs(key, value) VALUES ('dnd', ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, v)
		return err
	})
	return opErr("set do not disturb", err)
}
