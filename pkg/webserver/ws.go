package webserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
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
	user, sess, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
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

	sub, replay, seq, resync := s.Hub.Subscribe(user, sess, q.Get("boot"), since)
	first := s.Hub.Connections(user) == 1
	defer func() {
		s.Hub.Unsubscribe(sub)
		if s.Hub.Connections(user) == 0 {
			bg := context.Background()
			if ok, err := s.Store.UserExists(bg, user); err == nil && !ok {
				// The account was deleted: its presence rows are gone and must stay gone.
				return
			}
			s.Store.ClearTyping(bg, user)
			s.leaveCalls(bg, user)
			s.setPresence(bg, user, "offline")
		}
	}()
	hello, _ := json.Marshal(map[string]any{"type": "hello", "boot": s.Hub.Boot(), "seq": seq, "user": user})
	if err := s.wsWrite(ctx, c, hello); err != nil {
		return
	}
	if resync {
		s.wsWrite(ctx, c, []byte(`{"type":"resync"}`))
	}
	for _, f := range replay {
		if err := s.wsWrite(ctx, c, f.Bytes()); err != nil {
			return
		}
	}
	if first {
		s.setPresence(ctx, user, "online")
	}
	go s.wsWriter(ctx, cancel, c, sub)
	s.wsReader(ctx, c, user, sess)
}

func (s *Server) wsWrite(ctx context.Context, c *websocket.Conn, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

// wsWriter sends the subscription's frames and pings; it closes the socket when the
// subscription ends, with a code that tells the client why.
func (s *Server) wsWriter(ctx context.Context, cancel context.CancelFunc, c *websocket.Conn, sub *hub.Sub) {
	defer cancel()
	ping := time.NewTicker(wsPingInterval)
	defer ping.Stop()
	for {
		select {
		case f, ok := <-sub.C:
			if !ok {
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
			if err := s.wsWrite(ctx, c, f.Bytes()); err != nil {
				c.CloseNow()
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
		case <-ctx.Done():
			return
		}
	}
}

func (s *Server) wsReader(ctx context.Context, c *websocket.Conn, user, sess string) {
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
		if _, err := s.Store.LookupSession(ctx, sess); chat.ErrorCode(err) == chat.EUnauthorized {
			c.Close(CloseSessionEnded, "session ended")
			return
		}
		var f clientFrame
		if err := json.Unmarshal(data, &f); err != nil {
			s.wsError(ctx, c, "", chat.Errorf(chat.EInvalid, "malformed JSON frame"))
			continue
		}
		if err := s.wsHandle(ctx, c, user, f); err != nil {
			s.wsError(ctx, c, f.ClientID, err)
		}
	}
}

func (s *Server) wsError(ctx context.Context, c *websocket.Conn, clientID string, err error) {
	if chat.ErrorCode(err) == chat.EInternal {
		s.Logger.Error("websocket frame failed", "err", err)
	}
	b, _ := json.Marshal(map[string]any{"type": "error", "client_id": clientID, "code": chat.ErrorCode(err), "message": chat.ErrorMessage(err)})
	s.wsWrite(ctx, c, b)
}

// wsHandle answers one client frame. Its own answers (ack, pong) go straight to this socket;
// everything else reaches the other clients through the hub.
func (s *Server) wsHandle(ctx context.Context, c *websocket.Conn, user string, f clientFrame) error {
	// A frame must not outlive its socket, but its write must finish once started.
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	switch f.Type {
	case "ping":
		return s.wsWrite(ctx, c, []byte(`{"type":"pong"}`))
	case "send":
		if len(f.ClientID) > 64 {
			return chat.Errorf(chat.EInvalid, "client_id must be at most 64 bytes")
		}
		m, err := s.Post(opCtx, user, f.Conversation, f.Body, f.ThreadRoot, nil)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(map[string]any{"type": "ack", "client_id": f.ClientID, "message": m})
		return s.wsWrite(ctx, c, b)
	case "typing":
		return s.Typing(opCtx, user, f.Conversation)
	case "read":
		return s.MarkRead(opCtx, user, f.Conversation, f.MessageID)
	case "presence":
		if f.Presence != "online" && f.Presence != "away" {
			return chat.Errorf(chat.EInvalid, "presence must be online or away")
		}
		s.setPresence(opCtx, user, f.Presence)
		return nil
	case "call":
		return s.callSignal(opCtx, user, f)
	}
	return chat.Errorf(chat.EInvalid, "unknown frame type %q", f.Type)
}

func (s *Server) setPresence(ctx context.Context, user, status string) {
	if err := s.Store.SetPresence(ctx, user, status); err != nil {
		s.Logger.Warn("record presence", "user", user, "err", err)
	}
	s.Hub.Publish(s.allUsers(ctx), map[string]any{"type": "presence", "user": user, "presence": status})
}

// callSignal relays WebRTC signalling among a conversation's members and records who is in
// the call in call_participants.
func (s *Server) callSignal(ctx context.Context, user string, f clientFrame) error {
	c, err := s.resolve(ctx, user, f.Conversation)
	if err != nil {
		return err
	}
	if len(f.Data) > 32<<10 {
		return chat.Errorf(chat.ETooLarge, "call data too large")
	}
	switch f.Signal {
	case "join":
		if err := s.Store.JoinCall(ctx, c.ID, user); err != nil {
			return err
		}
	case "leave":
		if err := s.Store.LeaveCall(ctx, c.ID, user); err != nil {
			return err
		}
	case "offer", "answer", "candidate":
	default:
		return chat.Errorf(chat.EInvalid, "unknown call signal %q", f.Signal)
	}
	ev := map[string]any{"type": "call", "conversation": c.ID, "from": user, "signal": f.Signal, "data": f.Data, "to": f.To}
	if f.To != "" {
		for _, m := range c.recipients {
			if m == f.To {
				s.Hub.Publish([]string{f.To}, ev)
				return nil
			}
		}
		return chat.Errorf(chat.ENotFound, "no such member %q", f.To)
	}
	ps, err := s.Store.CallParticipants(ctx, c.ID)
	if err != nil {
		return err
	}
	ev["participants"] = ps
	var others []string
	for _, m := range c.recipients {
		if m != user {
			others = append(others, m)
		}
	}
	s.Hub.Publish(others, ev)
	return nil
}

// leaveCalls removes a disconnected user from every call and tells the other members, as
// if the user had sent a "leave" signal.
func (s *Server) leaveCalls(ctx context.Context, user string) {
	convs, err := s.Store.UserCalls(ctx, user)
	if err != nil {
		s.Logger.Warn("list calls", "user", user, "err", err)
	}
	if err := s.Store.LeaveCall(ctx, "", user); err != nil {
		s.Logger.Warn("leave calls", "user", user, "err", err)
	}
	for _, id := range convs {
		c, err := s.resolve(ctx, user, id)
		if err != nil {
			continue
		}
		ps, _ := s.Store.CallParticipants(ctx, id)
		var others []string
		for _, m := range c.recipients {
			if m != user {
				others = append(others, m)
			}
		}
		s.Hub.Publish(others, map[string]any{"type": "call", "conversation": id, "from": user, "signal": "leave", "participants": ps})
	}
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
