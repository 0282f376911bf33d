package store

import (
	"context"
	"database/sql"

	"github.com/minimost/minimost/pkg/chat"
)

// CopyHistory gives user to a copy of the newest limit messages of conversation held in the
// database of user from (a member who has them), with the same ids, as a new account
// receives the public channels' history. Messages to already there are left as they are.
func (s *Store) CopyHistory(ctx context.Context, from, to, conversation string, limit int) (int, error) {
	// What was acknowledged before is in from's copy first.
	if err := s.readYourWrites(ctx, from); err != nil {
		return 0, opErr("copy history", err)
	}
	var msgs []chat.Message
	err := s.withUserDB(ctx, from, func(db *sql.DB) error {
		var err error
		msgs, err = queryMessages(ctx, db, `WHERE conversation = ? AND deleted = 0 ORDER BY id DESC LIMIT ?`, conversation, limit)
		return err
	})
	if err != nil || len(msgs) == 0 {
		return 0, opErr("copy history", err)
	}
	e := make([]*entry, len(msgs))
	for i := range msgs {
		e[i] = &entry{op: opPut, msg: msgs[i]}
	}
	if err := s.fanout.applyNow(to, e); err != nil {
		return 0, opErr("copy history", err)
	}
	return len(msgs), nil
}
