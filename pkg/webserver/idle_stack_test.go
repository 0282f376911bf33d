package webserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/minimost/minimost/pkg/chat"
)

// stackInUse answers the runtime's stack memory in use after enough collections for every
// stack that can shrink to have shrunk (each collection halves a stack at most once).
func stackInUse() uint64 {
	var m runtime.MemStats
	for range 6 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.StackInuse
}

// goroutinesIn counts the goroutines whose stack has a frame of function fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte(fn+"("))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// An idle WebSocket costs the stack of its blocked read, not the deepest stack of what it
// read and handled before: a connection that sent frames (a ping, a message posted down
// through the store) and then went idle holds a reader whose stack never held that work.
//
// The test runs in a child process of its own with the runtime's adaptive starting stack size
// off: every goroutine starts with the smallest stack, so the one a reader ends with is what
// its own calls needed, not an average of what other goroutines needed before.
func TestWebSocket_IdleReaderKeepsASmallStack(t *testing.T) {
	if os.Getenv("MINIMOST_TEST_STACK_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWebSocket_IdleReaderKeepsASmallStack$", "-test.v", "-test.count=1")
		godebug := "adaptivestackstart=0"
		if g := os.Getenv("GODEBUG"); g != "" {
			godebug = g + "," + godebug
		}
		cmd.Env = append(os.Environ(), "MINIMOST_TEST_STACK_CHILD=1", "GODEBUG="+godebug)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the test's child process: %v\n%s", err, out)
		}
		if !bytes.Contains(out, []byte("--- PASS: TestWebSocket_IdleReaderKeepsASmallStack")) {
			t.Fatalf("the test's child process did not run the test:\n%s", out)
		}
		t.Logf("the test's child process:\n%s", out)
		return
	}

	const n = 512
	s := newServer(t, func(st *chat.Settings) {
		st.MaxSocketsPerUser = n
		st.ConnectionsPerAddress = 4 * n
	}, nil)
	alice := s.client(t)
	alice.mustRegister("alice")
	base := stackInUse()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		c, _, err := alice.dialWS()
		if err != nil {
			t.Fatalf("socket %d: %v", i+1, err)
		}
		// A frame to handle: a message for the first socket (posted down through the store),
		// a ping (answered with a pong) for the others.
		want, f := "pong", map[string]string{"type": "ping"}
		if i == 0 {
			want, f = "ack", map[string]string{"type": "send", "conversation": "c:general", "body": "posted through the store", "client_id": "1"}
		}
		frame, _ := json.Marshal(f)
		if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
			t.Fatal(err)
		}
		for answered := false; !answered; {
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("socket %d: waiting for the %s: %v", i+1, want, err)
			}
			var ev struct {
				Type string `json:"type"`
			}
			json.Unmarshal(b, &ev)
			answered = ev.Type == want
		}
	}
	// The connections' writers leave once nothing is queued for them; then each connection
	// is its reader alone (the clients' sockets run no goroutine: nothing reads them now).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for goroutinesIn("webserver.(*wsConn).write") > 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("%d connection writers still running", goroutinesIn("webserver.(*wsConn).write"))
		case <-tick.C:
		}
	}
	if r := goroutinesIn("webserver.(*Server).wsReader"); r != n {
		t.Fatalf("%d connection readers, want %d", r, n)
	}
	perSocket := (int64(stackInUse()) - int64(base)) / n
	// The blocked read (the reader's frames, the WebSocket library's, bufio's, net's) fits in
	// 4 KiB; the stack that reading and handling a frame grows to does not (kept by the
	// reader, it shrinks to 8 KiB at best). The race detector's frames are larger: its wait
	// takes 8 KiB. The goroutines that ended keep a few stacks for later ones (up to 128 KiB
	// a processor): spread over n sockets, that is under 1 KiB each.
	limit := int64(6 << 10)
	if raceEnabled {
		limit = 12 << 10
	}
	t.Logf("stack per idle socket: %d bytes (limit %d)", perSocket, limit)
	if perSocket > limit {
		t.Errorf("an idle socket that sent frames holds %d bytes of stack, want at most %d: its reader keeps the depth of what it handled", perSocket, limit)
	}
}
