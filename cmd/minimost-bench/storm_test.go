package main

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestHelloPositionKeepsSeqOnTheSameBoot(t *testing.T) {
	boot, last, set := helloPosition("", 0, false, "b1", 40)
	if boot != "b1" || last != 40 || !set {
		t.Fatalf("first hello: %q %d %v, want b1 40 true", boot, last, set)
	}
	// Events seen meanwhile moved last on; a reconnect to the same daemon keeps it.
	if boot, last, _ = helloPosition(boot, 57, set, "b1", 90); boot != "b1" || last != 57 {
		t.Errorf("same boot: %q %d, want b1 57", boot, last)
	}
	// A restarted daemon counts afresh.
	if boot, last, _ = helloPosition("b1", 57, true, "b2", 3); boot != "b2" || last != 3 {
		t.Errorf("new boot: %q %d, want b2 3", boot, last)
	}
}

func TestResumeQuery(t *testing.T) {
	if q := resumeQuery("", 0, false); q != "" {
		t.Errorf("before any hello: %q, want none", q)
	}
	if q := resumeQuery("a b&c", 12, true); q != "?boot=a+b%26c&since=12" {
		t.Errorf("resume query = %q", q)
	}
}

func TestStormSummary(t *testing.T) {
	var r stormResult
	r.summarize([]int64{2, 3, 1, 2}, 4, 2*time.Second, 4*time.Second)
	if r.ReconnectPerS != 2 || r.PresenceAvg != 2 || r.PresenceMax != 3 || r.PresencePerS != 0.5 || r.WindowS != 4 {
		t.Errorf("summary = %+v", r)
	}
	var empty stormResult
	empty.summarize(nil, 0, 0, 0)
	if empty.ReconnectPerS != 0 || empty.PresenceAvg != 0 || empty.PresencePerS != 0 {
		t.Errorf("empty summary = %+v, want zeros", empty)
	}
}

// resetAll drops every connection dialled through the set with a TCP reset, and forgets them.
func TestConnSetResetsEveryConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var s connSet
	ctx := context.Background()
	for range 3 {
		if _, err := s.dial(ctx, "tcp", ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
	}
	closed, err := s.dial(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close() // closed by its user: no longer in the set
	if n := s.resetAll(); n != 3 {
		t.Errorf("reset %d connections, want 3", n)
	}
	if n := s.resetAll(); n != 0 {
		t.Errorf("second reset: %d connections, want 0", n)
	}
	for range 3 {
		c := <-accepted
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("server side read after the reset: %v, want connection reset", err)
		}
		if errors.Is(err, io.EOF) {
			t.Errorf("a FIN, not a reset")
		}
		c.Close()
	}
}
