package webserver

import (
	"container/heap"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minimost/minimost/pkg/hub"
)

// The connections' writers take turns: at most wsTurns.max of them write at once (as many
// as the Go runtime has processors), the others wait in line without running. A message
// into a channel of 2,500 members queues a frame for 2,500 connections; if each woke its
// own writer, 2,500 goroutines would become runnable at once, and every HTTP request and
// every frame a client sends would wait behind all of their writes (about 50–100 ms of
// CPU on two cores) before it ran. Instead the hub's push puts a connection in line (or in
// the pacer's heap, below), and a writer that finishes hands its turn to the next in line:
// the writes go out one after the other, while requests run between them.
//
// A busy connection's writes are paced (wsPace): a connection written to less than its pace
// ago does not queue at once; the pacer (one goroutine for all connections, running only
// while some connection waits out its pace) puts it in line when its pace is out, or the
// hub's push does when wsCoalesceMax frames are queued or the subscription ended. The frames
// that arrive meanwhile share the next write.
//
// A write that stalls (a client that does not read, until the socket's buffer is full, or
// a writer kept off the processor) must not hold up everyone's writes: a turn held for
// wsStall is handed on anyway, and the stalled writer finishes on its own (within
// wsWriteTimeout, which then closes the connection).

// wsState is where a connection's writer is; guarded by wsTurns.mu.
type wsState uint8

const (
	wsNoWriter wsState = iota // no writer goroutine: nothing was written for wsWriterIdle
	wsWaiting                 // the writer waits for frames (until wsWriterIdle has passed)
	wsPacing                  // frames are queued; the connection waits out its pace
	wsQueued                  // frames are queued; the connection is in line for a turn
	wsWriting                 // the writer holds a turn (or held one that stalled)
	wsDone                    // the connection has ended: nothing more is written to it
)

// wsStall is how long a writer may hold a turn before it is handed on.
const wsStall = 50 * time.Millisecond

// wsTurns is the line of connections waiting to be written to, one for each Server.
type wsTurns struct {
	mu sync.Mutex
	// max is how many writers may write at once (0 until the first turn: GOMAXPROCS), and
	// stallAfter how long a turn may be held (0 until then: wsStall); tests set them.
	max        int
	stallAfter time.Duration
	active     int
	// line holds the connections waiting for a turn, the first at line[head].
	line []*wsConn
	head int
	// pacing holds the connections waiting out their pace, the soonest first; an entry
	// whose connection has since left that state (or entered it again, later) is stale.
	pacing paceHeap
	// pacerAt is when the pacer goroutine next wakes; zero when none runs. poke wakes it
	// sooner, for an entry due before pacerAt.
	pacerAt time.Time
	poke    chan struct{}
	// stalls counts the turns handed on because their write stalled.
	stalls atomic.Int64
}

type paceEntry struct {
	wc *wsConn
	at time.Time
}

type paceHeap []paceEntry

func (h paceHeap) Len() int           { return len(h) }
func (h paceHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h paceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *paceHeap) Push(x any)        { *h = append(*h, x.(paceEntry)) }
func (h *paceHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = paceEntry{}
	*h = old[:len(old)-1]
	return e
}

// WSWriteLine is the number of connections waiting in line for a turn to be written to.
func (s *Server) WSWriteLine() int {
	s.turns.mu.Lock()
	defer s.turns.mu.Unlock()
	return len(s.turns.line) - s.turns.head
}

// WSWriteStalls is the number of turns handed on because a connection's write stalled.
func (s *Server) WSWriteStalls() int64 { return s.turns.stalls.Load() }

// kick tells the connection's writer that frames are queued or the subscription ended. The
// hub calls it with its lock held: it never blocks, and it wakes a writer only when a turn is
// free for it.
func (wc *wsConn) kick() { wc.s.turns.want(wc) }

// want puts wc in line for a turn, or in the pacer's heap if it was written to less than its
// pace ago; a connection already in line, writing, or ended is left where it is.
func (t *wsTurns) want(wc *wsConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch wc.state {
	case wsNoWriter, wsWaiting:
		// The pace is taken now, from the writers running now.
		if until := wc.lastWrite.Add(wsPace(wc.s.wsWriters.Load())); time.Now().Before(until) {
			wc.state, wc.paceUntil = wsPacing, until
			wc.paced.Add(1)
			heap.Push(&t.pacing, paceEntry{wc, until})
			t.wakePacer(until)
			// Woken again only when the queue is full enough to be written at once (or
			// ended), not for each frame that arrives meanwhile; Take restores it.
			wc.sub.WakeAt(wsCoalesceMax)
			return
		}
		t.enqueue(wc)
	case wsPacing:
		if n, ended := wc.sub.Queued(); ended || n >= wsCoalesceMax {
			t.enqueue(wc)
		}
	}
}

// enqueue gives wc a turn if one is free, else puts it at the end of the line.
func (t *wsTurns) enqueue(wc *wsConn) {
	if t.max == 0 {
		t.max = runtime.GOMAXPROCS(0)
	}
	if t.stallAfter == 0 {
		t.stallAfter = wsStall
	}
	if t.active < t.max {
		t.grant(wc)
		return
	}
	wc.state = wsQueued
	t.line = append(t.line, wc)
}

// grant gives wc a turn: its writer is started, or woken where it waits.
func (t *wsTurns) grant(wc *wsConn) {
	t.active++
	// A connection may wait out its pace after its writer has left.
	start := !wc.writing.Load()
	wc.state, wc.holds, wc.turnAt = wsWriting, true, time.Now()
	if wc.stall == nil {
		wc.stall = time.AfterFunc(t.stallAfter, func() { t.stalled(wc) })
	} else {
		wc.stall.Reset(t.stallAfter)
	}
	if start {
		if wc.turn == nil {
			wc.turn = make(chan struct{}, 1)
		}
		wc.writing.Store(true)
		go wc.write()
		return
	}
	wc.turn <- struct{}{} // never blocks: a writer is granted one turn at a time
}

// handOn gives the free turns to the first in line.
func (t *wsTurns) handOn() {
	for t.active < t.max && t.head < len(t.line) {
		wc := t.line[t.head]
		t.line[t.head] = nil
		t.head++
		t.grant(wc)
	}
	switch {
	case t.head == len(t.line):
		t.line, t.head = t.line[:0], 0
	case t.head > 1024 && t.head > len(t.line)/2:
		n := copy(t.line, t.line[t.head:])
		clear(t.line[n:])
		t.line, t.head = t.line[:n], 0
	}
}

// done ends wc's turn, hands it on and moves wc to next; wrote is when it wrote, if it did.
func (t *wsTurns) done(wc *wsConn, next wsState, wrote time.Time) {
	t.mu.Lock()
	if wc.holds {
		wc.holds = false
		wc.stall.Stop()
		t.active--
	}
	wc.state = next
	if !wrote.IsZero() {
		wc.lastWrite = wrote
	}
	t.handOn()
	t.mu.Unlock()
}

// stalled hands on wc's turn if it has held it for stallAfter: its write waits on the client, or
// its writer waits for a processor. The writer finishes its write without the turn.
func (t *wsTurns) stalled(wc *wsConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// A timer that fired for an earlier turn finds this one younger.
	if wc.holds && time.Since(wc.turnAt) >= t.stallAfter*9/10 {
		wc.holds = false
		t.active--
		t.stalls.Add(1)
		t.handOn()
	}
}

// wakePacer makes the pacer wake by at; t.mu is held.
func (t *wsTurns) wakePacer(at time.Time) {
	if t.poke == nil {
		t.poke = make(chan struct{}, 1)
	}
	switch {
	case t.pacerAt.IsZero():
		t.pacerAt = at
		go t.pace()
	case at.Before(t.pacerAt):
		t.pacerAt = at
		select {
		case t.poke <- struct{}{}:
		default:
		}
	}
}

// pace puts each connection in line when its pace is out, and leaves when none waits.
func (t *wsTurns) pace() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	t.mu.Lock()
	for {
		now := time.Now()
		for len(t.pacing) > 0 && !t.pacing[0].at.After(now) {
			e := heap.Pop(&t.pacing).(paceEntry)
			if e.wc.state == wsPacing && e.wc.paceUntil.Equal(e.at) {
				t.enqueue(e.wc)
			}
		}
		if len(t.pacing) == 0 {
			t.pacerAt = time.Time{}
			if cap(t.pacing) > 1024 {
				t.pacing = nil
			}
			t.mu.Unlock()
			return
		}
		t.pacerAt = t.pacing[0].at
		timer.Reset(t.pacerAt.Sub(now))
		t.mu.Unlock()
		select {
		case <-timer.C:
		case <-t.poke:
		}
		t.mu.Lock()
	}
}

// write is a connection's writer, started with a turn. It writes what the subscription has
// queued, hands the turn on, and waits for the next; it leaves when nothing was queued for
// wsWriterIdle (an idle connection has no writer), or when the connection ended, closing the
// socket with a code that tells the client why if the subscription ended.
func (wc *wsConn) write() {
	s, t := wc.s, &wc.s.turns
	s.wsWriters.Add(1)
	defer s.wsWriters.Add(-1)
	var frames []hub.Frame
	idle := time.NewTimer(wsWriterIdle)
	defer idle.Stop()
	for {
		// Here the writer holds a turn.
		var open bool
		frames, open = wc.sub.Take(frames[:0])
		if wc.ctx.Err() != nil {
			t.done(wc, wsDone, time.Time{})
			return // the reader has ended: the socket is closed
		}
		err := s.wsWriteFrames(wc.ctx, wc, frames)
		var wrote time.Time
		if len(frames) > 0 {
			wrote = time.Now()
			idle.Reset(wsWriterIdle)
		}
		clear(frames)
		if err != nil {
			t.done(wc, wsDone, time.Time{})
			s.Logger.Debug("websocket write failed", "user", wc.me.Name, "err", err)
			wc.writeFailed(err)
			wc.c.CloseNow()
			return
		}
		if !open {
			// The close handshake waits for the client: not with a turn.
			t.done(wc, wsDone, time.Time{})
			wc.closeEnded()
			return
		}
		t.done(wc, wsWaiting, wrote)
		// A frame queued while this one wrote found it writing and asked for nothing.
		if wc.sub.Pending() {
			t.want(wc)
		}
		select {
		case <-wc.turn:
			continue
		case <-idle.C:
		}
		t.mu.Lock()
		if wc.state == wsWaiting {
			wc.state = wsNoWriter
			wc.writing.Store(false)
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
		// Frames came as the writer was leaving: its turn is on the way.
		<-wc.turn
		idle.Reset(wsWriterIdle)
	}
}
