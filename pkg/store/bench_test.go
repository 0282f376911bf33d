package store_test

// Benchmarks of the store (fan-out to 1, 100 and 1,000 user databases, a history page,
// cleanup), with the raw modernc.org/sqlite ceiling measured in the same run so that the
// store's fan-out figures can be read against what SQLite itself does on the same machine.
// docs/performance.md has the commands and the figures.
//
//	go test -run '^$' -bench . -benchtime 3s ./pkg/store/

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/store"
)

// cpuTime is the CPU time (user + system, all threads) this process has used. On a machine
// shared with other work, CPU per copy moves far less than wall-clock rates do.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPosters is how many goroutines call PostMessage at once, like as many WebSocket
// connections sending.
const benchPosters = 64

func benchUsers(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("u%04d", i)
	}
	return names
}

func benchBody(i int) (string, string) {
	body := fmt.Sprintf("benchmark message %d: the quick brown fox jumps over the lazy dog", i)
	return body, "<p>" + body + "</p>"
}

// postConcurrently posts n messages from benchPosters goroutines to conv with recipients.
func postConcurrently(tb testing.TB, s *store.Store, n int, conv string, recipients []string) {
	tb.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchPosters)
	for range benchPosters {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				body, html := benchBody(i)
				m := &chat.Message{Conversation: conv, Sender: recipients[i%len(recipients)], Body: body, HTML: html}
				if err := s.PostMessage(ctx, m, recipients); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatalf("post: %v", err)
	}
}

// BenchmarkFanout posts b.N messages (from 64 goroutines) to a channel of 1, 100 and 1,000
// members and waits until every copy is in every member's database: one op is one message,
// journaled, acknowledged and fanned out.
//
// drain-ms, outside the timer, is the time from then until the journal is empty: the fsync
// of the user databases written (one per database, however many commits it had) and the
// removal of the rows.
func BenchmarkFanout(b *testing.B) {
	parent := b
	for _, members := range []int{1, 100, 1000} {
		// One store per size, shared by the runs of b.N the benchmark framework makes, so
		// the 1,000 accounts are created once (outside the timer) and messages pile up as
		// they do in a live server.
		var s *store.Store
		var journal *sql.DB
		names := benchUsers(members)
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			if s == nil {
				dir := parent.TempDir()
				// The posters outrun the fan-out by design (its batches are what is
				// measured): no bound on its backlog refuses them.
				var err error
				if s, err = store.Open(context.Background(), dir, store.Options{FanoutMaxQueued: -1}); err != nil {
					parent.Fatal(err)
				}
				parent.Cleanup(func() { s.Close() })
				MustCreateUsers(parent, s, names...)
				journal = openJournal(parent, dir)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			postConcurrently(b, s, b.N, "c:general", names)
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			el, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			copies := float64(b.N) * float64(members)
			b.ReportMetric(float64(cpu.Nanoseconds())/copies, "cpu-ns/copy")
			b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
			b.ReportMetric(copies/el.Seconds(), "copies/s")
			b.ReportMetric(float64(el.Nanoseconds())/copies, "ns/copy")
			b.ReportMetric(float64(waitJournalEmpty(b, journal).Microseconds())/1000, "drain-ms")
		})
	}
}

// openJournal opens dir's presence.db read-only, to watch the journal.
func openJournal(tb testing.TB, dir string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "presence.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	return db
}

// waitJournalEmpty polls the journal until it has no rows and returns how long that took.
func waitJournalEmpty(tb testing.TB, journal *sql.DB) time.Duration {
	tb.Helper()
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		var n int
		if err := journal.QueryRow("SELECT COUNT(*) FROM journal").Scan(&n); err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return time.Since(start)
		}
		if time.Since(start) > time.Minute {
			tb.Fatalf("journal still holds %d rows after a minute", n)
		}
		<-tick.C
	}
}

// rawDSN is pkg/store/db.go's DSN for a user database (WAL, synchronous=NORMAL).
func rawDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// BenchmarkRawInsertCeiling is what modernc.org/sqlite does on this machine with the user
// schema, DSN and insert of the store (store.Ceiling), without the store around it; one op
// is one row (one copy).
//
//   - one-file-batched: 1,000 rows per transaction into one file (rows/s).
//   - tx-per-copy: one transaction per row, round robin over 1,000 files (copies/s).
//   - group-commit-50, group-commit-200: 50 or 200 rows per file per transaction across
//     1,000 files, written by as many goroutines as the store has fan-out workers
//     (copies/s). This is the ceiling BenchmarkFanout/members=1000 is measured against.
func BenchmarkRawInsertCeiling(b *testing.B) {
	// The files are created once per case (outside the timer) and reused by every run.
	files := map[string]*store.Ceiling{}
	run := func(b *testing.B, c *store.Ceiling, perTx, workers int) {
		b.ReportAllocs()
		b.ResetTimer()
		res, err := c.Insert(context.Background(), b.N, perTx, workers)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.CPUNsPerCopy, "cpu-ns/copy")
		b.ReportMetric(res.CopiesPerSec, "copies/s")
		b.ReportMetric(float64(res.Elapsed.Nanoseconds())/float64(b.N), "ns/copy")
	}
	parent := b
	get := func(name string, n int) *store.Ceiling {
		if files[name] == nil {
			c, err := store.OpenCeiling(context.Background(), parent.TempDir(), n)
			if err != nil {
				parent.Fatal(err)
			}
			parent.Cleanup(func() { c.Close() })
			files[name] = c
		}
		return files[name]
	}
	b.Run("one-file-batched", func(b *testing.B) { run(b, get("a", 1), 1000, 1) })
	b.Run("tx-per-copy", func(b *testing.B) { run(b, get("b", 1000), 1, 4) })
	b.Run("group-commit-50", func(b *testing.B) { run(b, get("c", 1000), 50, 4) })
	b.Run("group-commit-200", func(b *testing.B) { run(b, get("c", 1000), 200, 4) })
}

// historyStore is a store whose users alice and bob hold 10,000 messages of #general each,
// all written.
func historyStore(b *testing.B) (*store.Store, []string) {
	s := MustOpen(b, b.TempDir())
	users := []string{"alice", "bob"}
	MustCreateUsers(b, s, users...)
	postConcurrently(b, s, 10000, "c:general", users)
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s, users
}

// BenchmarkHistoryPage reads the newest 50-message page of a channel from a user database
// holding 10,000 messages.
func BenchmarkHistoryPage(b *testing.B) {
	s, _ := historyStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		page, more, err := s.History(ctx, "alice", "c:general", "", 50)
		if err != nil || len(page) != 50 || !more {
			b.Fatalf("history: %d messages, more=%v, %v", len(page), more, err)
		}
	}
}

// BenchmarkHistoryPageQueued reads the newest page, as BenchmarkHistoryPage, while the
// fan-out holds copies for the reader: before each read a message is posted, whose copy
// lingers in the reader's queue (the default linger). The read either has the queue written
// first or merges it; ns/op is the read alone, tx/read the user-database transactions each
// read caused.
func BenchmarkHistoryPageQueued(b *testing.B) {
	s, users := historyStore(b)
	ctx := context.Background()
	tx0 := s.FanoutStats().Transactions
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		m := &chat.Message{Conversation: "c:general", Sender: "bob", Body: fmt.Sprint("queued ", i), HTML: "<p>queued</p>"}
		if err := s.PostMessage(ctx, m, users); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		page, _, err := s.History(ctx, "alice", "c:general", "", 50)
		if err != nil || len(page) != 50 || page[49].ID != m.ID {
			b.Fatalf("history: %d messages, %v; want the queued one last", len(page), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(s.FanoutStats().Transactions-tx0)/float64(b.N), "tx/read")
}

// BenchmarkCleanupBacklog deletes 50,000 messages past retention spread over 10 user
// databases with DeleteMessagesOlderThan (batches of store.MessageCleanupBatch rows).
func BenchmarkCleanupBacklog(b *testing.B) {
	const dbs, total = 10, 50000
	var offset atomic.Int64 // how far in the past the store's clock runs
	ctx := context.Background()
	s, err := store.Open(ctx, b.TempDir(), store.Options{
		Now: func() time.Time { return time.Now().Add(-time.Duration(offset.Load())) },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	users := benchUsers(dbs)
	MustCreateUsers(b, s, users...)
	cutoff := time.Now().Add(-770 * 24 * time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	var el time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		offset.Store(int64(800 * 24 * time.Hour))
		postConcurrently(b, s, total/dbs, "c:general", users)
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		offset.Store(0)
		b.StartTimer()
		start := time.Now()
		got, err := s.DeleteMessagesOlderThan(ctx, cutoff, false)
		el += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for _, k := range got {
			n += k
		}
		if n != total {
			b.Fatalf("deleted %d rows, want %d", n, total)
		}
	}
	b.ReportMetric(float64(b.N)*total/el.Seconds(), "rows/s")
}

// BenchmarkFanoutLive posts to a channel of 1,000 members one message at a time at a chat
// rate (50 messages/s, the saturating case for a big channel) rather than as fast as
// possible: each user's queue then holds what arrived during the linger. One op is one
// message; cpu-ns/copy is the process's CPU per copy, tx/copy the user-database
// transactions per copy (1 without lingering).
func BenchmarkFanoutLive(b *testing.B) {
	const members, rate = 1000, 50
	names := benchUsers(members)
	for _, linger := range []time.Duration{-1, 20 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, time.Second} {
		b.Run(fmt.Sprintf("linger=%v", max(linger, 0)), func(b *testing.B) {
			ctx := context.Background()
			s, err := store.Open(ctx, b.TempDir(), store.Options{FanoutLinger: linger})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			MustCreateUsers(b, s, names...)
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			st0 := s.FanoutStats()
			tick := time.NewTicker(time.Second / rate)
			defer tick.Stop()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := range b.N {
				<-tick.C
				body, html := benchBody(i)
				m := &chat.Message{Conversation: "c:general", Sender: names[i%members], Body: body, HTML: html}
				if err := s.PostMessage(ctx, m, names); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			el, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			st := s.FanoutStats()
			copies := float64(st.Copies - st0.Copies)
			b.ReportMetric(float64(cpu.Nanoseconds())/copies, "cpu-ns/copy")
			b.ReportMetric(float64(st.Transactions-st0.Transactions)/copies, "tx/copy")
			b.ReportMetric(copies/el.Seconds(), "copies/s")
		})
	}
}

// BenchmarkCreatePrivateChannel creates a private channel of 1,000 members (the accounts are
// made once, outside the timer): each member's database gets the conversation. cold: the
// store is opened again before each run, so no member's database is open yet, as on a server
// where they are not in the handle cache.
func BenchmarkCreatePrivateChannel(b *testing.B) {
	dir := b.TempDir()
	s := MustOpen(b, dir)
	names := benchUsers(1000)
	MustCreateUsers(b, s, names...)
	ctx := context.Background()
	for _, cold := range []bool{false, true} {
		b.Run(fmt.Sprintf("cold=%v", cold), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if cold {
					s.Close()
					s = MustOpen(b, dir)
				}
				d, err := s.Accounts(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := s.CreatePrivateChannel(ctx, fmt.Sprintf("big-%d", i), d.All()[0], d.All()[1:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClose closes a store with 1,000 open user databases, each with a message in its
// WAL: what shutdown does after the last request.
func BenchmarkClose(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		s := MustOpen(b, dir)
		names := benchUsers(1000)
		MustCreateUsers(b, s, names...)
		postConcurrently(b, s, 1, "c:general", names)
		if err := s.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupSession is the session check every request and WebSocket frame makes.
func BenchmarkLookupSession(b *testing.B) {
	ctx := context.Background()
	s := MustOpen(b, b.TempDir())
	a, err := s.CreateUser(ctx, "ann", "x", nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.CreateSession(ctx, "hash", a, time.Now().Add(time.Hour).Unix(), ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.LookupSession(ctx, "hash", 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUserDBMemory is what an open user database costs in memory once its page cache is
// full: 64 members of a channel get 2,500 messages of 1 KiB each (2.5 MiB a database), then
// each op searches every member's database for a word no message has, which reads all of it
// through the cache. rss-KiB/db is the process's RSS growth from before the messages to after
// the searches, per database (the Go heap's free memory returned to the system before each
// reading); with SQLite's default cache (2,000 KiB) it was 4 MiB, each 4 KiB page taking an
// 8 KiB block of modernc.org/memory.
//
//	go test -run '^$' -bench UserDBMemory -benchtime 3x ./pkg/store/
func BenchmarkUserDBMemory(b *testing.B) {
	const members, messages = 64, 2500
	ctx := context.Background()
	s, err := store.Open(ctx, b.TempDir(), store.Options{FanoutMaxQueued: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	names := benchUsers(members)
	MustCreateUsers(b, s, names...)
	rss0 := rssBytes(b)
	pad := strings.Repeat("lorem ipsum ", 40)
	for i := range messages {
		body := fmt.Sprintf("message %d %s", i, pad)
		m := &chat.Message{Conversation: "c:general", Sender: names[i%members], Body: body, HTML: "<p>" + body + "</p>"}
		if err := s.PostMessage(ctx, m, names); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, n := range names {
			if found, err := s.Search(ctx, n, "zebra", 20); err != nil || len(found) != 0 {
				b.Fatalf("search %s: %d found, %v", n, len(found), err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rssBytes(b)-rss0)/members/1024, "rss-KiB/db")
}

// rssBytes is the process's resident set, after the Go heap's free memory went back to the
// system.
func rssBytes(tb testing.TB) int64 {
	tb.Helper()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Fatal(err)
	}
	var size, res int64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		tb.Fatal(err)
	}
	return res * int64(os.Getpagesize())
}
