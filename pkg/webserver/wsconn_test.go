package webserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/hub"
)

// recConn records the writes made to it; hold makes them wait.
type recConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	// gate, when set, holds each write until it is closed; held receives a value when a
	// write waits there.
	gate chan struct{}
	held chan struct{}
}

// hold makes the writes wait until release is called (once or more).
func (c *recConn) hold() (release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gate, c.held = make(chan struct{}), make(chan struct{}, 1)
	gate := c.gate
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	gate, held := c.gate, c.held
	c.mu.Unlock()
	if gate != nil {
		select {
		case held <- struct{}{}:
		default:
		}
		<-gate
	}
	c.mu.Lock()
	c.writes = append(c.writes, append([]byte(nil), p...))
	c.mu.Unlock()
	if c.Conn != nil {
		return c.Conn.Write(p)
	}
	return len(p), nil
}

func (c *recConn) SetWriteDeadline(time.Time) error { return nil }

func (c *recConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

func TestCorkConn_BatchIsOneWrite(t *testing.T) {
	rc := &recConn{}
	c := &corkConn{Conn: rc}
	c.Write([]byte("before"))
	c.cork()
	for i := range 5 {
		c.Write([]byte(fmt.Sprintf("<%d>", i)))
	}
	if n := rc.count(); n != 1 {
		t.Fatalf("%d writes reached the connection while corked, want only the one before", n)
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("after"))
	want := []string{"before", "<0><1><2><3><4>", "after"}
	if len(rc.writes) != len(want) {
		t.Fatalf("writes = %q, want %q", rc.writes, want)
	}
	for i, w := range want {
		if string(rc.writes[i]) != w {
			t.Fatalf("write %d = %q, want %q", i, rc.writes[i], w)
		}
	}
	// Uncorking with nothing gathered writes nothing.
	c.cork()
	c.uncork()
	if n := rc.count(); n != 3 {
		t.Fatalf("an empty batch made a write: %d writes", n)
	}
}

func TestCorkConn_LargeBatchFlushesEarly(t *testing.T) {
	rc := &recConn{}
	c := &corkConn{Conn: rc}
	c.cork()
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for range 5 {
		c.Write(chunk)
	}
	if n := rc.count(); n != 1 {
		t.Fatalf("%d writes while gathering 320 KiB, want 1 at %d bytes", n, corkFlushAt)
	}
	c.uncork()
	total := 0
	for _, w := range rc.writes {
		total += len(w)
	}
	if total != 5*len(chunk) {
		t.Fatalf("%d bytes written, want %d", total, 5*len(chunk))
	}
}

// Corks nest (the writer's batch and an ack from the reader may overlap): what was gathered
// leaves, in one write, when the last one uncorks.
func TestCorkConn_Nested(t *testing.T) {
	rc := &recConn{}
	c := &corkConn{Conn: rc}
	c.cork()
	c.Write([]byte("a"))
	c.cork()
	c.Write([]byte("b"))
	c.uncork()
	if n := rc.count(); n != 0 {
		t.Fatalf("%d writes while still corked once", n)
	}
	c.Write([]byte("c"))
	c.uncork()
	if len(rc.writes) != 1 || string(rc.writes[0]) != "abc" {
		t.Fatalf("writes = %q, want one \"abc\"", rc.writes)
	}
	c.uncork() // one too many: nothing happens
	if n := rc.count(); n != 1 {
		t.Fatalf("%d writes", n)
	}
}

func TestCorkConn_ReadsWhatWasBufferedFirst(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	c := &corkConn{Conn: server, pre: []byte("early")}
	go client.Write([]byte("-late"))
	got := make([]byte, 0, 16)
	buf := make([]byte, 3)
	for len(got) < len("early-late") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "early-late" {
		t.Fatalf("read %q", got)
	}
}

// countListener wraps every accepted connection in a recConn.
type countListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*recConn
}

func (l *countListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rc := &recConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, rc)
	l.mu.Unlock()
	return rc, nil
}

// wsPair is a server connection made by handleWS's way of accepting (corkWriter) and a client
// connected to it, with the server side's writes counted.
type wsPair struct {
	server *wsConn
	client *websocket.Conn
	writes *recConn
}

func newWSPair(t *testing.T) wsPair {
	t.Helper()
	type accepted struct {
		c    *websocket.Conn
		cork *corkConn
	}
	got := make(chan accepted, 1)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &corkWriter{ResponseWriter: w}
		c, err := websocket.Accept(cw, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		got <- accepted{c, cw.conn}
	}))
	cl := &countListener{Listener: ts.Listener}
	ts.Listener = cl
	ts.Start()
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.CloseNow() })
	a := <-got
	t.Cleanup(func() { a.c.CloseNow() })
	cl.mu.Lock()
	rc := cl.conns[0]
	cl.mu.Unlock()
	sctx, scancel := context.WithCancel(context.Background())
	t.Cleanup(scancel)
	return wsPair{server: &wsConn{c: a.c, cork: a.cork, ctx: sctx, cancel: scancel}, client: client, writes: rc}
}

// newHubPair is a wsPair whose server connection is account u1's subscription to a hub, with
// its writer started by the hub as the daemon's is.
func newHubPair(t *testing.T) (wsPair, *hub.Hub, *Server, *hub.Sub) {
	t.Helper()
	h := hub.New()
	s := &Server{Hub: h}
	s.Init()
	p, sub := newHubPairOn(t, s, "u1")
	return p, h, s, sub
}

// newHubPairOn is a wsPair whose server connection is account user's subscription to s's hub.
func newHubPairOn(t *testing.T, s *Server, user string) (wsPair, *hub.Sub) {
	t.Helper()
	p := newWSPair(t)
	sub, _, _, _ := s.Hub.Subscribe(user, "s", "", 0)
	p.server.s, p.server.sub = s, sub
	sub.Notify(p.server.kick)
	return p, sub
}

func frameN(i int) hub.Frame {
	return hub.Frame{Seq: uint64(i + 1), Payload: []byte(fmt.Sprintf(`{"type":"t","n":%d}`, i))}
}

// Through the real WebSocket library: a batch of hub frames reaches the client whole and in
// order, in one write on the server's connection; so does one message longer than the
// library's buffer.
func TestWSWriteFrames_OneWritePerBatch(t *testing.T) {
	p := newWSPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := p.writes.count()
	frames := make([]hub.Frame, 50)
	for i := range frames {
		frames[i] = frameN(i)
	}
	s := &Server{}
	if err := s.wsWriteFrames(ctx, p.server, frames); err != nil {
		t.Fatal(err)
	}
	if n := p.writes.count() - before; n != 1 {
		t.Fatalf("50 frames took %d writes, want 1", n)
	}
	for i := range frames {
		_, b, err := p.client.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"seq":%d,"type":"t","n":%d}`, i+1, i); string(b) != want {
			t.Fatalf("frame %d = %s, want %s", i, b, want)
		}
	}
	big := []byte(`{"type":"ack","body":"` + strings.Repeat("x", 3000) + `"}`)
	before = p.writes.count()
	if err := s.wsWrite(ctx, p.server, big); err != nil {
		t.Fatal(err)
	}
	if n := p.writes.count() - before; n != 1 {
		t.Fatalf("a 3 KB message took %d writes, want 1", n)
	}
	if _, b, err := p.client.Read(ctx); err != nil || string(b) != string(big) {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
}

// writeBatches writes batches of perBatch hub frames (frameN, numbered from 0) to wc.
func writeBatches(ctx context.Context, s *Server, wc *wsConn, batches, perBatch int) error {
	for b := range batches {
		frames := make([]hub.Frame, perBatch)
		for i := range frames {
			frames[i] = frameN(b*perBatch + i)
		}
		if err := s.wsWriteFrames(ctx, wc, frames); err != nil {
			return err
		}
	}
	return nil
}

// Acks written by another goroutine while batches are corked arrive whole, each message intact.
func TestWSWrite_AcksDuringBatches(t *testing.T) {
	p := newWSPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := &Server{}
	const batches, perBatch, acks = 40, 25, 300
	ack := []byte(`{"type":"ack","body":"` + strings.Repeat("y", 700) + `"}`)
	done := make(chan error, 2)
	go func() {
		for range acks {
			if err := s.wsWrite(ctx, p.server, ack); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	go func() { done <- writeBatches(ctx, s, p.server, batches, perBatch) }()
	next, gotAcks := 0, 0
	for next < batches*perBatch || gotAcks < acks {
		_, b, err := p.client.Read(ctx)
		if err != nil {
			t.Fatalf("after %d frames and %d acks: %v", next, gotAcks, err)
		}
		if string(b) == string(ack) {
			gotAcks++
			continue
		}
		if want := fmt.Sprintf(`{"seq":%d,"type":"t","n":%d}`, next+1, next); string(b) != want {
			t.Fatalf("message = %.60s…, want %s", b, want)
		}
		next++
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// The writer started by the hub delivers everything in order while it comes and goes: events
// in bursts, the writer leaving between some of them.
func TestWSWriter_ComesAndGoes(t *testing.T) {
	old := wsWriterIdle
	wsWriterIdle = time.Millisecond
	defer func() { wsWriterIdle = old }()
	p, h, s, sub := newHubPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const total = 3000
	go func() {
		for i := 0; i < total; {
			for j := 0; j < 1+i%37 && i < total; j++ {
				h.Publish([]string{"u1"}, chat.Typing{Conversation: "c", User: fmt.Sprint(i)})
				i++
			}
			if i%5 == 0 {
				// Let the writer leave before the next burst.
				for p.server.writing.Load() && ctx.Err() == nil {
					runtime.Gosched()
				}
			}
		}
	}()
	for i := range total {
		_, b, err := p.client.Read(ctx)
		if err != nil {
			t.Fatalf("after %d events: %v", i, err)
		}
		if want := fmt.Sprintf(`"seq":%d,`, i+1); !strings.Contains(string(b), want) {
			t.Fatalf("event %d = %s, want seq %d", i, b, i+1)
		}
	}
	// The end of the subscription closes the socket normally.
	h.Unsubscribe(sub)
	if _, _, err := p.client.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after the end: %v, want a normal close", err)
	}
	// Every writer that came has gone from the count that paces the writes.
	for s.wsWriters.Load() != 0 {
		if ctx.Err() != nil {
			t.Fatalf("%d writers still counted after the end", s.wsWriters.Load())
		}
		runtime.Gosched()
	}
}

// typingEvents returns publish(i), which sends account u1 its i-th event (a typing event),
// and read(i), which reads the next frame at p's client and checks that it is the i-th.
func typingEvents(t *testing.T, ctx context.Context, h *hub.Hub, p wsPair) (publish, read func(i int)) {
	publish = func(i int) { h.Publish([]string{"u1"}, chat.Typing{Conversation: "c", User: fmt.Sprint(i)}) }
	read = func(i int) {
		t.Helper()
		_, b, err := p.client.Read(ctx)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if want := fmt.Sprintf(`"seq":%d,`, i); !strings.Contains(string(b), want) {
			t.Fatalf("event %d = %s", i, b)
		}
	}
	return publish, read
}

// A busy connection's writer waits for more events before its next write, so that they share
// it: here the pacing never ends by time (an hour), only when wsCoalesceMax frames are queued,
// and the end of the subscription is not delayed by it.
func TestWSWriter_PacesBusyConnection(t *testing.T) {
	oldC, oldM := wsCoalesce, wsCoalesceMax
	wsCoalesce, wsCoalesceMax = time.Hour, 5
	defer func() { wsCoalesce, wsCoalesceMax = oldC, oldM }()
	p, h, _, sub := newHubPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	publish, read := typingEvents(t, ctx, h, p)
	before := p.writes.count()
	publish(1)
	read(1) // the first write after a quiet spell is not delayed
	publish(2)
	for p.server.paced.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the writer never waited for more events")
		}
		runtime.Gosched()
	}
	if n := p.writes.count() - before; n != 1 {
		t.Fatalf("%d writes while the writer gathers, want 1", n)
	}
	for i := 3; i <= 6; i++ {
		publish(i)
	}
	for i := 2; i <= 6; i++ {
		read(i)
	}
	if n := p.writes.count() - before; n != 2 {
		t.Fatalf("6 events took %d writes, want 2 (1, then 5 gathered)", n)
	}
	publish(7) // waits in the queue: the writer paces again
	h.Unsubscribe(sub)
	read(7)
	if _, _, err := p.client.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after the end: %v, want a normal close", err)
	}
}

// The pace of a busy connection's writes grows with the number of connections being written
// to, from wsCoalesce at wsPaceQuiet writers to wsCoalesceBusy at wsPaceBusy.
func TestWSPace(t *testing.T) {
	for _, c := range []struct {
		writers int64
		want    time.Duration
	}{
		{0, 20 * time.Millisecond},
		{1, 20 * time.Millisecond},
		{128, 20 * time.Millisecond},
		{129, 20*time.Millisecond + 156250*time.Nanosecond},
		{384, 60 * time.Millisecond},
		{639, 100*time.Millisecond - 156250*time.Nanosecond},
		{640, 100 * time.Millisecond},
		{1000, 100 * time.Millisecond},
		{1 << 40, 100 * time.Millisecond},
	} {
		if got := wsPace(c.writers); got != c.want {
			t.Errorf("wsPace(%d) = %v, want %v", c.writers, got, c.want)
		}
	}
}

// A connection's writer paces by the server's count of running writers: with few, an event
// that follows a write after the (here tiny) quiet pace goes out at once; with many, the
// writer waits for more events to share its next write.
func TestWSWriter_PaceGrowsWithWriters(t *testing.T) {
	oldC, oldB, oldM := wsCoalesce, wsCoalesceBusy, wsCoalesceMax
	wsCoalesce, wsCoalesceBusy, wsCoalesceMax = time.Nanosecond, time.Hour, 5
	defer func() { wsCoalesce, wsCoalesceBusy, wsCoalesceMax = oldC, oldB, oldM }()
	p, h, s, _ := newHubPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	publish, read := typingEvents(t, ctx, h, p)
	before := p.writes.count()
	for i := 1; i <= 3; i++ {
		publish(i)
		read(i)
	}
	if n := s.wsWriters.Load(); n != 1 {
		t.Fatalf("%d writers counted, want 1 (this connection's)", n)
	}
	if n := p.server.paced.Load(); n != 0 {
		t.Fatalf("one writer running: the writer paced %d times, want 0", n)
	}
	if n := p.writes.count() - before; n != 3 {
		t.Fatalf("3 events one after the other took %d writes, want 3", n)
	}

	s.wsWriters.Add(wsPaceBusy) // as if a big channel's message were being written out
	defer s.wsWriters.Add(-wsPaceBusy)
	publish(4)
	for p.server.paced.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatal("many writers running: the writer never waited for more events")
		}
		runtime.Gosched()
	}
	for i := 5; i <= 8; i++ {
		publish(i)
	}
	for i := 4; i <= 8; i++ {
		read(i)
	}
	if n := p.writes.count() - before; n != 4 {
		t.Fatalf("5 events while many writers run took %d writes, want 1", n-3)
	}
}

// presence.watch narrows the presence a connection is sent to the accounts it names (the rest
// of its frames are untouched); "all" widens it again; a list too long is refused.
func TestWSWriter_PresenceWatch(t *testing.T) {
	p, h, s, _ := newHubPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	presence := func(users ...string) {
		var ch []chat.PresenceChange
		for _, u := range users {
			ch = append(ch, chat.PresenceChange{User: u, Presence: "online"})
		}
		h.Publish([]string{"u1"}, chat.PresenceChanged{Changes: ch})
	}
	read := func(want string) {
		t.Helper()
		_, b, err := p.client.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Fatalf("got %s, want %s", b, want)
		}
	}
	me := chat.Account{ID: "u1", Name: "u1"}
	if err := s.wsHandle(ctx, p.server, me, "", clientFrame{Type: "presence.watch", Users: []string{"bob", ""}}); err != nil {
		t.Fatal(err)
	}
	presence("alice")        // not watched: not sent
	presence("alice", "bob") // bob's change only
	h.Publish([]string{"u1"}, chat.Typing{Conversation: "c", User: "alice"})
	read(`{"seq":2,"type":"presence","changes":[{"user":"bob","presence":"online"}]}`)
	read(`{"seq":3,"type":"typing","conversation":"c","user":"alice"}`)
	if err := s.wsHandle(ctx, p.server, me, "", clientFrame{Type: "presence.watch", All: true}); err != nil {
		t.Fatal(err)
	}
	presence("alice")
	read(`{"seq":4,"type":"presence","changes":[{"user":"alice","presence":"online"}]}`)
	long := make([]string, wsMaxWatch+1)
	if err := s.wsHandle(ctx, p.server, me, "", clientFrame{Type: "presence.watch", Users: long}); chat.ErrorCode(err) != chat.EInvalid {
		t.Fatalf("%d users: %v, want invalid", len(long), err)
	}
	if p.server.watch.Load() != nil {
		t.Error("a refused watch list changed the watch")
	}
}

// The server's messages are framed here, not by the library (corkConn.writeMessage): the
// library's client reads every length whole, at each boundary of the header's three forms.
func TestCorkConn_MessagesOfEverySizeReadByTheLibrary(t *testing.T) {
	p := newWSPair(t)
	p.client.SetReadLimit(1 << 20)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := &Server{}
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 65537, 300000}
	for _, n := range sizes {
		if err := s.wsWrite(ctx, p.server, bytes.Repeat([]byte{'a' + byte(n%26)}, n)); err != nil {
			t.Fatal(err)
		}
	}
	// Hub frames too, whose "seq" is written in front of the shared payload.
	for _, n := range sizes[2:] {
		f := hub.Frame{Seq: uint64(n), Payload: []byte(`{"x":"` + strings.Repeat("b", n) + `"}`)}
		if err := s.wsWriteFrames(ctx, p.server, []hub.Frame{f}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range sizes {
		typ, b, err := p.client.Read(ctx)
		if err != nil {
			t.Fatalf("reading the message of %d bytes: %v", n, err)
		}
		if typ != websocket.MessageText || !bytes.Equal(b, bytes.Repeat([]byte{'a' + byte(n%26)}, n)) {
			t.Fatalf("message of %d bytes: %v, %d bytes read", n, typ, len(b))
		}
	}
	for _, n := range sizes[2:] {
		_, b, err := p.client.Read(ctx)
		if err != nil {
			t.Fatalf("reading the frame of %d bytes: %v", n, err)
		}
		if want := fmt.Sprintf(`{"seq":%d,"x":"%s"}`, n, strings.Repeat("b", n)); string(b) != want {
			t.Fatalf("frame of %d bytes: %.40s… (%d bytes), want %.40s… (%d bytes)", n, b, len(b), want, len(want))
		}
	}
}

// The library's own control frames (pings here) go between whole messages of ours, never
// inside one.
func TestCorkConn_PingsBetweenMessages(t *testing.T) {
	p := newWSPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { // the server's reader: it takes the client's pongs
		for {
			if _, _, err := p.server.c.Read(ctx); err != nil {
				return
			}
		}
	}()
	s := &Server{}
	const batches, perBatch, pings = 40, 25, 30
	done := make(chan error, 2)
	go func() {
		for range pings {
			if err := p.server.c.Ping(ctx); err != nil {
				done <- fmt.Errorf("ping: %w", err)
				return
			}
		}
		done <- nil
	}()
	go func() { done <- writeBatches(ctx, s, p.server, batches, perBatch) }()
	for next := range batches * perBatch {
		_, b, err := p.client.Read(ctx) // answers the pings as it reads
		if err != nil {
			t.Fatalf("after %d frames: %v", next, err)
		}
		if want := fmt.Sprintf(`{"seq":%d,"type":"t","n":%d}`, next+1, next); string(b) != want {
			t.Fatalf("message = %.60s…, want %s", b, want)
		}
	}
	go func() { // the last pings' pongs: the client keeps reading until the test ends
		for {
			if _, _, err := p.client.Read(ctx); err != nil {
				return
			}
		}
	}()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// Once the library has written its close frame, no message follows it, corked or not.
func TestCorkConn_NothingAfterTheCloseFrame(t *testing.T) {
	rc := &recConn{}
	c := &corkConn{Conn: rc}
	if err := c.writeMessage([]byte("before")); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{finClose, 2, 0x03, 0xe8}) // the library's close frame: 1000
	if err := c.writeMessage([]byte("after")); !errors.Is(err, errCloseSent) || !errors.Is(err, net.ErrClosed) {
		t.Errorf("a message after the close frame: %v, want errCloseSent, a net.ErrClosed (not a failed write)", err)
	}
	c.cork()
	if err := c.writeFrame(frameN(1)); !errors.Is(err, errCloseSent) {
		t.Errorf("a corked frame after the close frame: %v, want errCloseSent", err)
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	if n := rc.count(); n != 2 {
		t.Fatalf("%d writes reached the connection, want the message before and the close frame", n)
	}
	if got, want := rc.writes[0], append([]byte{finText, 6}, "before"...); !bytes.Equal(got, want) {
		t.Errorf("first write % x, want % x", got, want)
	}
}
