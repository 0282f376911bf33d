package webserver

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// The WebSocket library (coder/websocket) writes every message with a flush of its own, and
// through the small buffer it is given here a message longer than it in two writes. Every write
// of ours corks the connection: a batch of queued events, or one ack, leaves in one write (and
// as few TLS records as its size needs). Only the library's own control frames (pings, pongs,
// close), each smaller than the buffer, go out uncorked. The library gets small buffers of its own: an idle
// connection holds 2 × wsBufSize bytes of them instead of net/http's 2 × 4 KiB, and the cork
// buffer is taken from a pool only while a batch is written.
const (
	wsBufSize = 512
	// corkFlushAt is how much a corked connection gathers before it writes anyway.
	corkFlushAt = 256 << 10
)

// corkPool holds the buffers a corked connection gathers a batch in.
var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// corkConn is the hijacked connection as the WebSocket library sees it.
type corkConn struct {
	net.Conn
	// pre holds what net/http had read past the upgrade request; Read returns it first.
	// Only the connection's reader reads.
	pre []byte

	mu sync.Mutex
	// depth counts the writers corking the connection (the connection's writer and, for an
	// ack, its reader may overlap); what is gathered leaves when the last one uncorks.
	depth int
	buf   *[]byte
	// deadline is the write deadline set on Conn (see armLocked).
	deadline time.Time
}

func (c *corkConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		if len(c.pre) == 0 {
			c.pre = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// Write sends p, or gathers it while the connection is corked. Whole writes are never
// interleaved: a write waits while a corked batch is being sent.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.depth > 0 {
		*c.buf = append(*c.buf, p...)
		var err error
		if len(*c.buf) >= corkFlushAt {
			c.armLocked()
			err = c.sendLocked()
		}
		c.mu.Unlock()
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	// Holding the lock orders this write after a batch being sent.
	defer c.mu.Unlock()
	c.armLocked()
	return c.Conn.Write(p)
}

// armLocked makes sure the connection's write deadline is at least wsWriteTimeout/2 away.
// The deadline is moved only when it gets that close (not set and cleared around every
// write), so a write to a client that stopped reading fails within wsWriteTimeout.
func (c *corkConn) armLocked() {
	now := time.Now()
	if c.deadline.Sub(now) >= wsWriteTimeout/2 {
		return
	}
	c.deadline = now.Add(wsWriteTimeout)
	c.Conn.SetWriteDeadline(c.deadline)
}

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	if c.depth == 0 {
		c.buf = corkPool.Get().(*[]byte)
	}
	c.depth++
	c.mu.Unlock()
}

// uncork ends one cork; the last one sends what was gathered in one write, within
// wsWriteTimeout. Every corker uncorks after its own writes are whole, so what leaves is whole
// frames.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.depth == 0 {
		return nil
	}
	c.depth--
	if c.depth > 0 {
		return nil
	}
	var err error
	if len(*c.buf) > 0 {
		c.armLocked()
		err = c.sendLocked()
	}
	if cap(*c.buf) <= corkFlushAt*2 {
		*c.buf = (*c.buf)[:0]
		corkPool.Put(c.buf)
	}
	c.buf = nil
	return err
}

func (c *corkConn) sendLocked() error {
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

// corkWriter hands the WebSocket library a corkConn and small buffers when it hijacks the
// connection.
type corkWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	c := &corkConn{Conn: nc}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		c.pre = append([]byte(nil), b...)
	}
	if brw.Writer.Buffered() > 0 {
		// net/http flushes the response head before it hands the connection over; this is
		// only a safeguard.
		if err := brw.Writer.Flush(); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	w.conn = c
	return c, bufio.NewReadWriter(bufio.NewReaderSize(c, wsBufSize), bufio.NewWriterSize(c, wsBufSize)), nil
}
