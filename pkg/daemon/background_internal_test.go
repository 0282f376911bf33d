package daemon

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Free heap is returned when it is at least 64 MiB and a quarter of the heap in use.
func TestMemoryToReturn(t *testing.T) {
	for _, tc := range []struct {
		free, live uint64
		want       bool
	}{
		{159 << 20, 190 << 20, true}, // 10,000 idle sockets after they connected
		{63 << 20, 10 << 20, false},  // too little to be worth a collection
		{64 << 20, 256 << 20, true},
		{64 << 20, 257 << 20, false}, // a small part of a busy heap: reused soon
	} {
		if got := memoryToReturn(tc.free, tc.live); got != tc.want {
			t.Errorf("memoryToReturn(%d MiB free, %d MiB live) = %v, want %v", tc.free>>20, tc.live>>20, got, tc.want)
		}
	}
}

// returnMemory releases when what it reads is worth it, not otherwise, and not again within
// its minimum gap; a collection's end makes it look at once.
func TestReturnMemory_ReleasesWhenWorthIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var free atomic.Uint64
	released := make(chan struct{}, 16)
	reads := make(chan struct{}, 16)
	read := func() (uint64, uint64) {
		reads <- struct{}{}
		return free.Load(), 100 << 20
	}
	gc := make(chan struct{})
	// The ticker's period is far longer than the test: only gc makes it look.
	go returnMemory(ctx, time.Hour, time.Hour, gc, read, func() { released <- struct{}{} })
	// Little free memory: it reads, nothing is released.
	for range 3 {
		gc <- struct{}{}
		select {
		case <-reads:
		case <-released:
			t.Fatal("released 0 bytes of free memory")
		}
	}
	if len(released) != 0 {
		t.Fatal("released 0 bytes of free memory")
	}
	free.Store(200 << 20)
	gc <- struct{}{}
	<-reads
	<-released
	// Within the gap it does not even look.
	gc <- struct{}{}
	gc <- struct{}{} // taken only once the one before was handled
	if len(reads) != 0 || len(released) != 0 {
		t.Fatalf("looked %d times and released %d times within the gap", len(reads), len(released))
	}
}

// The sentinel's finalizer tells of collections until stopped.
func TestNotifyGC(t *testing.T) {
	ch := make(chan struct{}, 1)
	stop := make(chan struct{})
	defer close(stop)
	notifyGC(ch, stop)
	for range 2 {
		runtime.GC()
		<-ch
	}
}
