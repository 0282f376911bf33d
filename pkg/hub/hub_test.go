package hub_test

import (
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/hub"
)

func seqOf(t *testing.T, f hub.Frame) (uint64, string) {
	t.Helper()
	var m struct {
		Seq  uint64 `json:"seq"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(f.Bytes(), &m); err != nil {
		t.Fatalf("frame %s: %v", f.Bytes(), err)
	}
	return m.Seq, m.Type
}

// reader reads a subscription as the WebSocket writer does: wait for Notify's call, Take.
type reader struct {
	sub     *hub.Sub
	ready   chan struct{}
	pending []hub.Frame
	ended   bool
}

// next waits for the subscriber's next frame; ok is false when it ended.
func (r *reader) next() (hub.Frame, bool) {
	if r.ready == nil {
		r.ready = make(chan struct{}, 1)
		r.sub.Notify(func() {
			select {
			case r.ready <- struct{}{}:
			default:
			}
		})
	}
	for len(r.pending) == 0 {
		if r.ended {
			return hub.Frame{}, false
		}
		<-r.ready
		var open bool
		r.pending, open = r.sub.Take(r.pending)
		r.ended = !open
	}
	f := r.pending[0]
	r.pending = r.pending[1:]
	return f, true
}

func nextOf(sub *hub.Sub) (hub.Frame, bool) { return (&reader{sub: sub}).next() }

func TestHub_PublishAndCatchUp(t *testing.T) {
	h := hub.New()
	sub, _, _, _ := h.Subscribe("bob", "s1", "", 0)
	h.Publish([]string{"alice", "bob"}, chat.Typing{Conversation: "c:a"})
	f, _ := nextOf(sub)
	if seq, typ := seqOf(t, f); seq != 1 || typ != "typing" {
		t.Errorf("got seq %d type %q, want 1 typing", seq, typ)
	}
	h.Unsubscribe(sub)
	for i := 0; i < 3; i++ {
		h.Publish([]string{"bob"}, chat.Resync{})
	}
	sub2, replay, seq, resync := h.Subscribe("bob", "s1", h.Boot(), 1)
	defer h.Unsubscribe(sub2)
	if resync || len(replay) != 3 || seq != 4 {
		t.Fatalf("replay = %d frames, seq %d, resync %v; want 3, 4, false", len(replay), seq, resync)
	}
	for i, f := range replay {
		if s, _ := seqOf(t, f); s != uint64(i+2) {
			t.Errorf("replay[%d] seq = %d, want %d", i, s, i+2)
		}
	}
	if _, _, _, resync := h.Subscribe("bob", "s1", "otherboot", 1); !resync {
		t.Error("a seq from another boot did not ask for resync")
	}
}

func TestHub_RingOverflowAsksResync(t *testing.T) {
	h := hub.New()
	h.RingSize = 4
	first, _, _, _ := h.Subscribe("bob", "s", "", 0)
	h.Unsubscribe(first)
	for i := 0; i < 10; i++ {
		h.Publish([]string{"bob"}, chat.MessageDeleted{ID: strconv.Itoa(i)})
	}
	_, replay, _, resync := h.Subscribe("bob", "s", h.Boot(), 2)
	if !resync || replay != nil {
		t.Errorf("resync = %v with %d frames; want resync and none", resync, len(replay))
	}
	_, replay, _, resync = h.Subscribe("bob", "s", h.Boot(), 7)
	if resync || len(replay) != 3 {
		t.Fatalf("resync = %v with %d frames; want 3 frames", resync, len(replay))
	}
	// The ring wrapped around: the replay is still oldest first.
	for i, f := range replay {
		if f.Seq != uint64(8+i) {
			t.Errorf("replay[%d].Seq = %d, want %d", i, f.Seq, 8+i)
		}
	}
}

// Only an account that had a client in this boot keeps a ring (only such a client can come
// back with a seq), and only for RingTTL after its last client left.
func TestHub_RingOnlyForClientsOfThisBoot(t *testing.T) {
	h := hub.New()
	h.Publish([]string{"carol"}, chat.Pong{})
	if _, replay, seq, resync := h.Subscribe("carol", "s", h.Boot(), 0); !resync || replay != nil || seq != 1 {
		t.Errorf("never connected: resync = %v, %d frames, seq %d; want resync, none, 1", resync, len(replay), seq)
	}

	h.RingTTL = 0
	sub, _, _, _ := h.Subscribe("dave", "s", "", 0)
	h.Publish([]string{"dave"}, chat.Pong{})
	h.Unsubscribe(sub)
	h.Publish([]string{"dave"}, chat.Pong{}) // past the TTL: the ring goes
	if _, replay, _, resync := h.Subscribe("dave", "s", h.Boot(), 1); !resync || replay != nil {
		t.Errorf("after the TTL: resync = %v with %d frames; want resync", resync, len(replay))
	}
}

func TestHub_SlowSubscriberIsClosedNotWaitedFor(t *testing.T) {
	h := hub.New()
	h.Buffer = 2
	slow, _, _, _ := h.Subscribe("bob", "s", "", 0)
	fast, _, _, _ := h.Subscribe("alice", "s2", "", 0)
	var wg sync.WaitGroup
	wg.Add(1)
	got := 0
	go func() {
		defer wg.Done()
		r := &reader{sub: fast}
		for {
			if _, ok := r.next(); !ok {
				return
			}
			got++
			if got == 10 {
				return
			}
		}
	}()
	for i := 0; i < 10; i++ {
		h.Publish([]string{"alice", "bob"}, chat.MessageDeleted{ID: strconv.Itoa(i)})
	}
	wg.Wait()
	n := 0
	r := &reader{sub: slow}
	for {
		if _, ok := r.next(); !ok {
			break
		}
		n++
	}
	if n != 2 || slow.Reason() != "slow" {
		t.Errorf("slow subscriber got %d frames, reason %q; want 2, slow", n, slow.Reason())
	}
}

func TestHub_CloseSession(t *testing.T) {
	h := hub.New()
	a, _, _, _ := h.Subscribe("bob", "s1", "", 0)
	b, _, _, _ := h.Subscribe("bob", "s2", "", 0)
	h.CloseSession("s1")
	if _, ok := nextOf(a); ok || a.Reason() != "session" {
		t.Errorf("s1 still open or reason %q", a.Reason())
	}
	if h.Connections("bob") != 1 {
		t.Errorf("connections = %d, want 1", h.Connections("bob"))
	}
	h.CloseUser("bob", "")
	if _, ok := nextOf(b); ok {
		t.Error("s2 still open after CloseUser")
	}
}

// badEvent cannot be marshalled: a channel is not JSON.
type badEvent struct {
	C chan int `json:"c"`
}

func (badEvent) EventType() string { return "bad" }

func TestHub_PublishReturnsMarshalErrors(t *testing.T) {
	h := hub.New()
	sub, _, _, _ := h.Subscribe("bob", "s", "", 0)
	defer h.Unsubscribe(sub)
	if err := h.Publish([]string{"bob"}, badEvent{C: make(chan int)}); err == nil {
		t.Fatal("Publish of an unmarshallable event returned nil")
	}
	if err := h.Publish([]string{"bob"}, chat.Pong{}); err != nil {
		t.Fatalf("Publish(Pong) = %v", err)
	}
	// The failed event took no sequence number: the next one is 1.
	f, _ := nextOf(sub)
	if seq, typ := seqOf(t, f); seq != 1 || typ != "pong" {
		t.Errorf("got seq %d type %q, want 1 pong", seq, typ)
	}
}

func TestHub_AccountsAreKeyedByID(t *testing.T) {
	// A later account of the same name has another id: it sees none of the old one's events.
	h := hub.New()
	for i := 0; i < 3; i++ {
		h.Publish([]string{"carol"}, chat.Typing{Conversation: "d:alice,carol", User: "alice"})
	}
	sub, replay, seq, resync := h.Subscribe("carol~2", "s", h.Boot(), 0)
	defer h.Unsubscribe(sub)
	if len(replay) != 0 || seq != 0 || resync {
		t.Errorf("new account replayed %d frames (seq %d, resync %v); want none", len(replay), seq, resync)
	}
}

// A subscriber that falls behind by up to Buffer frames gets them all, in order, in one Take;
// one frame more and it is closed as slow, which Slow counts.
func TestHub_BacklogTakenAtOnce(t *testing.T) {
	h := hub.New()
	h.Buffer = 50
	sub, _, _, _ := h.Subscribe("bob", "s", "", 0)
	for i := range 50 {
		h.Publish([]string{"bob"}, chat.MessageDeleted{ID: strconv.Itoa(i)})
	}
	frames, open := sub.Take(nil)
	if !open || len(frames) != 50 {
		t.Fatalf("took %d frames (open %v), want 50 open", len(frames), open)
	}
	for i, f := range frames {
		if seq, _ := seqOf(t, f); seq != uint64(i+1) {
			t.Fatalf("frame %d has seq %d", i, seq)
		}
	}
	if frames, open := sub.Take(frames[:0]); len(frames) != 0 || !open {
		t.Errorf("second take: %d frames, open %v; want none, open", len(frames), open)
	}
	for i := range 51 {
		h.Publish([]string{"bob"}, chat.MessageDeleted{ID: strconv.Itoa(i)})
	}
	if frames, open := sub.Take(nil); len(frames) != 50 || open || sub.Reason() != "slow" {
		t.Errorf("after 51 frames: took %d, open %v, reason %q; want 50, closed, slow", len(frames), open, sub.Reason())
	}
	if got := h.Slow(); got != 1 {
		t.Errorf("Slow() = %d, want 1", got)
	}
}

// A frame published to one connection reaches that connection only, takes the account's next
// sequence number, and is never replayed to a later connection.
func TestHub_PublishConn(t *testing.T) {
	h := hub.New()
	s1, _, _, _ := h.Subscribe("bob", "s", "", 0)
	defer h.Unsubscribe(s1)
	s2, _, _, _ := h.Subscribe("bob", "s", "", 0)
	defer h.Unsubscribe(s2)
	if s1.Conn == "" || s1.Conn == s2.Conn {
		t.Fatalf("connection ids %q and %q, want two different ids", s1.Conn, s2.Conn)
	}
	r1, r2 := &reader{sub: s1}, &reader{sub: s2}
	h.Publish([]string{"bob"}, chat.Typing{Conversation: "c:a"})
	r1.next()
	r2.next()

	if ok, err := h.PublishConn("bob", s1.Conn, chat.CallSignal{Signal: "offer"}); !ok || err != nil {
		t.Fatalf("PublishConn to a live connection = %v, %v; want true", ok, err)
	}
	// Another account's connection id, or a gone one, reaches no one.
	for _, c := range []struct{ user, conn string }{{"alice", s1.Conn}, {"bob", "gone"}} {
		if ok, err := h.PublishConn(c.user, c.conn, chat.CallSignal{Signal: "offer"}); ok || err != nil {
			t.Errorf("PublishConn(%q, %q) = %v, %v; want false", c.user, c.conn, ok, err)
		}
	}
	h.Publish([]string{"bob"}, chat.Typing{Conversation: "c:b"})

	f, _ := r1.next()
	if seq, typ := seqOf(t, f); seq != 2 || typ != "call" {
		t.Errorf("s1 got seq %d %q, want 2 call", seq, typ)
	}
	f, _ = r1.next()
	if seq, typ := seqOf(t, f); seq != 3 || typ != "typing" {
		t.Errorf("s1 got seq %d %q, want 3 typing", seq, typ)
	}
	f, _ = r2.next()
	if seq, typ := seqOf(t, f); seq != 3 || typ != "typing" {
		t.Errorf("s2 got seq %d %q, want 3 typing (the call frame was not its own)", seq, typ)
	}

	s3, replay, seq, resync := h.Subscribe("bob", "s", h.Boot(), 1)
	defer h.Unsubscribe(s3)
	if resync || seq != 3 || len(replay) != 1 {
		t.Fatalf("catch-up from 1: %d frames, seq %d, resync %v; want 1 frame, seq 3", len(replay), seq, resync)
	}
	if seq, typ := seqOf(t, replay[0]); seq != 3 || typ != "typing" {
		t.Errorf("replayed seq %d %q, want 3 typing", seq, typ)
	}
}

func TestSub_Notify(t *testing.T) {
	h := hub.New()
	sub, _, _, _ := h.Subscribe("u1", "s", "", 0)
	if err := h.Publish([]string{"u1"}, chat.Pong{}); err != nil {
		t.Fatal(err)
	}
	// A frame queued before Notify: fn is called at once.
	calls := 0
	sub.Notify(func() { calls++ })
	if calls != 1 || !sub.Pending() {
		t.Fatalf("calls = %d, pending = %v; want 1, true", calls, sub.Pending())
	}
	if frames, open := sub.Take(nil); len(frames) != 1 || !open {
		t.Fatalf("took %d frames, open %v", len(frames), open)
	}
	if sub.Pending() {
		t.Fatal("pending after Take")
	}
	h.Publish([]string{"u1"}, chat.Pong{})
	h.Publish([]string{"u1"}, chat.Pong{})
	if calls != 3 {
		t.Fatalf("calls = %d after two frames, want 3", calls)
	}
	sub.Take(nil)
	h.Unsubscribe(sub)
	if calls != 4 || !sub.Pending() {
		t.Fatalf("calls = %d, pending = %v after the end; want 4, true", calls, sub.Pending())
	}
	if _, open := sub.Take(nil); open {
		t.Fatal("open after Unsubscribe")
	}
}

func TestHub_SubscribeAtMostHoldsUnderConcurrency(t *testing.T) {
	h := hub.New()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 20 {
		wg.Go(func() {
			if _, _, _, _, in := h.SubscribeAtMost(3, "u1", "s", "", 0); in {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 3 || h.Connections("u1") != 3 {
		t.Fatalf("%d subscriptions admitted, %d connections; want 3 and 3", ok, h.Connections("u1"))
	}
	if _, _, _, _, in := h.SubscribeAtMost(0, "u1", "s", "", 0); !in {
		t.Fatal("no limit (0) refused a subscription")
	}
}

// A connection that watches some accounts' presence gets a presence frame of their changes
// only, and none at all when none of them changed; other frames pass untouched.
func TestFrame_FilterPresence(t *testing.T) {
	h := hub.New()
	sub, _, _, _ := h.Subscribe("u1", "s", "", 0)
	ev := chat.PresenceChanged{Changes: []chat.PresenceChange{{User: "alice", Presence: "online"}, {User: "bob", Presence: "away"}}}
	if err := h.Publish([]string{"u1"}, ev); err != nil {
		t.Fatal(err)
	}
	if err := h.Publish([]string{"u1"}, chat.Typing{Conversation: "c", User: "bob"}); err != nil {
		t.Fatal(err)
	}
	frames, _ := sub.Take(nil)
	if len(frames) != 2 || frames[0].Presence == nil || len(frames[0].Presence.Changes) != 2 || frames[1].Presence != nil {
		t.Fatalf("frames %+v", frames)
	}
	p := frames[0]
	if f, ok := p.FilterPresence(nil); !ok || string(f.Payload) != string(p.Payload) {
		t.Errorf("no watch: %s, %v", f.Payload, ok)
	}
	f, ok := p.FilterPresence(map[string]struct{}{"bob": {}, "carol": {}})
	if want := `{"seq":1,"type":"presence","changes":[{"user":"bob","presence":"away"}]}`; !ok || string(f.Bytes()) != want {
		t.Errorf("watching bob: %s, %v; want %s", f.Bytes(), ok, want)
	}
	if _, ok := p.FilterPresence(map[string]struct{}{"carol": {}}); ok {
		t.Error("watching carol only: the frame is sent")
	}
	if f, ok := p.FilterPresence(map[string]struct{}{"alice": {}, "bob": {}}); !ok || string(f.Payload) != string(p.Payload) {
		t.Errorf("watching both: %s, %v", f.Payload, ok)
	}
	if f, ok := frames[1].FilterPresence(map[string]struct{}{}); !ok || string(f.Payload) != string(frames[1].Payload) {
		t.Errorf("typing frame watching nobody: %s, %v", f.Payload, ok)
	}
	// The unfiltered payload is shared: filtering never changes it.
	if want := `{"type":"presence","changes":[{"user":"alice","presence":"online"},{"user":"bob","presence":"away"}]}`; string(p.Payload) != want {
		t.Errorf("shared payload changed: %s", p.Payload)
	}
}

// With WakeAt(n), queued frames signal (call the Notify fn) only once n are queued; the end
// of the subscription signals whatever is queued; a Take or WakeAt(0) makes every frame
// signal again.
func TestSub_WakeAt(t *testing.T) {
	h := hub.New()
	sub, _, _, _ := h.Subscribe("bob", "s1", "", 0)
	var notified int
	sub.Notify(func() { notified++ })
	publish := func() { h.Publish([]string{"bob"}, chat.Typing{Conversation: "c", User: "ann"}) }
	sub.WakeAt(3)
	publish()
	publish()
	if notified != 0 {
		t.Fatalf("2 of 3 frames queued: notified %d, want 0", notified)
	}
	publish()
	if notified != 1 {
		t.Fatalf("3 of 3 frames queued: notified %d, want 1", notified)
	}
	sub.Take(nil)
	publish()
	if notified != 2 {
		t.Fatalf("after a Take: want a signal for one frame (notified %d)", notified)
	}
	sub.WakeAt(2)
	sub.WakeAt(0)
	publish()
	if notified != 3 {
		t.Fatalf("WakeAt(0): want a signal for one frame (notified %d)", notified)
	}
	sub.WakeAt(5)
	h.Unsubscribe(sub)
	if notified != 4 {
		t.Fatalf("the end, below the threshold: want a signal (notified %d)", notified)
	}
	if _, open := sub.Take(nil); open {
		t.Fatal("Take after the end: open")
	}
}
