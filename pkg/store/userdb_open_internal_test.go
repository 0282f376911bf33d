package store

import (
	"context"
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
