package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// BenchmarkUserDBReopen is what the handle cache's churn costs. Each op reads one user's
// sidebar counts and writes one copy to the user's database, as a browsing user's request and
// the fan-out's next transaction do, going through 64 users in turn: with a cache of 8
// handles every op evicts (closes) one handle and opens another; with 128, none does.
//
//	go test -run '^$' -bench UserDBReopen -benchtime 2000x ./pkg/store/
func BenchmarkUserDBReopen(b *testing.B) {
	for _, handles := range []int{8, 128} {
		b.Run(fmt.Sprintf("handles=%d", handles), func(b *testing.B) { benchUserDBReopen(b, handles) })
	}
}

func benchUserDBReopen(b *testing.B, handles int) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir(), Options{MaxOpenUserDBs: handles, FanoutLinger: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	names := make([]string, 64)
	for i := range names {
		names[i] = fmt.Sprintf("u%02d", i)
		u, err := s.users.acquire(ctx, names[i], true)
		if err != nil {
			b.Fatal(err)
		}
		s.users.release(u)
	}
	for i := range 200 {
		m := &chat.Message{Conversation: "c:general", Sender: names[i%len(names)], Body: "hello", HTML: "<p>hello</p>"}
		if err := s.PostMessage(ctx, m, names); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	opens := s.UserDBOpens()
	b.ResetTimer()
	for i := range b.N {
		name := names[i%len(names)]
		if _, err := s.ConversationStats(ctx, name, []string{"c:general"}, map[string]string{"c:general": ""}); err != nil {
			b.Fatal(err)
		}
		u, err := s.users.acquire(ctx, name, false)
		if err != nil {
			b.Fatal(err)
		}
		m := chat.Message{ID: s.ids.New(time.Now()), Conversation: "c:general", Sender: name, Body: "hi", HTML: "<p>hi</p>"}
		if err := s.fanout.write(ctx, u, []*entry{{op: opPut, msg: m}}); err != nil {
			b.Fatal(err)
		}
		s.users.release(u)
	}
	b.StopTimer()
	b.ReportMetric(float64(s.UserDBOpens()-opens)/float64(b.N), "opens/op")
}

// The handle cache's misses are counted, and those of the fan-out apart from the reads'.
func TestUserDBOpens_FanoutCountedApart(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{MaxOpenUserDBs: 2, FanoutLinger: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	makeUserDBs(t, s, "ann", "ben", "cat") // the cache holds ben and cat
	if s.UserDBOpens() != 3 || s.UserDBFanoutOpens() != 0 {
		t.Fatalf("after creating 3: %d opens, %d by the fan-out", s.UserDBOpens(), s.UserDBFanoutOpens())
	}
	m := &chat.Message{Conversation: "d:ann:cat", Sender: "cat", Body: "hi", HTML: "<p>hi</p>"}
	if err := s.PostMessage(ctx, m, []string{"ann", "cat"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// ann's database was reopened to write her copy (cat's was open); ben's went.
	if s.UserDBOpens() != 4 || s.UserDBFanoutOpens() != 1 {
		t.Fatalf("after a copy to ann: %d opens, %d by the fan-out; want 4, 1", s.UserDBOpens(), s.UserDBFanoutOpens())
	}
	if _, _, err := s.History(ctx, "ben", "d:ann:cat", "", 10); err != nil {
		t.Fatal(err)
	}
	if s.UserDBOpens() != 5 || s.UserDBFanoutOpens() != 1 {
		t.Fatalf("after ben's read: %d opens, %d by the fan-out; want 5, 1", s.UserDBOpens(), s.UserDBFanoutOpens())
	}
}

// Copies to more members than the handle cache holds, in the same order every time: the
// databases a pass found open stay open, and only the members beyond the cache's size are
// opened again. A plain LRU would open all six on every pass, each having been closed to make
// room for the ones after it.
func TestFanout_BigChannelKeepsItsOpenDatabases(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{MaxOpenUserDBs: 4, FanoutWorkers: 1, FanoutLinger: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	members := []string{"u1", "u2", "u3", "u4", "u5", "u6"}
	makeUserDBs(t, s, members...)
	const passes = 10
	opens := s.UserDBFanoutOpens()
	for i := range passes {
		m := &chat.Message{Conversation: "c:general", Sender: "u1", Body: fmt.Sprint(i), HTML: fmt.Sprint(i)}
		if err := s.PostMessage(ctx, m, members); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// At most: all six on the first pass, then the two the cache cannot keep and the one
	// the pass before left at the back of the LRU list.
	got := s.UserDBFanoutOpens() - opens
	if got == 0 {
		t.Fatal("no database opened: 6 members do not fit in 4 handles")
	}
	if want := int64(len(members) + (passes-1)*(len(members)-4+1)); got > want {
		t.Fatalf("the fan-out opened %d databases in %d passes over %d members through 4 handles, want at most %d", got, passes, len(members), want)
	}
	for _, u := range members {
		msgs, _, err := s.History(ctx, u, "c:general", "", 50)
		if err != nil || len(msgs) != passes {
			t.Fatalf("%s has %d copies (%v), want %d", u, len(msgs), err, passes)
		}
	}
}

// pollUntil polls cond (which may fail to get what it needs, and answer false) until it holds,
// failing the test if it still does not after a generous while.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("still waiting for %s", what)
		case <-tick.C:
		}
	}
}

// An evicted handle is closed (a checkpoint and a sync) by the closer, outside the cache's
// lock: while it closes, neither the request that evicted it nor one whose handle is in the
// cache waits, and the evicted one's file is opened again once its close is done.
func TestUserDBs_CloseOfEvictedHandleHoldsNoOneElse(t *testing.T) {
	ctx := context.Background()
	c := newUserDBs(t.TempDir(), 1, "")
	a, err := c.acquire(ctx, "ann", true)
	if err != nil {
		t.Fatal(err)
	}
	c.release(a)

	// A close that takes long: closing a handle takes its mutex first.
	a.mu.Lock()
	returned := func(what string, acquire func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- acquire() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s waited for another handle's close", what)
		}
	}
	take := func(name string, create bool) func() error {
		return func() error {
			u, err := c.acquire(ctx, name, create)
			if err == nil {
				c.release(u)
			}
			return err
		}
	}
	returned("opening ben, which evicts ann", take("ben", true))
	pollUntil(t, "ann's handle closing", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.closing["ann"] == 1 && c.closer
	})
	returned("taking ben's cached handle", take("ben", false))

	// ann's file is opened again once her evicted handle is closed.
	annAgain := make(chan error, 1)
	go func() { annAgain <- take("ann", false)() }()
	a.mu.Unlock()
	if err := <-annAgain; err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "every evicted handle closed", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.closing) == 0 && !c.closer
	})
	c.closeAll(ctx)
}

// Every connection to a user database, the first and one opened again after an eviction,
// has the small page cache; the shared databases keep SQLite's.
func TestUserDB_PageCacheBounded(t *testing.T) {
	ctx := context.Background()
	s := openJournalStore(t, t.TempDir(), Options{MaxOpenUserDBs: 1, FanoutLinger: -1})
	makeUserDBs(t, s, "ann", "ben") // ann's handle is evicted by ben's
	cacheSize := func(db *sql.DB) (n int) {
		t.Helper()
		if err := db.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, name := range []string{"ben", "ann"} {
		u, err := s.users.acquire(ctx, name, false)
		if err != nil {
			t.Fatal(err)
		}
		got := cacheSize(u.db)
		s.users.release(u)
		if got != -UserDBCacheKiB {
			t.Errorf("%s's database: cache_size %d, want %d", name, got, -UserDBCacheKiB)
		}
	}
	if got := cacheSize(s.auth.R); got != -2000 {
		t.Errorf("auth.db: cache_size %d, want SQLite's default -2000", got)
	}
}
