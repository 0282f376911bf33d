package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// Every request about a private channel, and every post to one, resolves the channel and
// its members; a post to a channel of 100 members read them from presence.db each time (6 %
// of the daemon's CPU at 20 such channels × 100 members, and the busiest of presence.db's
// four read connections when 2,500 people browse). privCache keeps each channel read for
// privCacheTTL. The store's own changes to a channel drop its entry at once; a change made by
// hand with sqlite3 (the guide's manual account deletion) is seen within privCacheTTL.
const privCacheTTL = 2 * time.Second

// privCacheSweep is the number of entries past which expired ones are dropped.
const privCacheSweep = 4096

// privChannel is a private channel with its members, as read at a moment.
type privChannel struct {
	pc      PrivateChannel // ID empty: no such channel
	members []chat.Account // by name
	read    time.Time
}

type privCache struct {
	mu sync.Mutex
	m  map[string]*privChannel // by key (the id without "p:")
	// gen is bumped by every drop, so that a read that began before a change is not cached
	// after it.
	gen uint64
}

// drop forgets channel key ("" for every channel).
func (c *privCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if key == "" {
		clear(c.m)
		return
	}
	delete(c.m, key)
}

// privateChannel returns channel key with its members, from the cache when it was read less
// than privCacheTTL ago.
func (s *Store) privateChannel(ctx context.Context, key string) (*privChannel, error) {
	c := &s.priv
	now := time.Now()
	c.mu.Lock()
	if e := c.m[key]; e != nil && now.Sub(e.read) < privCacheTTL {
		c.mu.Unlock()
		return e, nil
	}
	gen := c.gen
	c.mu.Unlock()

	e := &privChannel{read: now}
	err := s.presence.R.QueryRowContext(ctx, "SELECT name, creator, created_ts FROM private_channels WHERE id = ?", key).
		Scan(&e.pc.Name, &e.pc.Creator, &e.pc.CreatedTS)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, err
	default:
		e.pc.ID = "p:" + key
		rows, err := s.presence.R.QueryContext(ctx, "SELECT user_id, username FROM private_channel_members WHERE channel_id = ? ORDER BY username", key)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var a chat.Account
			if err := rows.Scan(&a.ID, &a.Name); err != nil {
				return nil, err
			}
			e.members = append(e.members, a)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		if c.m == nil {
			c.m = map[string]*privChannel{}
		}
		if len(c.m) >= privCacheSweep {
			for k, old := range c.m {
				if now.Sub(old.read) >= privCacheTTL {
					delete(c.m, k)
				}
			}
		}
		c.m[key] = e
	}
	return e, nil
}

// isMember reports whether account a (name and id) is among e's members.
func (e *privChannel) isMember(a chat.Account) bool {
	i, found := slices.BinarySearchFunc(e.members, a.Name, func(m chat.Account, name string) int { return strings.Compare(m.Name, name) })
	return found && e.members[i].ID == a.ID
}
