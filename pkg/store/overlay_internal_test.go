package store

import (
	"context"
	"testing"
	"time"
)

// A read that comes while a batch of the user's is committed but not yet recorded as
// written waits for it, rather than see its messages both in the database and in the queue.
func TestReadMerged_BatchCommittedNotSettled(t *testing.T) {
	ctx := context.Background()
	// Registered first, so it runs last: once the store is closed, no worker reads the hook.
	t.Cleanup(func() { afterWrite = nil })
	s := openJournalStore(t, t.TempDir(), Options{FanoutLinger: time.Hour})
	makeUserDBs(t, s, "alice", "bob")
	committed, resume := make(chan struct{}), make(chan struct{})
	afterWrite = func(user string) {
		if user == "bob" {
			close(committed)
			<-resume
		}
	}
	m := post(t, s, "hi", "alice", "bob")
	go s.Flush(ctx)
	<-committed // bob's batch is in his database and still in flight

	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		page, _, err := s.History(ctx, "bob", m.Conversation, "", 50)
		done <- result{len(page), err}
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			close(resume)
			t.Fatalf("the read answered while bob's batch was unsettled: %d messages, %v", r.n, r.err)
		case <-tick.C:
		}
		s.fanout.mu.Lock()
		q := s.fanout.users["bob"]
		waiting := q != nil && q.urgent
		s.fanout.mu.Unlock()
		if waiting {
			break // the read waits for bob's queue
		}
	}
	close(resume)
	r := <-done
	if r.err != nil || r.n != 1 {
		t.Fatalf("bob's history: %d messages, %v; want the message once", r.n, r.err)
	}
}
