// Package hub delivers live events to connected clients. It knows nothing of WebSockets: a
// subscriber is a channel of frames. Clients are keyed by account id (never by username, which
// a later account may reuse). Every account has an increasing event sequence and a ring of
// recent events, so a client that reconnects gets exactly what it missed, or is told to
// resync when the ring (or a restart) lost it. Publishing never blocks on a slow client: its
// subscription is closed instead, and it reconnects and catches up.
package hub

import (
	"crypto/rand"
	"strconv"
	"sync"

	"github.com/minimost/minimost/pkg/chat"
)

// Frame is one event for one user: its sequence number and the shared JSON object.
type Frame struct {
	Seq     uint64
	Payload []byte // a JSON object without "seq"; shared between users, never modified
}

// Bytes returns the frame as the JSON object sent to the client, with "seq" added.
func (f Frame) Bytes() []byte {
	if len(f.Payload) < 2 {
		return f.Payload
	}
	b := make([]byte, 0, len(f.Payload)+24)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, f.Seq, 10)
	if len(f.Payload) > 2 {
		b = append(b, ',')
	}
	return append(b, f.Payload[1:]...)
}

// Sub is one connected client.
type Sub struct {
	User    string
	Session string
	// C carries the frames; it is closed when the subscription ends (see Reason).
	C      chan Frame
	reason string
	once   sync.Once
	hub    *Hub
}

// Reason says why C was closed: "slow", "session", "shutdown" or "".
func (s *Sub) Reason() string {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.reason
}

type userState struct {
	seq  uint64
	ring []Frame // last RingSize frames, oldest first
	subs map[*Sub]struct{}
}

// Hub is the set of connected clients.
type Hub struct {
	boot string
	// RingSize is how many recent events per user are kept for catch-up.
	RingSize int
	// Buffer is the size of each subscriber's channel.
	Buffer int

	mu    sync.Mutex
	users map[string]*userState
	n     int
}

// New returns an empty Hub with a fresh boot id.
func New() *Hub {
	return &Hub{boot: rand.Text()[:12], RingSize: 256, Buffer: 256, users: map[string]*userState{}}
}

// Boot identifies this process's sequence space; a client's seq from another boot is useless.
func (h *Hub) Boot() string { return h.boot }

func (h *Hub) state(user string) *userState {
	u := h.users[user]
	if u == nil {
		u = &userState{subs: map[*Sub]struct{}{}}
		h.users[user] = u
	}
	return u
}

// Publish sends ev (marshalled to a JSON object once) to every connection of the accounts
// with the given ids. An event that cannot be marshalled is an error and reaches no one.
func (h *Hub) Publish(users []string, ev chat.Event) error {
	payload, err := chat.MarshalEvent(ev)
	if err != nil {
		return err
	}
	h.publish(users, payload)
	return nil
}

func (h *Hub) publish(users []string, payload []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, user := range users {
		u := h.state(user)
		u.seq++
		f := Frame{Seq: u.seq, Payload: payload}
		if len(u.ring) >= h.RingSize {
			copy(u.ring, u.ring[1:])
			u.ring[len(u.ring)-1] = f
		} else {
			u.ring = append(u.ring, f)
		}
		for s := range u.subs {
			select {
			case s.C <- f:
			default:
				h.closeLocked(s, "slow")
			}
		}
	}
}

// Subscribe connects a client of user (with session, the session's id hash). With boot equal
// to this hub's and since > 0, it returns the frames after since; resync is true when they
// are no longer all available. The caller must Unsubscribe.
func (h *Hub) Subscribe(user, session, boot string, since uint64) (sub *Sub, replay []Frame, seq uint64, resync bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.state(user)
	sub = &Sub{User: user, Session: session, C: make(chan Frame, h.Buffer), hub: h}
	u.subs[sub] = struct{}{}
	h.n++
	seq = u.seq
	if boot == "" && since == 0 {
		return sub, nil, seq, false
	}
	if boot != h.boot || since > u.seq {
		return sub, nil, seq, true
	}
	if since == u.seq {
		return sub, nil, seq, false
	}
	if len(u.ring) == 0 || u.ring[0].Seq > since+1 {
		return sub, nil, seq, true
	}
	for _, f := range u.ring {
		if f.Seq > since {
			replay = append(replay, f)
		}
	}
	return sub, replay, seq, false
}

// Unsubscribe removes sub.
func (h *Hub) Unsubscribe(sub *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closeLocked(sub, "")
}

func (h *Hub) closeLocked(sub *Sub, reason string) {
	u := h.users[sub.User]
	if u == nil {
		return
	}
	if _, ok := u.subs[sub]; !ok {
		return
	}
	delete(u.subs, sub)
	h.n--
	if sub.reason == "" {
		sub.reason = reason
	}
	sub.once.Do(func() { close(sub.C) })
}

// CloseSession ends every connection of the session with the given id hash.
func (h *Hub) CloseSession(session string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.users {
		for s := range u.subs {
			if s.Session == session {
				h.closeLocked(s, "session")
			}
		}
	}
}

// CloseUser ends every connection of user but those of session keep ("" for all).
func (h *Hub) CloseUser(user, keep string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[user]
	if u == nil {
		return
	}
	for s := range u.subs {
		if keep == "" || s.Session != keep {
			h.closeLocked(s, "session")
		}
	}
}

// CloseAll ends every connection (the daemon is stopping).
func (h *Hub) CloseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.users {
		for s := range u.subs {
			h.closeLocked(s, "shutdown")
		}
	}
}

// Connections returns how many connections user has.
func (h *Hub) Connections(user string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if u := h.users[user]; u != nil {
		return len(u.subs)
	}
	return 0
}

// Count returns the number of connections.
func (h *Hub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Forget drops user's sequence and ring (the account was deleted).
func (h *Hub) Forget(user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if u := h.users[user]; u != nil && len(u.subs) == 0 {
		delete(h.users, user)
	}
}
