package webserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/minimost/minimost/pkg/webserver"
)

// pingPong sends the client's ping frame and reads until its pong; an error means the
// connection ended.
func pingPong(ctx context.Context, conn *websocket.Conn) error {
	if err := wsjson.Write(ctx, conn, map[string]string{"type": "ping"}); err != nil {
		return err
	}
	for {
		var f map[string]any
		if err := wsjson.Read(ctx, conn, &f); err != nil {
			return err
		}
		if f["type"] == "pong" {
			return nil
		}
	}
}

// A session deleted behind the daemon's back (as with sqlite3: no connection is closed for
// it) ends a socket that keeps sending frames, within the recheck.
func TestWebSocket_SessionDeletedByHandEndsTheSocket(t *testing.T) {
	t.Parallel()
	closes := &closeCounter{n: map[string]int{}}
	ctx, conn := socketOfDeletedSession(t, func(ws *webserver.Server) { ws.OnWSClose = closes.add })
	// A ping every 100 ms, within the frame rate limit, until the socket ends.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := pingPong(ctx, conn)
		if err == nil {
			<-tick.C
			continue // within the recheck: served
		}
		if st := websocket.CloseStatus(err); st != webserver.CloseSessionEnded {
			t.Fatalf("socket ended with %v (status %d), want %d", err, st, webserver.CloseSessionEnded)
		}
		break
	}
	closes.waitFor(t, webserver.CloseBySession, 1)
}

// Frames do not each look the session up: within WSSessionRecheck of the last lookup, a
// session deleted by hand is still served.
func TestWebSocket_SessionLookedUpOncePerRecheck(t *testing.T) {
	t.Parallel()
	ctx, conn := socketOfDeletedSession(t, func(ws *webserver.Server) { ws.WSSessionRecheck = time.Hour })
	for i := range 3 {
		if err := pingPong(ctx, conn); err != nil {
			t.Fatalf("ping %d after the deletion, within the recheck: %v", i, err)
		}
	}
}

// socketOfDeletedSession registers alice on a server (set up by setup), opens her socket,
// sends a first frame (which looks the session up) and then deletes her sessions behind the
// daemon's back. The context bounds the test.
func socketOfDeletedSession(t *testing.T, setup func(*webserver.Server)) (context.Context, *websocket.Conn) {
	t.Helper()
	s := newServer(t, nil, setup)
	c := s.client(t)
	c.mustRegister("alice")
	conn, _, err := c.dialWS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	if err := pingPong(ctx, conn); err != nil {
		t.Fatalf("ping before the deletion: %v", err)
	}
	if err := s.app.Store.EndSessions(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	return ctx, conn
}
