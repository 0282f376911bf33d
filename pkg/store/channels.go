package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"strings"

	"github.com/minimost/minimost/pkg/chat"
)

// PrivateChannel is a row of private_channels.
type PrivateChannel struct {
	ID        string // conversation id "p:<key>"
	Name      string
	Creator   string
	CreatedTS int64
}

// CreatePrivateChannel creates a private channel with creator and members as its members.
func (s *Store) CreatePrivateChannel(ctx context.Context, name, creator string, members []string) (PrivateChannel, error) {
	if err := chat.ValidateChannelName(name); err != nil {
		return PrivateChannel{}, err
	}
	key := strings.ToLower(rand.Text())[:16]
	pc := PrivateChannel{ID: "p:" + key, Name: name, Creator: creator, CreatedTS: s.Now().Unix()}
	all := append([]string{creator}, members...)
	for _, m := range all {
		if ok, err := s.UserExists(ctx, m); err != nil {
			return pc, err
		} else if !ok {
			return pc, chat.Errorf(chat.EInvalid, "no such user %q", m)
		}
	}
	err := withTx(ctx, s.presence.W, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO private_channels(id, name, creator, created_ts) VALUES (?, ?, ?, ?)", key, name, creator, pc.CreatedTS); err != nil {
			return err
		}
		for _, m := range all {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO private_channel_members(channel_id, username, added_ts) VALUES (?, ?, ?)", key, m, pc.CreatedTS); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return pc, err
	}
	for _, m := range all {
		s.AddUserConversation(ctx, m, pc.ID)
	}
	return pc, nil
}

// GetPrivateChannel returns the private channel with conversation id, if user is a member.
// For anyone else it is ENotFound, exactly as if it did not exist.
func (s *Store) GetPrivateChannel(ctx context.Context, user, id string) (PrivateChannel, error) {
	key := strings.TrimPrefix(id, "p:")
	var pc PrivateChannel
	err := s.presence.R.QueryRowContext(ctx, `SELECT c.name, c.creator, c.created_ts FROM private_channels c
		JOIN private_channel_members m ON m.channel_id = c.id WHERE c.id = ? AND m.username = ?`, key, user).
		Scan(&pc.Name, &pc.Creator, &pc.CreatedTS)
	if errors.Is(err, sql.ErrNoRows) {
		return pc, chat.Errorf(chat.ENotFound, "conversation not found")
	}
	pc.ID = "p:" + key
	return pc, err
}

// UserPrivateChannels lists the private channels user belongs to.
func (s *Store) UserPrivateChannels(ctx context.Context, user string) ([]PrivateChannel, error) {
	rows, err := s.presence.R.QueryContext(ctx, `SELECT c.id, c.name, c.creator, c.created_ts FROM private_channels c
		JOIN private_channel_members m ON m.channel_id = c.id WHERE m.username = ? ORDER BY c.name, c.id`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PrivateChannel
	for rows.Next() {
		var pc PrivateChannel
		if err := rows.Scan(&pc.ID, &pc.Name, &pc.Creator, &pc.CreatedTS); err != nil {
			return nil, err
		}
		pc.ID = "p:" + pc.ID
		out = append(out, pc)
	}
	return out, rows.Err()
}

// PrivateMembers lists the members of a private channel (conversation id).
func (s *Store) PrivateMembers(ctx context.Context, id string) ([]string, error) {
	return queryStrings(ctx, s.presence.R, "SELECT username FROM private_channel_members WHERE channel_id = ? ORDER BY username", strings.TrimPrefix(id, "p:"))
}

// AddPrivateMember adds user to the private channel; by must be a member.
func (s *Store) AddPrivateMember(ctx context.Context, by, id, user string) error {
	if _, err := s.GetPrivateChannel(ctx, by, id); err != nil {
		return err
	}
	if ok, err := s.UserExists(ctx, user); err != nil {
		return err
	} else if !ok {
		return chat.Errorf(chat.EInvalid, "no such user %q", user)
	}
	res, err := s.presence.W.ExecContext(ctx, "INSERT OR IGNORE INTO private_channel_members(channel_id, username, added_ts) VALUES (?, ?, ?)",
		strings.TrimPrefix(id, "p:"), user, s.Now().Unix())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.EConflict, "%s is already a member", user)
	}
	return s.AddUserConversation(ctx, user, id)
}

// LeavePrivateChannel removes user from the private channel.
func (s *Store) LeavePrivateChannel(ctx context.Context, user, id string) error {
	res, err := s.presence.W.ExecContext(ctx, "DELETE FROM private_channel_members WHERE channel_id = ? AND username = ?", strings.TrimPrefix(id, "p:"), user)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "conversation not found")
	}
	return nil
}
