package webserver

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/hub"
)

// twoWriters is a server whose writers take turns one at a time, with a turn handed on after
// stall, and two accounts' connections to it: a, whose writes wait until released, and b.
func twoWriters(t *testing.T, stall time.Duration) (s *Server, a, b wsPair, release func()) {
	t.Helper()
	s = &Server{Hub: hub.New()}
	s.Init()
	s.turns.max, s.turns.stallAfter = 1, stall
	a, _ = newHubPairOn(t, s, "ua")
	b, _ = newHubPairOn(t, s, "ub")
	release = a.writes.hold()
	t.Cleanup(release)
	return s, a, b, release
}

// publishTo sends account user a typing event that names it.
func publishTo(s *Server, user string) {
	s.Hub.Publish([]string{user}, chat.Typing{Conversation: "c", User: user})
}

// readTyping reads the next frame at p's client and checks it is user's typing event.
func readTyping(t *testing.T, ctx context.Context, p wsPair, user string) {
	t.Helper()
	_, b, err := p.client.Read(ctx)
	if err != nil {
		t.Fatalf("%s: %v", user, err)
	}
	if want := `"user":"` + user + `"`; !strings.Contains(string(b), want) {
		t.Fatalf("%s read %s", user, b)
	}
}

// publishWhileAWrites sends ua an event, waits until a's writer is in its (held) write, and
// then sends ub one.
func publishWhileAWrites(t *testing.T, ctx context.Context, s *Server, a wsPair) {
	t.Helper()
	publishTo(s, "ua")
	select {
	case <-a.writes.held:
	case <-ctx.Done():
		t.Fatal("a's write never started")
	}
	publishTo(s, "ub")
}

// stateOf reads wc's place among the writers.
func stateOf(s *Server, wc *wsConn) wsState {
	s.turns.mu.Lock()
	defer s.turns.mu.Unlock()
	return wc.state
}

// At most max writers write at once: while a's writer holds the only turn (its write waits),
// b's frame waits in line, no writer started for it, and goes out when a's write ends.
func TestWSTurns_AtMostMaxWriteAtOnce(t *testing.T) {
	s, a, b, release := twoWriters(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	before := b.writes.count()
	publishWhileAWrites(t, ctx, s, a)
	if st := stateOf(s, b.server); st != wsQueued {
		t.Fatalf("b's state = %d while a writes, want in line (%d)", st, wsQueued)
	}
	if n := b.writes.count() - before; b.server.writing.Load() || n != 0 {
		t.Fatalf("b's writer started (%v) or wrote (%d writes) before its turn", b.server.writing.Load(), n)
	}
	release()
	readTyping(t, ctx, a, "ua")
	readTyping(t, ctx, b, "ub")
	if n := s.WSWriteStalls(); n != 0 {
		t.Fatalf("%d turns handed on as stalled, want 0", n)
	}
}

// A writer whose write stalls (a client that does not read) has its turn handed on: b is
// written to while a's write still waits, and a's frame goes out once it can.
func TestWSTurns_StalledWriteIsHandedOn(t *testing.T) {
	s, a, b, release := twoWriters(t, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	publishWhileAWrites(t, ctx, s, a)
	readTyping(t, ctx, b, "ub")
	// b's own write may outlast the millisecond too, and be counted.
	if n := s.WSWriteStalls(); n < 1 {
		t.Fatalf("%d turns handed on as stalled, want a's at least", n)
	}
	release()
	readTyping(t, ctx, a, "ua")
	// Both writers leave their turns: nothing is left in line or holding one.
	for {
		s.turns.mu.Lock()
		active, waiting := s.turns.active, len(s.turns.line)-s.turns.head
		s.turns.mu.Unlock()
		if active == 0 && waiting == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d turns held, %d in line after both writes", active, waiting)
		}
		runtime.Gosched()
	}
}
