package webserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"
)

// TestAlsoChannel_Edges: "also send to channel" is accepted on POST messages and on the
// WebSocket's send frame, only with a thread.
func TestAlsoChannel_Edges(t *testing.T) {
	s := newServer(t, nil, nil)
	alice := s.client(t)
	alice.mustRegister("alice")
	st, body := alice.do("POST", "/api/conversations/c:general/messages", map[string]any{"body": "the root"})
	if st != 201 {
		t.Fatalf("post the root: %d %v", st, body)
	}
	root := body["message"].(map[string]any)["id"].(string)

	st, body = alice.do("POST", "/api/conversations/c:general/messages", map[string]any{"body": "for everyone", "thread_root": root, "also_channel": true})
	if st != 201 {
		t.Fatalf("post with also_channel: %d %v", st, body)
	}
	m := body["message"].(map[string]any)
	if props, _ := m["props"].(map[string]any); props["also_channel"] != true || m["thread_root"] != root || m["root_preview"] != "the root" {
		t.Errorf("posted %v, want also_channel, its thread and the root's text", m)
	}
	if st, body := alice.do("POST", "/api/conversations/c:general/messages", map[string]any{"body": "no thread", "also_channel": true}); st != 400 || body["error"].(map[string]any)["code"] != "invalid" {
		t.Errorf("also_channel without thread_root: %d %v, want 400 invalid", st, body)
	}

	conn, _, err := alice.dialWS()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer := func(clientID string) map[string]any {
		t.Helper()
		for {
			var f map[string]any
			if err := wsjson.Read(ctx, conn, &f); err != nil {
				t.Fatalf("read the answer to %s: %v", clientID, err)
			}
			if f["client_id"] == clientID {
				return f
			}
		}
	}
	wsjson.Write(ctx, conn, map[string]any{"type": "send", "conversation": "c:general", "body": "over the socket", "client_id": "c1", "thread_root": root, "also_channel": true})
	f := answer("c1")
	if f["type"] != "ack" {
		t.Fatalf("send with also_channel: %v, want ack", f)
	}
	if props, _ := f["message"].(map[string]any)["props"].(map[string]any); props["also_channel"] != true {
		t.Errorf("ack %v, want the reply marked also_channel", f)
	}
	wsjson.Write(ctx, conn, map[string]any{"type": "send", "conversation": "c:general", "body": "no thread", "client_id": "c2", "also_channel": true})
	if f := answer("c2"); f["type"] != "error" || f["code"] != "invalid" {
		t.Errorf("send with also_channel and no thread: %v, want an invalid error", f)
	}
}
