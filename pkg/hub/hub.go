// Package hub delivers live events to connected clients. It knows nothing of WebSockets: a
// subscriber is a channel of frames. Clients are keyed by account id (never by username, which
// a later account may reuse). Every account has an increasing event sequence and a ring of
// recent events, so a client that reconnects gets exactly what it missed, or is told to
// resync when the ring (or a restart) lost it. Publishing never blocks on a slow client: a
// subscriber's frames queue up to Buffer, and past that its subscription is closed instead,
// and it reconnects and catches up. An idle subscriber holds no queue.
package hub

import (
	"crypto/rand"
	"strconv"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// Frame is one event for one user: its sequence number and the shared JSON object.
type Frame struct {
	Seq     uint64
	Payload []byte // a JSON object without "seq"; shared between users, never modified
	// Presence, on a presence frame, is its event (shared, never modified): a connection
	// that watches only some accounts' presence sends those alone (see FilterPresence). A
	// pointer, so that the frames kept in every account's ring stay small.
	Presence *chat.PresenceChanged
}

// FilterPresence returns f as a connection watching only the accounts in watch sees it: f
// itself unless it is a presence frame; a presence frame of the watched accounts' changes
// only; ok false when none of its changes is watched (the frame is not sent: the client sees
// a gap in the sequence, which costs it nothing).
func (f Frame) FilterPresence(watch map[string]struct{}) (out Frame, ok bool) {
	if f.Presence == nil || watch == nil {
		return f, true
	}
	var keep []chat.PresenceChange
	for _, c := range f.Presence.Changes {
		if _, w := watch[c.User]; w {
			keep = append(keep, c)
		}
	}
	switch len(keep) {
	case 0:
		return Frame{}, false
	case len(f.Presence.Changes):
		return f, true
	}
	ev := &chat.PresenceChanged{Changes: keep}
	payload, err := chat.MarshalEvent(ev)
	if err != nil {
		return Frame{}, false
	}
	return Frame{Seq: f.Seq, Payload: payload, Presence: ev}, true
}

// Bytes returns the frame as the JSON object sent to the client, with "seq" added.
func (f Frame) Bytes() []byte {
	if len(f.Payload) < 2 {
		return f.Payload
	}
	return f.AppendTo(make([]byte, 0, len(f.Payload)+24))
}

// AppendTo appends the frame as sent to the client (Bytes) to b: a writer reusing one buffer
// copies the shared payload once per frame and allocates nothing.
func (f Frame) AppendTo(b []byte) []byte {
	head, rest := f.Split(b)
	return append(head, rest...)
}

// Split is AppendTo in two parts, for a writer that copies the frame once, where it goes:
// what comes before the shared payload's bytes, appended to b, and the rest, which is the
// payload's own memory (not to be changed).
func (f Frame) Split(b []byte) (head, rest []byte) {
	if len(f.Payload) < 2 {
		return b, f.Payload
	}
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, f.Seq, 10)
	if len(f.Payload) > 2 {
		b = append(b, ',')
	}
	return b, f.Payload[1:]
}

// Sub is one connected client.
type Sub struct {
	User    string
	Session string
	// Conn identifies this connection among all of the hub's: random, set by Subscribe.
	// PublishConn addresses it.
	Conn string

	mu     sync.Mutex
	q      []Frame
	ended  bool
	reason string
	notify func()
	// wakeAt is how many frames must be queued before a push signals (WakeAt).
	wakeAt int
}

// WakeAt makes a queued frame signal (call Notify's fn) only once n frames are queued;
// the end of the subscription always signals. A writer that waits on a timer for more frames
// to share a write sets it, so that it is not woken for each frame only to see that there are
// not yet enough; 0 restores a signal for every frame.
func (s *Sub) WakeAt(n int) {
	s.mu.Lock()
	s.wakeAt = n
	s.mu.Unlock()
}

// Notify makes fn be called whenever frames are queued or the subscription ends; at once if
// that already happened. fn must not block (the hub calls it with its lock held): the
// client's writer is put in line from it, and calls Take when its turn comes.
func (s *Sub) Notify(fn func()) {
	s.mu.Lock()
	s.notify = fn
	pending := len(s.q) > 0 || s.ended
	s.mu.Unlock()
	if pending {
		fn()
	}
}

// Pending reports whether frames are queued or the subscription has ended.
func (s *Sub) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q) > 0 || s.ended
}

// Queued is the number of frames waiting, and whether the subscription has ended.
func (s *Sub) Queued() (n int, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q), s.ended
}

// wake tells the subscriber's writer there is something to take.
func (s *Sub) wake() {
	s.mu.Lock()
	fn := s.notify
	s.mu.Unlock()
	s.signal(fn)
}

// signal calls the writer's fn, if it has one yet.
func (s *Sub) signal(fn func()) {
	if fn != nil {
		fn()
	}
}

// Take appends the queued frames to buf and empties the queue; open is false when the
// subscription has ended: these are its last frames (see Reason). It restores a signal for
// every frame (WakeAt(0)): the writer has what it waited for.
func (s *Sub) Take(buf []Frame) (frames []Frame, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wakeAt = 0
	buf = append(buf, s.q...)
	clear(s.q)
	if cap(s.q) > 64 {
		s.q = nil // the backlog is gone: give back its memory
	} else {
		s.q = s.q[:0]
	}
	return buf, !s.ended
}

// Reason says why the subscription ended: "slow", "session", "shutdown" or "".
func (s *Sub) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// push queues f; false when the queue is full (the subscriber is too slow).
func (s *Sub) push(f Frame, limit int) bool {
	s.mu.Lock()
	if len(s.q) >= limit {
		s.mu.Unlock()
		return false
	}
	s.q = append(s.q, f)
	fn, wake := s.notify, len(s.q) >= s.wakeAt
	s.mu.Unlock()
	if wake {
		s.signal(fn)
	}
	return true
}

type userState struct {
	seq uint64
	// ring holds the last RingSize frames, oldest at head once it is full. It is kept only
	// for an account that has had a client in this boot (only such a client can come back
	// with a seq to catch up from), and dropped RingTTL after its last client left.
	ring []Frame
	head int
	keep bool
	// idleSince is when the last client left (meaningful while none is connected).
	idleSince time.Time
	subs      map[*Sub]struct{}
}

// add appends f to the ring, dropping the oldest frame when it is full.
func (u *userState) add(f Frame, size int) {
	if len(u.ring) < size {
		u.ring = append(u.ring, f)
		return
	}
	u.ring[u.head] = f
	u.head = (u.head + 1) % len(u.ring)
}

// oldest returns the oldest frame of the ring; false when it is empty.
func (u *userState) oldest() (Frame, bool) {
	if len(u.ring) == 0 {
		return Frame{}, false
	}
	return u.ring[u.head], true
}

// Hub is the set of connected clients.
type Hub struct {
	boot string
	// RingSize is how many recent events per user are kept for catch-up.
	RingSize int
	// RingTTL is how long an account's ring is kept after its last client left: a client
	// that comes back later resyncs (reloads) instead of replaying.
	RingTTL time.Duration
	// Buffer is how many frames may wait for one subscriber before it is closed as slow.
	Buffer int

	mu    sync.Mutex
	users map[string]*userState
	n     int
	// slow counts the subscriptions closed because their queue was full.
	slow uint64
	// closed is set by CloseAll: no more subscriptions.
	closed bool
}

// New returns an empty Hub with a fresh boot id.
func New() *Hub {
	return &Hub{boot: rand.Text()[:12], RingSize: 256, RingTTL: 15 * time.Minute, Buffer: 1024, users: map[string]*userState{}}
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
	var presence *chat.PresenceChanged
	if p, ok := ev.(chat.PresenceChanged); ok {
		presence = &p
	}
	h.publish(users, payload, presence)
	return nil
}

func (h *Hub) publish(users []string, payload []byte, presence *chat.PresenceChanged) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, user := range users {
		u := h.state(user)
		u.seq++
		f := Frame{Seq: u.seq, Payload: payload, Presence: presence}
		h.expire(u, now)
		if u.keep {
			u.add(f, h.RingSize)
		}
		for s := range u.subs {
			if !s.push(f, h.Buffer) {
				h.slow++
				h.closeLocked(s, "slow")
			}
		}
	}
}

// PublishConn sends ev to one connection only: conn of the account with id user. The frame
// takes the account's next sequence number, so the connection's frames stay in order, but it
// is not kept in the ring: it is meant for that connection, and a later connection (which has
// another id) must never get it in a catch-up. The account's other connections see a gap in
// the sequence, which costs them nothing. It reports whether conn is one of user's live
// connections; if not, nothing is sent.
func (h *Hub) PublishConn(user, conn string, ev chat.Event) (bool, error) {
	payload, err := chat.MarshalEvent(ev)
	if err != nil {
		return false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[user]
	if u == nil {
		return false, nil
	}
	for s := range u.subs {
		if s.Conn != conn {
			continue
		}
		u.seq++
		if !s.push(Frame{Seq: u.seq, Payload: payload}, h.Buffer) {
			h.slow++
			h.closeLocked(s, "slow")
		}
		return true, nil
	}
	return false, nil
}

// Subscribe connects a client of user (with session, the session's id hash). With boot equal
// to this hub's and since > 0, it returns the frames after since; resync is true when they
// are no longer all available. The caller must Unsubscribe.
func (h *Hub) Subscribe(user, session, boot string, since uint64) (sub *Sub, replay []Frame, seq uint64, resync bool) {
	sub, replay, seq, resync, _ = h.SubscribeAtMost(0, user, session, boot, since)
	return sub, replay, seq, resync
}

// SubscribeAtMost is Subscribe unless user already has max connections (0: no limit); then
// ok is false and nothing is subscribed. The count and the subscription are one step, so
// concurrent handshakes cannot pass the limit together.
func (h *Hub) SubscribeAtMost(max int, user, session, boot string, since uint64) (sub *Sub, replay []Frame, seq uint64, resync, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.state(user)
	if h.closed || max > 0 && len(u.subs) >= max {
		return nil, nil, 0, false, false
	}
	h.expire(u, time.Now())
	sub, replay, seq, resync = h.subscribeLocked(u, user, session, boot, since)
	return sub, replay, seq, resync, true
}

func (h *Hub) subscribeLocked(u *userState, user, session, boot string, since uint64) (sub *Sub, replay []Frame, seq uint64, resync bool) {
	sub = &Sub{User: user, Session: session, Conn: rand.Text()}
	u.subs[sub] = struct{}{}
	u.keep = true
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
	if o, ok := u.oldest(); !ok || o.Seq > since+1 {
		return sub, nil, seq, true
	}
	for i := range u.ring {
		if f := u.ring[(u.head+i)%len(u.ring)]; f.Seq > since {
			replay = append(replay, f)
		}
	}
	return sub, replay, seq, false
}

// expire drops u's ring if its last client left more than RingTTL ago. It runs when an event
// is published to u and when a client subscribes, so a client coming back later resyncs.
func (h *Hub) expire(u *userState, now time.Time) {
	if u.keep && len(u.subs) == 0 && now.Sub(u.idleSince) >= h.RingTTL {
		u.keep, u.ring, u.head = false, nil, 0
	}
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
	if len(u.subs) == 0 {
		u.idleSince = time.Now()
	}
	h.n--
	sub.mu.Lock()
	if !sub.ended {
		sub.ended = true
		sub.reason = reason
	}
	sub.mu.Unlock()
	sub.wake()
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

// CloseAll ends every connection, and refuses new ones (the daemon is stopping).
func (h *Hub) CloseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
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

// Closed reports whether CloseAll was called.
func (h *Hub) Closed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// Slow returns how many subscriptions were closed because they fell Buffer frames behind.
func (h *Hub) Slow() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.slow
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
