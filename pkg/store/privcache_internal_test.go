package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

var (
	privAnn = chat.Account{Name: "ann", ID: "1"}
	privBen = chat.Account{Name: "ben", ID: "2"}
	privCat = chat.Account{Name: "cat", ID: "3"}
)

// privChannelStore opens a store in a temporary directory with the accounts ann, ben and cat,
// and a private channel "ops" of ann and ben.
func privChannelStore(t *testing.T) (string, *Store, PrivateChannel) {
	t.Helper()
	dir := t.TempDir()
	s := openJournalStore(t, dir, Options{})
	makeUserDBs(t, s, "ann", "ben", "cat")
	pc, err := s.CreatePrivateChannel(context.Background(), "ops", privAnn, []chat.Account{privBen})
	if err != nil {
		t.Fatal(err)
	}
	return dir, s, pc
}

// Private channels are read through a cache: the store's own changes show at once, a
// change made by hand in presence.db at the next check of its version (privCheckEvery).
func TestPrivateChannelCache(t *testing.T) {
	ctx := context.Background()
	dir, s, pc := privChannelStore(t)
	ann, ben, cat := privAnn, privBen, privCat
	names := func() []string {
		t.Helper()
		ms, err := s.PrivateMembers(ctx, pc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	if got := names(); len(got) != 2 || got[0] != "ann" || got[1] != "ben" {
		t.Fatalf("members %v, want [ann ben]", got)
	}
	if _, err := s.GetPrivateChannel(ctx, cat, pc.ID); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("cat sees the channel: %v", err)
	}
	// Another account of a member's name is not a member.
	if _, err := s.GetPrivateChannel(ctx, chat.Account{Name: "ben", ID: "9"}, pc.ID); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("a new account named ben sees the channel: %v", err)
	}
	if err := s.AddPrivateMember(ctx, ann, pc.ID, cat); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetPrivateChannel(ctx, cat, pc.ID); err != nil || got.Name != "ops" {
		t.Fatalf("cat right after being added: %+v, %v", got, err)
	}
	if err := s.LeavePrivateChannel(ctx, ben, pc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPrivateChannel(ctx, ben, pc.ID); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("ben right after leaving: %v", err)
	}

	// By hand, as the guide's manual account deletion does.
	db, err := sql.Open("sqlite", filepath.Join(dir, "presence.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM private_channel_members WHERE username = 'cat'"); err != nil {
		t.Fatal(err)
	}
	s.priv.age()
	if _, err := s.GetPrivateChannel(ctx, cat, pc.ID); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("cat still a member after the manual deletion was checked for: %v", err)
	}
	if got := names(); len(got) != 1 || got[0] != "ann" {
		t.Fatalf("members %v after the manual deletion, want [ann]", got)
	}
}

// age makes the next request check private_channels_version, as it does once privCheckEvery
// has passed.
func (c *privCache) age() {
	c.mu.Lock()
	c.checked = time.Time{}
	c.mu.Unlock()
}

// The cache reads presence.db again only when private_channels_version has moved: while
// nothing changes, a check costs one read of the counter and nothing else; a change by hand
// (another connection, as the sqlite3 shell) to either table is seen at the next check, and a
// change the store makes at once.
func TestPrivateChannelCache_ReadsOnlyWhenChanged(t *testing.T) {
	ctx := context.Background()
	dir, s, pc := privChannelStore(t)
	ann, ben, cat := privAnn, privBen, privCat
	lists := func(a chat.Account) []string {
		t.Helper()
		l, err := s.UserPrivateChannels(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range l {
			out = append(out, p.Name)
		}
		return out
	}
	member := func(a chat.Account) bool {
		t.Helper()
		_, err := s.GetPrivateChannel(ctx, a, pc.ID)
		if err != nil && chat.ErrorCode(err) != chat.ENotFound {
			t.Fatal(err)
		}
		return err == nil
	}
	if !member(ann) || !member(ben) || member(cat) || !slices.Equal(lists(ann), []string{"ops"}) || lists(cat) != nil {
		t.Fatal("wrong members or lists after creation")
	}
	// Ids that name no channel are answered as such and not kept: anyone can ask for them.
	for i := range 3 {
		if _, err := s.GetPrivateChannel(ctx, ann, fmt.Sprintf("p:nope%d", i)); chat.ErrorCode(err) != chat.ENotFound {
			t.Fatalf("a channel that does not exist: %v", err)
		}
	}
	s.priv.mu.Lock()
	kept := s.priv.m.len()
	s.priv.mu.Unlock()
	if kept != 1 {
		t.Fatalf("%d channels kept, want 1 (ops)", kept)
	}
	reads := s.priv.reads.Load()
	for range 3 {
		s.priv.age()
		if !member(ann) || member(cat) || !slices.Equal(lists(ben), []string{"ops"}) {
			t.Fatal("wrong answer from the cache")
		}
	}
	// ben's list was not read before: one read; nothing else was read again.
	if got := s.priv.reads.Load() - reads; got != 1 {
		t.Fatalf("%d reads of presence.db while nothing changed, want 1 (ben's list)", got)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "presence.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"INSERT INTO private_channel_members(channel_id, username, user_id, added_ts) VALUES ('" + strings.TrimPrefix(pc.ID, "p:") + "', 'cat', '3', 0)",
		"UPDATE private_channels SET name = 'ops-2'",
		"DELETE FROM private_channel_members WHERE username = 'ann'",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
		s.priv.age()
		switch {
		case strings.HasPrefix(q, "INSERT"):
			if !member(cat) || !slices.Equal(lists(cat), []string{"ops"}) {
				t.Fatalf("after %q: cat is not listed as a member", q)
			}
		case strings.HasPrefix(q, "UPDATE"):
			if got, err := s.GetPrivateChannel(ctx, cat, pc.ID); err != nil || got.Name != "ops-2" {
				t.Fatalf("after %q: %+v, %v", q, got, err)
			}
			if !slices.Equal(lists(ben), []string{"ops-2"}) {
				t.Fatalf("after %q: ben's list %v", q, lists(ben))
			}
		default:
			if member(ann) || lists(ann) != nil {
				t.Fatalf("after %q: ann still a member", q)
			}
		}
	}
	// The store's own change, without a check.
	if err := s.LeavePrivateChannel(ctx, ben, pc.ID); err != nil {
		t.Fatal(err)
	}
	if member(ben) || lists(ben) != nil {
		t.Fatal("ben still a member right after leaving")
	}
}

// A read that began before a change is not cached after it: the change (a drop, or a check
// that found private_channels_version moved) bumps the generation the read must still see.
func TestPrivateChannelCache_ReadBeforeChangeNotKept(t *testing.T) {
	var c privCache
	gen := c.gen
	c.drop("k")
	privStore(&c, gen, &c.m, "k", &privChannel{}, 1)
	privStore(&c, gen, &c.lists, privAccount{"ann", "1"}, nil, 1)
	if c.m.len() != 0 || c.lists.len() != 0 {
		t.Fatalf("a read from before the change was kept: %v, %v", c.m, c.lists)
	}
	privStore(&c, c.gen, &c.m, "k", &privChannel{}, 1)
	if c.m.len() != 1 {
		t.Fatal("a read from after the change was not kept")
	}
}

// The store's own change to one channel drops that channel (and the accounts' lists) and
// nothing else: the version it moved is taken as seen, so the next check does not drop every
// channel. A change by another connection before it still makes the check drop everything.
func TestPrivateChannelCache_OwnChangeKeepsOthers(t *testing.T) {
	ctx := context.Background()
	dir, s, ops := privChannelStore(t)
	dev, err := s.CreatePrivateChannel(ctx, "dev", privBen, []chat.Account{privCat})
	if err != nil {
		t.Fatal(err)
	}
	get := func(a chat.Account, id string) PrivateChannel {
		t.Helper()
		pc, err := s.GetPrivateChannel(ctx, a, id)
		if err != nil {
			t.Fatal(err)
		}
		return pc
	}
	get(privAnn, ops.ID)
	get(privCat, dev.ID)
	reads := s.priv.reads.Load()
	// A change that changes nothing (ben is a member already) drops nothing.
	if err := s.AddPrivateMember(ctx, privAnn, ops.ID, privBen); chat.ErrorCode(err) != chat.EConflict {
		t.Fatalf("adding a member twice: %v", err)
	}
	s.priv.age()
	get(privBen, ops.ID)
	if got := s.priv.reads.Load() - reads; got != 0 {
		t.Fatalf("%d reads after a change that changed nothing, want 0", got)
	}
	if err := s.AddPrivateMember(ctx, privAnn, ops.ID, privCat); err != nil {
		t.Fatal(err)
	}
	s.priv.age()
	get(privCat, ops.ID) // dropped by the change: read again
	get(privCat, dev.ID) // kept
	if got := s.priv.reads.Load() - reads; got != 1 {
		t.Fatalf("%d reads after the store's change to one channel, want 1 (that channel)", got)
	}

	// By hand, then the store's own change: the check must still drop dev.
	db, err := sql.Open("sqlite", filepath.Join(dir, "presence.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE private_channels SET name = 'dev-2' WHERE name = 'dev'"); err != nil {
		t.Fatal(err)
	}
	if err := s.LeavePrivateChannel(ctx, privCat, ops.ID); err != nil {
		t.Fatal(err)
	}
	s.priv.age()
	if got := get(privCat, dev.ID); got.Name != "dev-2" {
		t.Fatalf("dev is %q after a change by hand and a check, want dev-2", got.Name)
	}
}

// Past its bound the cache makes room by evicting entries, not by emptying itself: with
// more channels than fit, those kept still fill it.
func TestPrivMap_EvictsWithinBound(t *testing.T) {
	var p privMap[int, int]
	const w = 1000
	fit := privCacheMax / w
	for i := range fit * 3 / 2 {
		p.put(i, i, w)
		if p.weight > privCacheMax {
			t.Fatalf("weight %d past the bound %d", p.weight, privCacheMax)
		}
	}
	if p.len() != fit || p.weight != fit*w {
		t.Fatalf("%d entries of weight %d kept, want %d (%d)", p.len(), p.weight, fit, fit*w)
	}
	if v, ok := p.get(fit*3/2 - 1); !ok || v != fit*3/2-1 {
		t.Fatal("the entry just put is not kept")
	}
	p.put(-1, -1, privCacheMax+1)
	if _, ok := p.get(-1); ok || p.len() != fit {
		t.Fatal("an entry heavier than the bound was kept, or evicted others")
	}
	p.put(0, 7, w) // replacing keeps the weight right
	if p.weight != fit*w {
		t.Fatalf("weight %d after replacing an entry, want %d", p.weight, fit*w)
	}
}
