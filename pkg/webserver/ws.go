package webserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/hub"
)

// WebSocket limits.
const (
	wsReadLimit  = 64 << 10
	wsRatePerSec = 20
	wsRateBurst  = 40
	// DefaultWSPingInterval and DefaultWSPingTimeout are how often the server pings a
	// client, and how long it waits for the pong before it drops the connection
	// (Server.WSPingInterval, Server.WSPingTimeout).
	DefaultWSPingInterval = 30 * time.Second
	DefaultWSPingTimeout  = 15 * time.Second
	// DefaultWSSessionRecheck: a connection looks its session up again at its first frame
	// this long after the last lookup, not at every frame (Server.WSSessionRecheck). The
	// ways the daemon ends a session (logout, a password change or reset, account deletion)
	// close its connections at once; what the lookup finds is a session that expired or a
	// row deleted by hand.
	DefaultWSSessionRecheck = time.Second
	wsWriteTimeout          = 10 * time.Second
	// wsAliveInterval is how often a connection checks that its account still exists.
	wsAliveInterval = 3 * time.Second
	// CloseSessionEnded is the close code when the session ended (logout, password change,
	// account deletion): the client goes to the login page.
	CloseSessionEnded = 4001
)

// wsConn is one WebSocket connection. An idle connection has one goroutine, its reader
// (started by serveWS, on a stack of its own that only ever holds the read): its writer runs
// only while the hub has queued frames for it, each frame read is handled in a goroutine of its
// own, and pings and account checks come from one sweeper for all connections (wsSweep).
type wsConn struct {
	c      *websocket.Conn
	cork   *corkConn
	ctx    context.Context
	cancel context.CancelFunc
	sub    *hub.Sub
	me     chat.Account
	s      *Server

	// writing is set while a writer goroutine runs (and stays set once the connection has
	// ended).
	writing atomic.Bool
	// paced counts the waits for more events to share a write (tests read it).
	paced atomic.Int64
	// The writer's place among the connections' writers (see wsTurns), guarded by the
	// server's wsTurns.mu: its state; whether it holds a turn, since when, and the timer that
	// hands the turn on if its write stalls; when it was last written to, and, while it
	// waits out its pace, until when; and where a writer that waits is handed its turn.
	state     wsState
	holds     bool
	turnAt    time.Time
	stall     *time.Timer
	lastWrite time.Time
	paceUntil time.Time
	turn      chan struct{}
	// watch, when set, holds the only accounts whose presence changes this connection is
	// sent (the client's presence.watch, or ?watch= at the handshake); unset: every account.
	watch atomic.Pointer[map[string]struct{}]
	// nextPing and nextAlive are when the sweeper pings the client and checks that the
	// account still exists; only the sweeper touches them.
	nextPing, nextAlive time.Time
	// sessionSeen is when wsFrame last found the session alive; only the reader touches it.
	sessionSeen time.Time
	// closedBy is why the server ended the connection (a CloseReason), set once by the first
	// to end it; unset when the client did.
	closedBy atomic.Pointer[string]
}

// Why a WebSocket connection ended, as counted by Server.OnWSClose (and the
// minimost_websocket_closed_total metric).
const (
	CloseByClient      = "client"       // the client closed it or went away
	CloseByWriteFailed = "write_failed" // a write failed or stalled past wsWriteTimeout
	CloseByPingTimeout = "ping_timeout" // no pong within Server.WSPingTimeout
	CloseBySlow        = "slow"         // its queue of events overflowed: told to reconnect
	CloseBySession     = "session"      // its session ended (logout, expiry, account deleted)
	CloseByShutdown    = "shutdown"     // the daemon is stopping
	CloseByLimit       = "limit"        // max_sockets_per_user reached at the subscription
	CloseByProtocol    = "protocol"     // a malformed, binary or too frequent frame
)

// closing records why the server ends this connection; the first reason stays.
func (wc *wsConn) closing(reason string) {
	wc.closedBy.CompareAndSwap(nil, &reason)
}

// writeFailed records a failed write as the reason the connection ended, unless the write
// found the connection closed already (net.ErrClosed): whoever closed it is the reason, the
// client with its close handshake (counted as CloseByClient when the reader returns) or the
// server for a reason it recorded first. The writer and the reader race there: a client's
// close frame read by the library ends the connection while the writer is writing.
func (wc *wsConn) writeFailed(err error) {
	if !errors.Is(err, net.ErrClosed) {
		wc.closing(CloseByWriteFailed)
	}
}

// clientFrame is any frame a client sends.
type clientFrame struct {
	Type         string          `json:"type"`
	Conversation string          `json:"conversation"`
	Body         string          `json:"body"`
	ClientID     string          `json:"client_id"`
	ThreadRoot   string          `json:"thread_root"`
	AlsoChannel  bool            `json:"also_channel"`
	MessageID    string          `json:"message_id"`
	Presence     string          `json:"presence"`
	Signal       string          `json:"signal"`
	Data         json.RawMessage `json:"data"`
	To           string          `json:"to"`
	ToConn       string          `json:"to_conn"`
	Users        []string        `json:"users"`
	All          bool            `json:"all"`
}

// wsMaxWatch bounds the accounts one connection may watch the presence of by name; more than
// that is what watching every account ("all") is for.
const wsMaxWatch = 1000

// watchSet makes the set of usernames a connection watches the presence of (empty names are
// left out; none at all is a valid set: no presence is sent).
func watchSet(users []string) (map[string]struct{}, error) {
	if len(users) > wsMaxWatch {
		return nil, chat.Errorf(chat.EInvalid, "presence.watch: at most %d users (or all)", wsMaxWatch)
	}
	w := make(map[string]struct{}, len(users))
	for _, u := range users {
		if len(u) > 64 {
			return nil, chat.Errorf(chat.EInvalid, "presence.watch: %q is not a username", u[:64]+"…")
		}
		if u != "" {
			w[u] = struct{}{}
		}
	}
	return w, nil
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r, o) {
		s.writeError(w, r, chat.Errorf(chat.EForbidden, "cross-origin WebSocket refused"))
		return
	}
	me, sess, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if max := s.App.Settings.Get().MaxSocketsPerUser; s.Hub.Connections(me.ID) >= max {
		s.writeError(w, r, &chat.Error{Code: chat.ETooMany, RetryAfter: 10,
			Message: fmt.Sprintf("at most %d connections per account (max_sockets_per_user); close another tab", max)})
		return
	}
	q := r.URL.Query()
	since, _ := strconv.ParseUint(q.Get("since"), 10, 64)
	var watch map[string]struct{}
	if q.Has("watch") {
		if watch, err = watchSet(strings.Split(q.Get("watch"), ",")); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	cw := &corkWriter{ResponseWriter: w}
	c, err := websocket.Accept(cw, r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	c.SetReadLimit(wsReadLimit)
	// The connection is served by a goroutine of its own and this handler returns: net/http's
	// connection goroutine, its deep stack (the TLS handshake) and its 4 KiB read and write
	// buffers, and the upgrade request are then freed, which is most of an idle socket's
	// memory.
	go s.serveWS(c, cw.conn, me, sess, q.Get("boot"), since, watch)
}

// serveWS starts one WebSocket connection: hello and catch-up, then its reader, which runs
// until the client goes away or the subscription ends.
//
// The reader is a goroutine of its own, started once this one's work is done: this one's stack
// has grown with the handshake's work (the presence write, the replay) and is freed as it
// returns, while the reader's holds the blocked read only (see wsReader). An idle connection
// thus costs a small stack rather than the deepest one of its start.
func (s *Server) serveWS(c *websocket.Conn, cork *corkConn, me chat.Account, sess, boot string, since uint64, watch map[string]struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	// The first ping comes at a random point of the interval, so the pings of sockets that
	// connected together (a reconnect storm) do not come together for ever after.
	wc := &wsConn{c: c, cork: cork, ctx: ctx, cancel: cancel, me: me, s: s,
		nextPing: now.Add(s.WSPingInterval/2 + rand.N(s.WSPingInterval)), nextAlive: now.Add(wsAliveInterval)}
	if watch != nil {
		wc.watch.Store(&watch)
	}
	closed := func() {
		cancel()
		s.wsMu.Lock()
		delete(s.wsConns, wc)
		s.wsMu.Unlock()
		c.CloseNow()
		reason := CloseByClient
		if r := wc.closedBy.Load(); r != nil {
			reason = *r
		}
		if reason != CloseByClient {
			s.Logger.Debug("websocket closed by the server", "user", me.Name, "reason", reason)
		}
		if s.OnWSClose != nil {
			s.OnWSClose(reason)
		}
	}

	// Live events are keyed by account id: a later account of the same name never gets the
	// events (nor the replay ring) of an earlier one.
	// The check before the handshake answers most refusals with a 429; this one, atomic with
	// the subscription, holds the limit against handshakes that passed it together.
	if s.beforeSubscribe != nil {
		s.beforeSubscribe()
	}
	sub, replay, seq, resync, ok := s.Hub.SubscribeAtMost(s.App.Settings.Get().MaxSocketsPerUser, me.ID, sess, boot, since)
	if !ok {
		if s.Hub.Closed() {
			// The daemon began to stop after this socket's handshake.
			wc.closing(CloseByShutdown)
			c.Close(websocket.StatusGoingAway, "server is going away")
		} else {
			wc.closing(CloseByLimit)
			c.Close(websocket.StatusTryAgainLater, "too many connections for this account (max_sockets_per_user); close another tab")
		}
		closed()
		return
	}
	wc.sub = sub
	s.wsMu.Lock()
	s.wsConns[wc] = struct{}{}
	if !s.wsSweeping {
		s.wsSweeping = true
		go s.wsSweep()
	}
	s.wsMu.Unlock()
	first := s.Hub.Connections(me.ID) == 1
	// end runs once the connection is over, in whichever goroutine saw it end.
	end := func() {
		// The reader has ended: the writer that the end of the subscription wakes has
		// nothing more to write.
		cancel()
		s.Hub.Unsubscribe(sub)
		// This connection leaves its calls; the account's other connections stay in theirs.
		s.App.ConnectionClosed(context.Background(), me, sub.Conn)
		if s.Hub.Connections(me.ID) == 0 {
			s.App.Disconnected(context.Background(), me)
		}
		closed()
	}
	if err := s.wsSend(ctx, wc, chat.Hello{Boot: s.Hub.Boot(), Seq: seq, User: me.Name, Conn: sub.Conn}); err != nil {
		wc.writeFailed(err)
		end()
		return
	}
	if resync {
		if err := s.wsSend(ctx, wc, chat.Resync{}); err != nil {
			wc.writeFailed(err)
			end()
			return
		}
	}
	if err := s.wsWriteFrames(ctx, wc, replay); err != nil {
		wc.writeFailed(err)
		end()
		return
	}
	if first {
		if err := s.App.SetPresence(ctx, me, "online"); err != nil {
			s.Logger.Warn("record presence", "user", me.Name, "err", err)
		}
	}
	// From here on the hub starts the writer when it queues frames (none before: the
	// hello and the replay go first).
	sub.Notify(wc.kick)
	go func() {
		defer end()
		s.wsReader(ctx, wc, me, sess, sub.Conn)
	}()
}

// wsWriterIdle is how long a connection's writer waits for more events before it leaves (a
// variable for tests).
var wsWriterIdle = 2 * time.Second

// A busy connection's writes are paced: after a write, the next waits until the pace has
// passed (or wsCoalesceMax frames are queued), so the events that arrive meanwhile share one
// write (one syscall, one TLS record) instead of taking one each. A connection written to less
// often than the pace is never delayed.
//
// The pace grows with the number of connections being written to (wsPace): wsCoalesce while
// at most wsPaceQuiet writers run, wsCoalesceBusy from wsPaceBusy on, in proportion between.
// A small team's conversations wait at most 20 ms for each other. When a message goes to a
// thousand sockets fifty times a second, each socket's write carries several of them, and
// the writes' syscalls and TLS records, a third of the daemon's CPU there, shrink to a fifth.
// Variables for tests.
var (
	wsCoalesce     = 20 * time.Millisecond
	wsCoalesceBusy = 100 * time.Millisecond
	wsPaceQuiet    = int64(128)
	wsPaceBusy     = int64(640)
	wsCoalesceMax  = 64
)

// WSWriters is the number of connections being written to: those sent something in the last
// two seconds.
func (s *Server) WSWriters() int64 { return s.wsWriters.Load() }

// WSPace is how long a busy connection now waits after a write for more events to share the
// next.
func (s *Server) WSPace() time.Duration { return wsPace(s.wsWriters.Load()) }

// wsPace is how long a connection's writer waits after a write before the next, while
// writers connections are being written to.
func wsPace(writers int64) time.Duration {
	switch {
	case writers <= wsPaceQuiet:
		return wsCoalesce
	case writers >= wsPaceBusy:
		return wsCoalesceBusy
	}
	return wsCoalesce + (wsCoalesceBusy-wsCoalesce)*time.Duration(writers-wsPaceQuiet)/time.Duration(wsPaceBusy-wsPaceQuiet)
}

// errGone wraps a failed write to a client: the client went away (or stalled past
// wsWriteTimeout), which is worth a debug line, not an error.
type errGone struct{ err error }

func (e errGone) Error() string { return "client gone: " + e.err.Error() }
func (e errGone) Unwrap() error { return e.err }

// wsSend writes one event to this connection only.
func (s *Server) wsSend(ctx context.Context, wc *wsConn, ev chat.Event) error {
	b, err := chat.MarshalEvent(ev)
	if err != nil {
		return err
	}
	return s.wsWrite(ctx, wc, b)
}

func (s *Server) wsWrite(ctx context.Context, wc *wsConn, b []byte) error {
	return s.wsWriteFunc(ctx, wc, func(ctx context.Context) error {
		if wc.cork != nil {
			return wc.cork.writeMessage(b)
		}
		return wc.c.Write(ctx, websocket.MessageText, b)
	})
}

// wsWriteFunc runs write, the library's writes of one message or a batch, with the
// connection corked (so it leaves in one write) and within wsWriteTimeout.
func (s *Server) wsWriteFunc(ctx context.Context, wc *wsConn, write func(context.Context) error) error {
	if wc.cork == nil {
		ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
		defer cancel()
		if err := write(ctx); err != nil {
			return errGone{err}
		}
		return nil
	}
	wc.cork.cork()
	// While corked the library writes into memory and never blocks on the client, so it gets
	// a context without a deadline (with one, it would arm a timer for every message); the
	// one write to the network, in uncork, has the deadline.
	err := write(context.WithoutCancel(ctx))
	if uerr := wc.cork.uncork(); err == nil {
		err = uerr
	}
	if err != nil {
		return errGone{err}
	}
	return nil
}

// framePool holds the buffers hub frames are written from on a connection that is not corked
// (the library writes each message): a frame's shared payload is copied into a buffer that
// goes back to the pool as soon as the socket has it, so an idle connection holds none. A
// corked connection copies it straight into its batch (corkConn.writeFrame).
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// wsWriteFrames writes hub frames, one WebSocket message each, corked into one write to the
// client (see corkConn).
func (s *Server) wsWriteFrames(ctx context.Context, wc *wsConn, frames []hub.Frame) error {
	if len(frames) == 0 {
		return nil
	}
	var watch map[string]struct{}
	if w := wc.watch.Load(); w != nil {
		watch = *w
	}
	if wc.cork != nil {
		return s.wsWriteFunc(ctx, wc, func(context.Context) error {
			for _, f := range frames {
				if f, ok := f.FilterPresence(watch); ok {
					// Copied once, from the shared payload straight into the batch.
					if err := wc.cork.writeFrame(f); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	bp := framePool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			framePool.Put(bp)
		}
	}()
	return s.wsWriteFunc(ctx, wc, func(ctx context.Context) error {
		for _, f := range frames {
			f, ok := f.FilterPresence(watch)
			if !ok {
				continue
			}
			*bp = f.AppendTo((*bp)[:0])
			if err := wc.c.Write(ctx, websocket.MessageText, *bp); err != nil {
				return err
			}
		}
		return nil
	})
}

// closeEnded closes the socket of a subscription that ended, with a code that tells the
// client why.
func (wc *wsConn) closeEnded() {
	switch wc.sub.Reason() {
	case "session":
		wc.closing(CloseBySession)
		wc.c.Close(CloseSessionEnded, "session ended")
	case "shutdown":
		wc.closing(CloseByShutdown)
		wc.c.Close(websocket.StatusGoingAway, "server is going away")
	case "slow":
		wc.closing(CloseBySlow)
		wc.c.Close(websocket.StatusTryAgainLater, "too slow; reconnect to catch up")
	default:
		wc.c.Close(websocket.StatusNormalClosure, "")
	}
}

// wsSweep pings every client every WSPingInterval and checks every wsAliveInterval that each
// connection's account still exists (an account deleted by hand with the guide's sqlite3
// procedure is noticed within seconds, from the account snapshot, without a query per
// connection). One goroutine does it for all connections; a ping waits for its pong in a
// goroutine of its own, for that moment only.
func (s *Server) wsSweep() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var check []*wsConn
	for now := range t.C {
		s.wsMu.Lock()
		if len(s.wsConns) == 0 {
			// The next connection starts another sweeper.
			s.wsSweeping = false
			s.wsMu.Unlock()
			return
		}
		for wc := range s.wsConns {
			if now.After(wc.nextAlive) {
				wc.nextAlive = now.Add(wsAliveInterval)
				check = append(check, wc)
			}
			if now.After(wc.nextPing) {
				wc.nextPing = now.Add(s.WSPingInterval)
				go wc.ping()
			}
		}
		s.wsMu.Unlock()
		for _, wc := range check {
			if !s.App.Alive(wc.ctx, wc.me) {
				wc.closing(CloseBySession)
				go wc.c.Close(CloseSessionEnded, "session ended")
			}
		}
		clear(check)
		check = check[:0]
	}
}

// ping checks that the client answers; one that does not within WSPingTimeout is gone.
func (wc *wsConn) ping() {
	ctx, cancel := context.WithTimeout(wc.ctx, wc.s.WSPingTimeout)
	defer cancel()
	if err := wc.c.Ping(ctx); err != nil && wc.ctx.Err() == nil {
		// Only a ping left unanswered is a ping timeout: one that failed because the
		// connection ended meanwhile (the client left) is the reader's to count.
		if errors.Is(err, context.DeadlineExceeded) {
			wc.closing(CloseByPingTimeout)
		}
		wc.c.CloseNow()
	}
}

// wsReader reads the client's frames until the connection ends. It waits for the start of
// each one only: the frame is read to its end and handled in a goroutine of its own, which
// this one waits for (frames are still handled one at a time, in order). Reading a frame's
// body and handling it go deep (a message is posted through the store), and a stack, once
// grown, stays grown while the read it goes back to holds more than a quarter of it; the
// reader's own stack holds the wait for a frame only, which is an idle connection's cost.
func (s *Server) wsReader(ctx context.Context, wc *wsConn, me chat.Account, sess, conn string) {
	c := wc.c
	tokens, last := float64(wsRateBurst), time.Now()
	stop := make(chan bool, 1)
	for {
		// The read is not given the connection's context: the library would arm a callback on
		// it for every read (about 1 KiB for each idle connection), and nothing cancels that
		// context while the reader runs. A read ends when the connection is closed.
		typ, r, err := c.Reader(context.Background())
		if err != nil {
			s.wsReadFailed(ctx, wc, err)
			return
		}
		now := time.Now()
		tokens = min(float64(wsRateBurst), tokens+now.Sub(last).Seconds()*wsRatePerSec)
		last = now
		if tokens < 1 {
			wc.closing(CloseByProtocol)
			c.Close(websocket.StatusPolicyViolation, "too many frames")
			return
		}
		tokens--
		if typ != websocket.MessageText {
			wc.closing(CloseByProtocol)
			c.Close(websocket.StatusUnsupportedData, "text frames only")
			return
		}
		go func() { stop <- s.wsFrame(ctx, wc, me, sess, conn, r) }()
		if <-stop {
			return
		}
	}
}

// wsReadFailed ends a connection whose read failed: a client that left or closed, or one
// that sent what is not a WebSocket frame.
func (s *Server) wsReadFailed(ctx context.Context, wc *wsConn, err error) {
	var ce websocket.CloseError
	if !errors.As(err, &ce) && !clientLeft(err) && ctx.Err() == nil {
		wc.closing(CloseByProtocol)
		wc.c.Close(websocket.StatusPolicyViolation, "bad frame")
	}
}

// wsFrame reads one text frame from the client to its end and handles it; it answers true
// when the connection is to end (the read failed, or the session has ended).
func (s *Server) wsFrame(ctx context.Context, wc *wsConn, me chat.Account, sess, conn string, r io.Reader) bool {
	data, err := io.ReadAll(r)
	if err != nil {
		s.wsReadFailed(ctx, wc, err)
		return true
	}
	// The session may have ended since the handshake (expired, or deleted by hand, or its
	// account): nothing more is done for it. A connection that sends frames all the time
	// looks it up once every WSSessionRecheck (a query each frame was 4 % of the daemon's
	// CPU at 500 posts a second).
	if now := time.Now(); now.Sub(wc.sessionSeen) >= s.WSSessionRecheck {
		_, err := s.App.Authenticate(ctx, sess)
		switch {
		case chat.ErrorCode(err) == chat.EUnauthorized:
			wc.closing(CloseBySession)
			wc.c.Close(CloseSessionEnded, "session ended")
			return true
		case err == nil:
			wc.sessionSeen = now
		}
	}
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		s.wsError(ctx, wc, "", chat.Errorf(chat.EInvalid, "malformed JSON frame"))
		return false
	}
	if err := s.wsHandle(ctx, wc, me, conn, f); err != nil {
		s.wsError(ctx, wc, f.ClientID, err)
	}
	return false
}

// clientLeft reports whether a read failed because the connection ended (the client went
// away without a close frame, or it was closed here), not because of what the client sent.
func clientLeft(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.As(err, &ne)
}

func (s *Server) wsError(ctx context.Context, wc *wsConn, clientID string, err error) {
	if errors.As(err, new(errGone)) {
		// The answer could not be written: the client is gone, nothing more to tell it.
		s.Logger.Debug("websocket write failed", "err", err)
		return
	}
	if chat.ErrorCode(err) == chat.EInternal {
		s.Logger.Error("websocket frame failed", "err", err)
	}
	frame := chat.ErrorFrame{ClientID: clientID, Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err)}
	var ce *chat.Error
	if errors.As(err, &ce) {
		frame.RetryAfter = ce.RetryAfter
	}
	if err := s.wsSend(ctx, wc, frame); err != nil {
		s.Logger.Debug("websocket write failed", "err", err)
	}
}

// wsHandle answers one client frame. Its own answers (ack, pong) go straight to this socket;
// everything else reaches the other clients through the hub. conn is this connection's id.
func (s *Server) wsHandle(ctx context.Context, wc *wsConn, me chat.Account, conn string, f clientFrame) error {
	// A frame must not outlive its socket, but its write must finish once started.
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	switch f.Type {
	case "ping":
		return s.wsSend(ctx, wc, chat.Pong{})
	case "send":
		if len(f.ClientID) > 64 {
			return chat.Errorf(chat.EInvalid, "client_id must be at most 64 bytes")
		}
		m, err := s.App.PostReply(opCtx, me, f.Conversation, f.Body, f.ThreadRoot, f.AlsoChannel)
		if err != nil {
			return err
		}
		return s.wsSend(ctx, wc, chat.Ack{ClientID: f.ClientID, Message: m})
	case "typing":
		return s.App.Typing(opCtx, me, f.Conversation)
	case "read":
		return s.App.MarkRead(opCtx, me, f.Conversation, f.MessageID)
	case "presence":
		if f.Presence != "online" && f.Presence != "away" {
			return chat.Errorf(chat.EInvalid, "presence must be online or away")
		}
		return s.App.SetPresence(opCtx, me, f.Presence)
	case "call":
		return s.App.CallSignal(opCtx, me, conn, f.Conversation, f.Signal, f.Data, f.To, f.ToConn)
	case "presence.watch":
		if f.All {
			wc.watch.Store(nil)
			return nil
		}
		watch, err := watchSet(f.Users)
		if err != nil {
			return err
		}
		wc.watch.Store(&watch)
		return nil
	}
	return chat.Errorf(chat.EInvalid, "unknown frame type %q", f.Type)
}

// CloseWebSockets tells every client the server is going away.
func (s *Server) CloseWebSockets() {
	s.Hub.CloseAll()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		s.wsMu.Lock()
		n := len(s.wsConns)
		s.wsMu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.wsMu.Lock()
	for wc := range s.wsConns {
		wc.closing(CloseByShutdown)
		wc.c.CloseNow()
	}
	s.wsMu.Unlock()
}
