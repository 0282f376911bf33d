package webserver

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/hub"
)

// The server's messages are framed here (corkConn.writeMessage), and every write of ours
// corks the connection: a batch of queued events, or one ack, leaves in one write (and as few
// TLS records as its size needs). The WebSocket library (coder/websocket) writes only its own
// control frames (pings, pongs, close), each smaller than its buffer and so whole in one
// write, which go out uncorked. The library gets small buffers of its own: an idle
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
	// closeSent is set once the library has written a close frame: no message may follow it.
	closeSent bool
}

// errCloseSent is writeMessage's error once the connection's close frame has been written:
// the connection is closed, as far as messages go (net.ErrClosed, as the library's own
// writes say then; it is not a failed write).
var errCloseSent = fmt.Errorf("websocket: close frame sent: %w", net.ErrClosed)

// The first byte of a frame with FIN set, by opcode (RFC 6455, section 5.2).
const (
	finText  = 0x81
	finClose = 0x88
)

// writeMessage writes one text message, as one unmasked frame, a server's (RFC 6455,
// section 5.2): the frame the library would write, without its per-message work (a writer
// reset, its locks and buffer, a flush), which was 6 % of the daemon's CPU when every message
// went to two thousand sockets. All of the server's messages go this way, so the library
// only writes control frames (pings, pongs, close), each whole in one Write: frames never
// interleave. Nothing is written after the library's close frame.
func (c *corkConn) writeMessage(payload []byte) error { return c.writeParts(payload, nil) }

// writeFrame writes a hub frame as one message, copied once, from its shared payload
// straight into the batch (hub.Frame.Split).
func (c *corkConn) writeFrame(f hub.Frame) error {
	var pre [32]byte
	head, rest := f.Split(pre[:0])
	return c.writeParts(head, rest)
}

// writeParts writes the message a followed by b.
func (c *corkConn) writeParts(a, b []byte) error {
	var hdr [10]byte
	h := appendFrameHeader(hdr[:0], finText, len(a)+len(b))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeSent {
		return errCloseSent
	}
	if c.depth > 0 {
		*c.buf = append(append(append(*c.buf, h...), a...), b...)
		if len(*c.buf) >= corkFlushAt {
			c.armLocked()
			return c.sendLocked()
		}
		return nil
	}
	bp := corkPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= corkFlushAt*2 {
			*bp = (*bp)[:0]
			corkPool.Put(bp)
		}
	}()
	*bp = append(append(append((*bp)[:0], h...), a...), b...)
	c.armLocked()
	_, err := c.Conn.Write(*bp)
	return err
}

// appendFrameHeader appends the header of an unmasked frame whose first byte is b0 and whose
// payload is n bytes long.
func appendFrameHeader(dst []byte, b0 byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	}
	u := uint64(n)
	return append(dst, b0, 127, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32),
		byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
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
	if len(p) > 0 && p[0] == finClose {
		c.closeSent = true
	}
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
