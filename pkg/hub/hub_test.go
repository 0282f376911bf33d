package hub_test

import (
	"encoding/json"
	"sync"
	"testing"

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

func TestHub_PublishAndCatchUp(t *testing.T) {
	h := hub.New()
	sub, _, _, _ := h.Subscribe("bob", "s1", "", 0)
	h.Publish([]string{"alice", "bob"}, map[string]string{"type": "a"})
	f := <-sub.C
	if seq, typ := seqOf(t, f); seq != 1 || typ != "a" {
		t.Errorf("got seq %d type %q, want 1 a", seq, typ)
	}
	h.Unsubscribe(sub)
	for i := 0; i < 3; i++ {
		h.Publish([]string{"bob"}, map[string]string{"type": "b"})
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
	for i := 0; i < 10; i++ {
		h.Publish([]string{"bob"}, map[string]int{"n": i})
	}
	_, replay, _, resync := h.Subscribe("bob", "s", h.Boot(), 2)
	if !resync || replay != nil {
		t.Errorf("resync = %v with %d frames; want resync and none", resync, len(replay))
	}
	_, replay, _, resync = h.Subscribe("bob", "s", h.Boot(), 7)
	if resync || len(replay) != 3 {
		t.Errorf("resync = %v with %d frames; want 3 frames", resync, len(replay))
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
		for range fast.C {
			got++
			if got == 10 {
				return
			}
		}
	}()
	for i := 0; i < 10; i++ {
		h.Publish([]string{"alice", "bob"}, map[string]int{"n": i})
	}
	wg.Wait()
	n := 0
	for range slow.C {
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
	if _, ok := <-a.C; ok || a.Reason() != "session" {
		t.Errorf("s1 still open or reason %q", a.Reason())
	}
	if h.Connections("bob") != 1 {
		t.Errorf("connections = %d, want 1", h.Connections("bob"))
	}
	h.CloseUser("bob", "")
	if _, ok := <-b.C; ok {
		t.Error("s2 still open after CloseUser")
	}
}
