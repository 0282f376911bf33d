package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/minimost/minimost/pkg/chat"
)

// PrivateChannel is a row of private_channels.
type PrivateChannel = chat.PrivateChannel

// CreatePrivateChannel creates a private channel with creator and members as its members.
// The caller has checked that every account exists.
func (s *Store) CreatePrivateChannel(ctx context.Context, name string, creator chat.Account, members []chat.Account) (PrivateChannel, error) {
	if err := chat.ValidateChannelName(name); err != nil {
		return PrivateChannel{}, err
	}
	key := strings.ToLower(rand.Text())[:16]
	pc := PrivateChannel{ID: "p:" + key, Name: name, Creator: creator.Name, CreatedTS: s.Now().Unix()}
	all := append([]chat.Account{creator}, members...)
	err := s.privChange(ctx, key, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO private_channels(id, name, creator, created_ts) VALUES (?, ?, ?, ?)", key, name, creator.Name, pc.CreatedTS); err != nil {
			return err
		}
		for _, m := range all {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO private_channel_members(channel_id, username, user_id, added_ts) VALUES (?, ?, ?, ?)", key, m.Name, m.ID, pc.CreatedTS); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return pc, fmt.Errorf("store: create private channel: %w", err)
	}
	// Nothing is written to the members' own databases: a private channel is listed from
	// private_channel_members, and each copy gets its conversations row with its first
	// message. Opening a thousand members' databases here made a big channel take seconds.
	return pc, nil
}

// GetPrivateChannel returns the private channel with conversation id, if account a is a
// member. For anyone else it is ENotFound, exactly as if it did not exist.
func (s *Store) GetPrivateChannel(ctx context.Context, a chat.Account, id string) (PrivateChannel, error) {
	e, err := s.privateChannel(ctx, strings.TrimPrefix(id, "p:"))
	if err != nil {
		return PrivateChannel{}, fmt.Errorf("store: get private channel: %w", err)
	}
	if e.pc.ID == "" || !e.isMember(a) {
		return PrivateChannel{}, chat.Errorf(chat.ENotFound, "conversation not found")
	}
	return e.pc, nil
}

// UserPrivateChannels lists the private channels account a belongs to, by name.
func (s *Store) UserPrivateChannels(ctx context.Context, a chat.Account) ([]PrivateChannel, error) {
	out, err := s.userPrivateChannels(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("store: list private channels: %w", err)
	}
	return out, nil
}

// PrivateMembers lists the member accounts of a private channel (conversation id), by name.
func (s *Store) PrivateMembers(ctx context.Context, id string) ([]chat.Account, error) {
	e, err := s.privateChannel(ctx, strings.TrimPrefix(id, "p:"))
	if err != nil {
		return nil, fmt.Errorf("store: private channel members: %w", err)
	}
	return slices.Clone(e.members), nil
}

// AddPrivateMember adds account a to the private channel; by must be a member.
func (s *Store) AddPrivateMember(ctx context.Context, by chat.Account, id string, a chat.Account) error {
	if _, err := s.GetPrivateChannel(ctx, by, id); err != nil {
		return err
	}
	key := strings.TrimPrefix(id, "p:")
	var res sql.Result
	err := s.privChange(ctx, key, func(tx *sql.Tx) error {
		// A row of an earlier account of the same name is replaced: the new account is
		// added, and inherits nothing of the old one's.
		if _, err := tx.ExecContext(ctx, "DELETE FROM private_channel_members WHERE channel_id = ? AND username = ? AND user_id != ?", key, a.Name, a.ID); err != nil {
			return err
		}
		var err error
		res, err = tx.ExecContext(ctx, "INSERT OR IGNORE INTO private_channel_members(channel_id, username, user_id, added_ts) VALUES (?, ?, ?, ?)",
			key, a.Name, a.ID, s.Now().Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: add private channel member: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.EConflict, "%s is already a member", a.Name)
	}
	return s.AddUserConversation(ctx, a.Name, id)
}

// LeavePrivateChannel removes account a from the private channel.
func (s *Store) LeavePrivateChannel(ctx context.Context, a chat.Account, id string) error {
	key := strings.TrimPrefix(id, "p:")
	var res sql.Result
	err := s.privChange(ctx, key, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, "DELETE FROM private_channel_members WHERE channel_id = ? AND username = ? AND user_id = ?", key, a.Name, a.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: leave private channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "conversation not found")
	}
	return nil
}
