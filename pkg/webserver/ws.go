package webserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/hub"
)

// WebSocket limits.
const (
	wsReadLimit    = 64 << 10
	wsRatePerSec   = 20
	wsRateBurst    = 40
	wsPingInterval = 30 * time.Second
	wsPingTimeout  = 15 * time.Second
	wsWriteTimeout = 10 * time.Second
	// wsAliveInterval is how often a connection checks that its account still exists.
	wsAliveInterval = 3 * time.Second
	// CloseSessionEnded is the close code when the session ended (logout, password change,
	// account deletion): the client goes to the login page.
	CloseSessionEnded = 4001
)

type wsConn struct {
	c      *websocket.Conn
	cancel context.CancelFunc
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
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	c.SetReadLimit(wsReadLimit)
	ctx, cancel := context.WithCancel(context.Background())
	wc := &wsConn{c: c, cancel: cancel}
	s.wsMu.Lock()
	s.wsConns[wc] = struct{}{}
	s.wsMu.Unlock()
	defer func() {
		cancel()
		s.wsMu.Lock()
		delete(s.wsConns, wc)
		s.wsMu.Unlock()
	}()

	// Live events are keyed by account id: a later account of the same name never gets the
	// events (nor the replay ring) of an earlier one.
	sub, replay, seq, resync := s.Hub.Subscribe(me.ID, sess, q.Get("boot"), since)
	first := s.Hub.Connections(me.ID) == 1
	defer func() {
		s.Hub.Unsubscribe(sub)
		if s.Hub.Connections(me.ID) == 0 {
			s.App.Disconnected(context.Background(), me)
		}
	}()
	if err := s.wsSend(ctx, c, chat.Hello{Boot: s.Hub.Boot(), Seq: seq, User: me.Name}); err != nil {
		return
	}
	if resync {
		if err := s.wsSend(ctx, c, chat.Resync{}); err != nil {
			return
		}
	}
	if err := s.wsWriteFrames(ctx, c, replay); err != nil {
		return
	}
	if first {
		if err := s.App.SetPresence(ctx, me, "online"); err != nil {
			s.Logger.Warn("record presence", "user", me.Name, "err", err)
		}
	}
	go s.wsWriter(ctx, cancel, c, sub, me)
	s.wsReader(ctx, c, me, sess)
}

// errGone wraps a failed write to a client: the client went away (or stalled past
// wsWriteTimeout), which is worth a debug line, not an error.
type errGone struct{ err error }

func (e errGone) Error() string { return "client gone: " + e.err.Error() }
func (e errGone) Unwrap() error { return e.err }

// wsSend writes one event to this connection only.
func (s *Server) wsSend(ctx context.Context, c *websocket.Conn, ev chat.Event) error {
	b, err := chat.MarshalEvent(ev)
	if err != nil {
		return err
	}
	return s.wsWrite(ctx, c, b)
}

func (s *Server) wsWrite(ctx context.Context, c *websocket.Conn, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		return errGone{err}
	}
	return nil
}

// framePool holds the buffers hub frames are written from: a frame's shared payload is
// copied once, into a buffer that goes back to the pool as soon as the socket has it, so an
// idle connection holds none.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// wsWriteFrames writes hub frames, one WebSocket message each.
func (s *Server) wsWriteFrames(ctx context.Context, c *websocket.Conn, frames []hub.Frame) error {
	if len(frames) == 0 {
		return nil
	}
	bp := framePool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			framePool.Put(bp)
		}
	}()
	for _, f := range frames {
		*bp = f.AppendTo((*bp)[:0])
		if err := s.wsWrite(ctx, c, *bp); err != nil {
			return err
		}
	}
	return nil
}

// wsWriter sends the subscription's frames and pings; it closes the socket when the
// subscription ends, with a code that tells the client why.
func (s *Server) wsWriter(ctx context.Context, cancel context.CancelFunc, c *websocket.Conn, sub *hub.Sub, me chat.Account) {
	defer cancel()
	ping := time.NewTicker(wsPingInterval)
	defer ping.Stop()
	// An account deleted by hand (the guide's sqlite3 procedure) is noticed within seconds,
	// from the account snapshot, without a query per connection.
	alive := time.NewTicker(wsAliveInterval)
	defer alive.Stop()
	var frames []hub.Frame
	for {
		select {
		case <-sub.Ready:
			var open bool
			frames, open = sub.Take(frames[:0])
			err := s.wsWriteFrames(ctx, c, frames)
			clear(frames)
			if cap(frames) > 64 {
				frames = nil
			}
			if err != nil {
				s.Logger.Debug("websocket write failed", "user", me.Name, "err", err)
				c.CloseNow()
				return
			}
			if !open {
				switch sub.Reason() {
				case "session":
					c.Close(CloseSessionEnded, "session ended")
				case "shutdown":
					c.Close(websocket.StatusGoingAway, "server is going away")
				case "slow":
					c.Close(websocket.StatusTryAgainLater, "too slow; reconnect to catch up")
				default:
					c.Close(websocket.StatusNormalClosure, "")
				}
				return
			}
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, wsPingTimeout)
			err := c.Ping(pctx)
			pcancel()
			if err != nil {
				c.CloseNow()
				return
			}
		case <-alive.C:
			if !s.App.Alive(ctx, me) {
				c.Close(CloseSessionEnded, "session ended")
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func (s *Server) wsReader(ctx context.Context, c *websocket.Conn, me chat.Account, sess string) {
	tokens, last := float64(wsRateBurst), time.Now()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) && ctx.Err() == nil {
				c.Close(websocket.StatusPolicyViolation, "bad frame")
			}
			return
		}
		now := time.Now()
		tokens = min(float64(wsRateBurst), tokens+now.Sub(last).Seconds()*wsRatePerSec)
		last = now
		if tokens < 1 {
			c.Close(websocket.StatusPolicyViolation, "too many frames")
			return
		}
		tokens--
		if typ != websocket.MessageText {
			c.Close(websocket.StatusUnsupportedData, "text frames only")
			return
		}
		// The session may have ended since the handshake (expired, or the account was
		// deleted by hand): nothing more is done for it.
		if _, err := s.App.Authenticate(ctx, sess); chat.ErrorCode(err) == chat.EUnauthorized {
			c.Close(CloseSessionEnded, "session ended")
			return
		}
		var f clientFrame
		if err := json.Unmarshal(data, &f); err != nil {
			s.wsError(ctx, c, "", chat.Errorf(chat.EInvalid, "malformed JSON frame"))
			continue
		}
		if err := s.wsHandle(ctx, c, me, f); err != nil {
			s.wsError(ctx, c, f.ClientID, err)
		}
	}
}

func (s *Server) wsError(ctx context.Context, c *websocket.Conn, clientID string, err error) {
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
	if err := s.wsSend(ctx, c, frame); err != nil {
		s.Logger.Debug("websocket write failed", "err", err)
	}
}

// wsHandle answers one client frame. Its own answers (ack, pong) go straight to this socket;
// everything else reaches the other clients through the hub.
func (s *Server) wsHandle(ctx context.Context, c *websocket.Conn, me chat.Account, f clientFrame) error {
	// A frame must not outlive its socket, but its write must finish once started.
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	switch f.Type {
	case "ping":
		return s.wsSend(ctx, c, chat.Pong{})
	case "send":
		if len(f.ClientID) > 64 {
			return chat.Errorf(chat.EInvalid, "client_id must be at most 64 bytes")
		}
		m, err := s.App.PostReply(opCtx, me, f.Conversation, f.Body, f.ThreadRoot, f.AlsoChannel)
		if err != nil {
			return err
		}
		return s.wsSend(ctx, c, chat.Ack{ClientID: f.ClientID, Message: m})
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
		return s.App.CallSignal(opCtx, me, f.Conversation, f.Signal, f.Data, f.To)
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
		wc.c.CloseNow()
	}
	s.wsMu.Unlock()
}
