package webserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/minimost/minimost/pkg/hub"
)

// recConn records the writes made to it.
type recConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *recConn) Write(p []byte) (int, error) {
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
	if err := c.uncork(time.Second); err != nil {
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
	c.uncork(time.Second)
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
	c.uncork(time.Second)
	total := 0
	for _, w := range rc.writes {
		total += len(w)
	}
	if total != 5*len(chunk) {
		t.Fatalf("%d bytes written, want %d", total, 5*len(chunk))
	}
}

// Writes from another goroutine (an ack written by the reader) while a batch is gathered are
// never cut into or interleaved with the batch.
func TestCorkConn_ConcurrentWritesStayWhole(t *testing.T) {
	rc := &recConn{}
	c := &corkConn{Conn: rc}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			c.Write([]byte(fmt.Sprintf("[a%03d]", i)))
		}
	})
	for i := range 50 {
		c.cork()
		for j := range 4 {
			c.Write([]byte(fmt.Sprintf("[b%02d%d]", i, j)))
		}
		c.uncork(time.Second)
	}
	wg.Wait()
	var all strings.Builder
	for _, w := range rc.writes {
		all.Write(w)
	}
	s := all.String()
	var a, b []string
	for len(s) > 0 {
		end := strings.IndexByte(s, ']')
		if s[0] != '[' || end < 0 {
			t.Fatalf("interleaved bytes: %q", s[:min(len(s), 40)])
		}
		tok := s[1:end]
		if tok[0] == 'a' {
			a = append(a, tok)
		} else {
			b = append(b, tok)
		}
		s = s[end+1:]
	}
	if len(a) != 200 || len(b) != 200 {
		t.Fatalf("got %d and %d writes, want 200 and 200", len(a), len(b))
	}
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("batch writes out of order: %s after %s", b[i], b[i-1])
		}
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

// Through the real WebSocket library: a batch of hub frames reaches the client whole and in
// order, in one write on the server's connection.
func TestWSWriteFrames_OneWritePerBatch(t *testing.T) {
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
		<-r.Context().Done()
	}))
	cl := &countListener{Listener: ts.Listener}
	ts.Listener = cl
	ts.Start()
	defer ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseNow()
	a := <-got
	defer a.c.CloseNow()

	cl.mu.Lock()
	rc := cl.conns[0]
	cl.mu.Unlock()
	before := rc.count()
	frames := make([]hub.Frame, 50)
	for i := range frames {
		frames[i] = hub.Frame{Seq: uint64(i + 1), Payload: []byte(fmt.Sprintf(`{"type":"t","n":%d}`, i))}
	}
	s := &Server{}
	if err := s.wsWriteFrames(ctx, a.c, a.cork, frames); err != nil {
		t.Fatal(err)
	}
	if n := rc.count() - before; n != 1 {
		t.Fatalf("50 frames took %d writes, want 1", n)
	}
	for i := range frames {
		_, b, err := client.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"seq":%d,"type":"t","n":%d}`, i+1, i); string(b) != want {
			t.Fatalf("frame %d = %s, want %s", i, b, want)
		}
	}
	// A single write (an ack) goes straight out.
	if err := s.wsWrite(ctx, a.c, []byte(`{"type":"pong"}`)); err != nil {
		t.Fatal(err)
	}
	if _, b, err := client.Read(ctx); err != nil || string(b) != `{"type":"pong"}` {
		t.Fatalf("read %s, %v", b, err)
	}
}
