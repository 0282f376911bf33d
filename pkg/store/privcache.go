package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// Every request about a private channel, and every post to one, resolves the channel and
// its members, and every sidebar lists the reader's private channels; a post to a channel of
// 100 members read them from presence.db each time (6 % of the daemon's CPU at 20 such
// channels × 100 members), and with 2,500 people browsing these reads were 15 % of the
// daemon's CPU and kept presence.db's four read connections busy. privCache keeps them in
// memory. The store's own changes drop what they change at once. Every privCheckEvery, one
// read of private_channels_version (a counter that triggers bump on every change to the two
// tables, whoever makes it) tells whether anything changed; if it did, everything cached is
// dropped. So a change made by hand with sqlite3 (the guide's manual account deletion) is
// seen within privCheckEvery, and nothing is read again while nothing changes.
const privCheckEvery = 2 * time.Second

// privCacheMax bounds the weight of each of the cache's maps: an entry weighs one plus the
// accounts or channels it lists, about 64 bytes each, so each map holds at most ~32 MiB. Past
// it, entries picked at random make room: emptying the map instead made an organisation with
// more channels than the bound read every channel again on every sidebar.
const privCacheMax = 1 << 19

// privChannel is a private channel with its members, as read at a moment.
type privChannel struct {
	pc      PrivateChannel // ID empty: no such channel
	members []chat.Account // by name
}

type privCache struct {
	mu sync.Mutex
	m  privMap[string, *privChannel] // by key (the id without "p:")
	// lists holds each account's private channels (UserPrivateChannels), by name and id.
	lists privMap[privAccount, []PrivateChannel]
	// gen is bumped by every drop, so that a read that began before a change is not cached
	// after it.
	gen uint64
	// version is private_channels_version when it was last read, at checked, or as the
	// store's own change left it.
	version int64
	checked time.Time
	// checking is held by the one request that reads the version.
	checking sync.Mutex
	// reads counts the reads of presence.db the cache made (tests).
	reads atomic.Int64
}

type privAccount struct{ name, id string }

// privMap is a map of the cache with the sum of its entries' weights.
type privMap[K comparable, V any] struct {
	m      map[K]privEntry[V]
	weight int
}

type privEntry[V any] struct {
	v V
	w int
}

func (p *privMap[K, V]) get(k K) (V, bool) {
	e, ok := p.m[k]
	return e.v, ok
}

func (p *privMap[K, V]) len() int { return len(p.m) }

func (p *privMap[K, V]) delete(k K) {
	if e, ok := p.m[k]; ok {
		p.weight -= e.w
		delete(p.m, k)
	}
}

func (p *privMap[K, V]) clear() {
	clear(p.m)
	p.weight = 0
}

// put keeps v, of weight w, under k, evicting entries at random (a map's order of
// iteration) until it fits within privCacheMax. An entry heavier than that is not kept.
func (p *privMap[K, V]) put(k K, v V, w int) {
	if w > privCacheMax {
		return
	}
	if p.m == nil {
		p.m = map[K]privEntry[V]{}
	}
	p.delete(k)
	for p.weight+w > privCacheMax {
		for victim := range p.m {
			p.delete(victim)
			break
		}
	}
	p.m[k] = privEntry[V]{v, w}
	p.weight += w
}

// drop forgets channel key ("" for every channel), and every account's list.
func (c *privCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(key)
}

func (c *privCache) dropLocked(key string) {
	c.gen++
	c.lists.clear()
	if key == "" {
		c.m.clear()
		return
	}
	c.m.delete(key)
}

// changed records the store's own change to channel key ("" for any number of channels),
// which moved private_channels_version from before to after: it drops what changed and, when
// the cache was current at before (nothing else changed the tables since it last looked),
// takes after as the version it has seen, so that the next check does not drop everything
// for a change already accounted for. A full drop leaves nothing to be stale.
func (c *privCache) changed(key string, before, after int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(key)
	if key == "" || c.version == before {
		c.version = after
	}
}

const privVersionSQL = "SELECT n FROM private_channels_version"

// privChange runs fn, the store's change to channel key ("" for changes to any number of
// channels), in one transaction of presence.db, and tells the cache (changed). It reads the
// version before and after fn in the same transaction, which holds the write lock, so no
// other writer's change is counted as this one's.
func (s *Store) privChange(ctx context.Context, key string, fn func(*sql.Tx) error) error {
	var before, after int64
	err := withTx(ctx, s.presence.W, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, privVersionSQL).Scan(&before); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, privVersionSQL).Scan(&after)
	})
	switch {
	case err != nil:
		s.priv.drop(key)
		return err
	case after == before:
		// No row of the two tables changed (as when an account is created and no earlier
		// account of its name left any): everything kept is still right.
		return nil
	}
	s.priv.changed(key, before, after)
	return nil
}

// privBegin makes sure that what the cache holds was valid at most privCheckEvery ago, and
// returns the generation a read that starts now must still see to be cached.
func (s *Store) privBegin(ctx context.Context) (uint64, error) {
	c := &s.priv
	c.mu.Lock()
	if time.Since(c.checked) < privCheckEvery {
		defer c.mu.Unlock()
		return c.gen, nil
	}
	c.mu.Unlock()
	c.checking.Lock()
	defer c.checking.Unlock()
	c.mu.Lock()
	if time.Since(c.checked) < privCheckEvery {
		// Checked by another request meanwhile.
		defer c.mu.Unlock()
		return c.gen, nil
	}
	c.mu.Unlock()
	at := time.Now()
	var n int64
	if err := s.presence.R.QueryRowContext(ctx, privVersionSQL).Scan(&n); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n != c.version {
		c.gen++
		c.m.clear()
		c.lists.clear()
		c.version = n
	}
	c.checked = at
	return c.gen, nil
}

// privStore caches a read of weight w that began at generation gen, unless something changed
// since.
func privStore[K comparable, V any](c *privCache, gen uint64, m *privMap[K, V], k K, v V, w int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	m.put(k, v, w)
}

// privateChannel returns channel key with its members.
func (s *Store) privateChannel(ctx context.Context, key string) (*privChannel, error) {
	c := &s.priv
	gen, err := s.privBegin(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if e, ok := c.m.get(key); ok {
		c.mu.Unlock()
		return e, nil
	}
	c.mu.Unlock()

	c.reads.Add(1)
	e := &privChannel{}
	err = s.presence.R.QueryRowContext(ctx, "SELECT name, creator, created_ts FROM private_channels WHERE id = ?", key).
		Scan(&e.pc.Name, &e.pc.Creator, &e.pc.CreatedTS)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Not kept: the key comes from the request, and keeping every key asked for would
		// let anyone fill the cache (and so empty it) with ids that do not exist.
		return e, nil
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
	privStore(c, gen, &c.m, key, e, 1+len(e.members))
	return e, nil
}

// userPrivateChannels returns the private channels account a belongs to, by name.
func (s *Store) userPrivateChannels(ctx context.Context, a chat.Account) ([]PrivateChannel, error) {
	c := &s.priv
	gen, err := s.privBegin(ctx)
	if err != nil {
		return nil, err
	}
	k := privAccount{a.Name, a.ID}
	c.mu.Lock()
	if l, ok := c.lists.get(k); ok {
		c.mu.Unlock()
		return slices.Clone(l), nil
	}
	c.mu.Unlock()

	c.reads.Add(1)
	rows, err := s.presence.R.QueryContext(ctx, `SELECT c.id, c.name, c.creator, c.created_ts FROM private_channels c
		JOIN private_channel_members m ON m.channel_id = c.id WHERE m.username = ? AND m.user_id = ? ORDER BY c.name, c.id`, a.Name, a.ID)
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
	if err := rows.Err(); err != nil {
		return nil, err
	}
	privStore(c, gen, &c.lists, k, out, 1+len(out))
	return slices.Clone(out), nil
}

// isMember reports whether account a (name and id) is among e's members.
func (e *privChannel) isMember(a chat.Account) bool {
	i, found := slices.BinarySearchFunc(e.members, a.Name, func(m chat.Account, name string) int { return strings.Compare(m.Name, name) })
	return found && e.members[i].ID == a.ID
}
