package store

import (
	"context"
	"database/sql"
)

// MessageBefore returns the id of the newest message of conversation in user's copy that is
// older than id ("" when there is none).
func (s *Store) MessageBefore(ctx context.Context, user, conversation, id string) (string, error) {
	var prev sql.NullString
	err := s.readMerged(ctx, user, func(c string) bool { return c == conversation }, func(db *sql.DB, pending []pendingOp) error {
		if err := db.QueryRowContext(ctx, "SELECT MAX(id) FROM messages WHERE conversation = ? AND id < ?", conversation, id).Scan(&prev); err != nil {
			return err
		}
		for _, p := range pending {
			if p.op == opPut && p.msg.ID < id && p.msg.ID > prev.String {
				prev.String = p.msg.ID
			}
		}
		return nil
	})
	return prev.String, opErr("message before", err)
}

// SetLastRead moves reader's last-read message in conversation to messageID, back as well as
// forward (mark as unread); an empty messageID forgets the receipt, so everything is unread.
func (s *Store) SetLastRead(ctx context.Context, reader, conversation, messageID string) error {
	now := s.Now().Unix()
	err := s.fanout.groupWrite(ctx, func(tx *sql.Tx) error {
		var err error
		if messageID == "" {
			_, err = tx.Exec("DELETE FROM read_receipts WHERE reader = ? AND conversation = ?", reader, conversation)
		} else {
			_, err = tx.Exec(`INSERT INTO read_receipts(reader, conversation, message_id, read_ts) VALUES (?, ?, ?, ?)
				ON CONFLICT(reader, conversation) DO UPDATE SET message_id = excluded.message_id, read_ts = excluded.read_ts`,
				reader, conversation, messageID, now)
		}
		return err
	})
	return opErr("set last read", err)
}
