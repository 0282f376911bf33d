package main

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// connSet records the TCP connections the clients dial, so that a storm can drop them all
// at once, as a daemon restart or a network blip would.
type connSet struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

type trackedConn struct {
	net.Conn
	set *connSet
}

func (t *trackedConn) Close() error {
	t.set.mu.Lock()
	delete(t.set.conns, t)
	t.set.mu.Unlock()
	return t.Conn.Close()
}

// dial is an http.Transport's DialContext: TLS, when used, runs over the connection it returns.
func (s *connSet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[*trackedConn]struct{}{}
	}
	s.conns[t] = struct{}{}
	s.mu.Unlock()
	return t, nil
}

// resetAll closes every connection abruptly (a TCP reset: no WebSocket close, no TLS
// close_notify, no FIN) and returns how many there were.
func (s *connSet) resetAll() int {
	s.mu.Lock()
	all := make([]*trackedConn, 0, len(s.conns))
	for t := range s.conns {
		all = append(all, t)
	}
	s.conns = nil
	s.mu.Unlock()
	for _, t := range all {
		if tc, ok := t.Conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		t.Conn.Close()
	}
	return len(all)
}

// stormSettle is how long the storm waits after the last reconnect for the presence
// announcements still on their way (the daemon batches them over one second).
const stormSettle = 3 * time.Second

// stormResult is what a reconnect storm measured.
type stormResult struct {
	Connectors    int     `json:"connectors"` // handshakes in flight
	Reset         int     `json:"connections_reset"`
	ReconnectS    float64 `json:"reconnect_s"` // first reconnect started to last hello
	ReconnectPerS float64 `json:"reconnect_per_s"`
	Failed        int     `json:"failed_reconnects"`
	Resyncs       int64   `json:"resyncs"` // reconnects told to reload (their since was too old)
	// Sockets the daemon closed before the storm's end (SlowClosed: "too slow", 1013).
	Dropped    int     `json:"dropped"`
	SlowClosed int     `json:"slow_closed"`
	WindowS    float64 `json:"window_s"`
	// Presence frames each client received from the drop to stormSettle after the last
	// reconnect: with batching about one a second, however many users reconnect.
	PresenceAvg  float64 `json:"presence_frames_avg"`
	PresenceMax  int64   `json:"presence_frames_max"`
	PresencePerS float64 `json:"presence_frames_per_client_per_s"`
	ServerCPUS   float64 `json:"server_cpu_s"`

	// -restart: the daemon was stopped with SIGTERM and started again instead of the
	// connections being reset. ShutdownS is SIGTERM to exit, ReadyS the start to its health
	// answer, AllBackS SIGTERM to the last hello; ServerCPUS is then the new daemon's CPU from
	// its start. The windows of ReconnectS and the presence figures begin when it is ready.
	Restart   bool    `json:"restart,omitempty"`
	ShutdownS float64 `json:"shutdown_s,omitempty"`
	ReadyS    float64 `json:"ready_s,omitempty"`
	AllBackS  float64 `json:"all_reconnected_after_sigterm_s,omitempty"`
}

// summarize fills the presence and rate figures from per-client presence frame counts.
func (r *stormResult) summarize(presence []int64, reconnected int, reconnect, window time.Duration) {
	r.ReconnectS, r.WindowS = reconnect.Seconds(), window.Seconds()
	if reconnect > 0 {
		r.ReconnectPerS = float64(reconnected) / reconnect.Seconds()
	}
	var sum int64
	for _, n := range presence {
		sum += n
		r.PresenceMax = max(r.PresenceMax, n)
	}
	if len(presence) > 0 {
		r.PresenceAvg = float64(sum) / float64(len(presence))
	}
	if window > 0 {
		r.PresencePerS = r.PresenceAvg / window.Seconds()
	}
}

// runStorm holds the connected clients for hold, resets every connection at once, then
// reconnects them all with their session cookies (no new logins) and ?boot=&since=, with
// connectors handshakes in flight, starting each one's reader as soon as it is back.
// readers is the group the first readers run in: they end with the reset.
//
// With restart (-restart), the daemon is stopped and started again instead: restart returns
// how long it took to exit and to be ready again, and the new daemon's pid.
func runStorm(ctx context.Context, c config, connectors int, clients []*client, conns *connSet, readers *sync.WaitGroup, startReader func(*client), restart func() (shutdown, ready time.Duration, pid int, err error)) (*stormResult, error) {
	logf("storm: holding %d sockets for %v", len(clients), c.Duration)
	select {
	case <-time.After(c.Duration):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := &stormResult{Connectors: connectors, Restart: restart != nil}
	pid := c.PID
	cpu0, procErr := readProc(pid)
	t0 := time.Now()
	sigterm := t0
	if restart != nil {
		shutdown, ready, newPID, err := restart()
		pid = newPID
		if err != nil {
			return nil, err
		}
		res.ShutdownS, res.ReadyS = shutdown.Seconds(), ready.Seconds()
		res.Reset = len(clients)
		// The new daemon's CPU is counted from its start; the presence window from ready.
		cpu0, procErr = procSample{}, nil
		t0 = time.Now()
	} else {
		res.Reset = conns.resetAll()
	}
	readers.Wait()
	for _, cl := range clients {
		cl.ws, cl.dropped, cl.closeCode = nil, false, 0
		cl.presence.Store(0)
		cl.resyncs.Store(0)
		cl.closedByServer.Store(false)
		cl.closedSlow.Store(false)
	}
	if restart != nil {
		logf("storm: reconnecting %d clients to the restarted daemon (%d at a time)", len(clients), connectors)
	} else {
		logf("storm: reset %d connections; reconnecting %d clients (%d at a time)", res.Reset, len(clients), connectors)
	}
	var failed atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range min(connectors, len(clients)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(clients) || ctx.Err() != nil {
					return
				}
				cl := clients[i]
				if err := cl.dialQuery(ctx, resumeQuery(cl.boot, cl.lastSeq, cl.seqSet)); err != nil {
					if failed.Add(1) <= 3 {
						logf("storm: reconnect %s: %v", cl.name, err)
					}
					continue
				}
				readers.Go(func() { startReader(cl) })
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	reconnect := time.Since(start)
	res.AllBackS = time.Since(sigterm).Seconds()
	select {
	case <-time.After(stormSettle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	window := time.Since(t0)
	if cpu1, err := readProc(pid); err == nil && procErr == nil {
		res.ServerCPUS = (cpu1.CPU - cpu0.CPU).Seconds()
	}
	counts := make([]int64, 0, len(clients))
	for _, cl := range clients {
		if cl.ws != nil {
			counts = append(counts, cl.presence.Load())
			res.Resyncs += cl.resyncs.Load()
		}
		if cl.closedByServer.Load() {
			res.Dropped++
		}
		if cl.closedSlow.Load() {
			res.SlowClosed++
		}
	}
	res.Failed = int(failed.Load())
	res.summarize(counts, len(clients)-res.Failed, reconnect, window)
	return res, nil
}
