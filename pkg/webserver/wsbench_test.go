package webserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/hub"
)

// tcpCounter counts the writes (syscalls) on the server's TCP connections.
type tcpCounter struct {
	net.Listener
	writes atomic.Int64
}

type countedConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countedConn) Write(p []byte) (int, error) { c.n.Add(1); return c.Conn.Write(p) }

func (l *tcpCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countedConn{c, &l.writes}, nil
}

// BenchmarkWSDeliver publishes b.N events, at exponentially distributed intervals (many
// independent senders) of the given mean rate, to 200 WebSocket clients over TLS on
// loopback (the hub, the writer started on demand, the corked connection and the real
// library, as the daemon has them), with and without the pacing of busy connections. It reports
// the server's TCP writes per delivered copy, the process's CPU per copy (server and clients,
// which read and discard), and the publish-to-receipt latency.
//
//	go test -run '^$' -bench WSDeliver -benchtime 300x ./pkg/webserver/
func BenchmarkWSDeliver(b *testing.B) {
	for _, gap := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond} {
		for _, coalesce := range []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond} {
			b.Run(fmt.Sprintf("rate=%.0f/s/coalesce=%v", float64(time.Second)/float64(gap), coalesce), func(b *testing.B) {
				benchDeliver(b, 200, gap, coalesce)
			})
		}
	}
}

func benchDeliver(b *testing.B, sockets int, gap, coalesce time.Duration) {
	// A fixed pace, whatever the number of writers.
	oldC, oldB := wsCoalesce, wsCoalesceBusy
	wsCoalesce, wsCoalesceBusy = coalesce, coalesce
	defer func() { wsCoalesce, wsCoalesceBusy = oldC, oldB }()
	h := hub.New()
	s := &Server{Hub: h}
	s.Init()
	var serverWG, subscribed sync.WaitGroup
	subscribed.Add(sockets)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &corkWriter{ResponseWriter: w}
		c, err := websocket.Accept(cw, r, nil)
		if err != nil {
			b.Error(err)
			return
		}
		user := r.URL.Query().Get("u")
		sub, _, _, _ := h.Subscribe(user, "s", "", 0)
		ctx, cancel := context.WithCancel(context.Background())
		wc := &wsConn{c: c, cork: cw.conn, ctx: ctx, cancel: cancel, sub: sub, s: s}
		sub.Notify(wc.kick)
		subscribed.Done()
		serverWG.Go(func() {
			// Read until the client goes (it sends nothing).
			c.Reader(ctx)
			cancel()
			h.Unsubscribe(sub)
		})
	}))
	cnt := &tcpCounter{Listener: ts.Listener}
	ts.Listener = cnt
	ts.StartTLS()
	defer ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	users := make([]string, sockets)
	want := int64(b.N * sockets)
	var received atomic.Int64
	all := make(chan struct{}) // closed when every copy has arrived
	var latMu sync.Mutex
	var lats []time.Duration
	var sent sync.Map // event number → publish time
	var readers sync.WaitGroup
	clients := make([]*websocket.Conn, sockets)
	for i := range sockets {
		users[i] = fmt.Sprintf("u%d", i)
		c, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(ts.URL, "https")+"/?u="+users[i],
			&websocket.DialOptions{HTTPClient: ts.Client()})
		if err != nil {
			b.Fatal(err)
		}
		clients[i] = c
		readers.Go(func() {
			for {
				_, m, err := c.Read(ctx)
				if err != nil {
					return
				}
				// {"seq":N,"type":"typing","conversation":"c","user":"<event number>"}
				at := time.Now()
				k := string(m[strings.LastIndex(string(m), `"user":"`)+8 : len(m)-2])
				if v, ok := sent.Load(k); ok {
					latMu.Lock()
					lats = append(lats, at.Sub(v.(time.Time)))
					latMu.Unlock()
				}
				if received.Add(1) == want {
					close(all)
				}
			}
		})
	}
	subscribed.Wait() // every connection is subscribed before the first event
	writes0 := cnt.writes.Load()
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	// Events come from many independent senders: the gaps between them are exponential,
	// with mean gap (the offered load, not a wait for an outcome).
	next := time.Now()
	pace := time.NewTimer(0)
	defer pace.Stop()
	for i := range b.N {
		next = next.Add(time.Duration(rand.ExpFloat64() * float64(gap)))
		pace.Reset(time.Until(next))
		<-pace.C
		k := fmt.Sprint(i)
		sent.Store(k, time.Now())
		h.Publish(users, chat.Typing{Conversation: "c", User: k})
	}
	select {
	case <-all:
	case <-ctx.Done():
	}
	b.StopTimer()
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	if got := received.Load(); got != want {
		b.Fatalf("received %d of %d copies", got, want)
	}
	b.ReportMetric(float64(cnt.writes.Load()-writes0)/float64(want), "writes/copy")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(want), "cpu-ns/copy")
	latMu.Lock()
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99-ms")
	}
	latMu.Unlock()
	for _, c := range clients {
		c.CloseNow()
	}
	readers.Wait()
	serverWG.Wait()
}
