package store_test

import (
	"context"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
)

// BenchmarkThreadSummary reads the summary of one thread (50 replies) in a channel of 10,000
// messages: what every thread reply's event and every history page with a root do. The
// partial index of replies (migration 0004) keeps it from reading the whole channel.
func BenchmarkThreadSummary(b *testing.B) {
	s := MustOpen(b, b.TempDir())
	users := []string{"alice", "bob"}
	MustCreateUsers(b, s, users...)
	ctx := context.Background()
	root := &chat.Message{Conversation: "c:general", Sender: "alice", Body: "root", HTML: "<p>root</p>"}
	if err := s.PostMessage(ctx, root, users); err != nil {
		b.Fatal(err)
	}
	postConcurrently(b, s, 10000, "c:general", users)
	for i := range 50 {
		m := &chat.Message{Conversation: "c:general", Sender: users[i%2], Body: "reply", HTML: "<p>reply</p>", ThreadRoot: root.ID}
		if err := s.PostMessage(ctx, m, users); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sums, err := s.ThreadSummaries(ctx, "alice", "c:general", []string{root.ID})
		if err != nil || sums[root.ID].Replies != 50 {
			b.Fatalf("summary %+v, %v", sums[root.ID], err)
		}
	}
}
