package daemon

import (
	"context"
	"net"
	"net/http"
	"runtime"
	rtmetrics "runtime/metrics"
	"time"

	"github.com/minimost/minimost/pkg/metrics"
)

// checkpointIdle truncates the WAL of every database left unwritten for -wal-idle, checking
// twice per period, until ctx ends: without it each of thousands of user databases keeps a
// WAL of up to 4 MiB on disk for ever.
func (m *Main) checkpointIdle(ctx context.Context) {
	defer close(m.bgDone)
	t := time.NewTicker(max(m.Config.WALIdle/2, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, freed, err := m.store.CheckpointIdle(ctx, m.Config.WALIdle)
		if err != nil && ctx.Err() == nil {
			m.Logger.Warn("idle checkpoint", "err", err)
		}
		if n > 0 {
			m.Logger.Debug("idle databases checkpointed", "databases", n, "wal_bytes_freed", freed)
		}
	}
}

// warmUserDBs opens, right after the start and one at a time, the user databases of the
// accounts active most recently (Store.WarmUserDBs), so that the first messages into a big
// channel find their members' databases open instead of opening a thousand at once.
func (m *Main) warmUserDBs(ctx context.Context) {
	defer close(m.warmDone)
	start := time.Now()
	n, err := m.store.WarmUserDBs(ctx)
	if err != nil && ctx.Err() == nil {
		m.Logger.Warn("warming user databases", "opened", n, "err", err)
		return
	}
	m.Logger.Info("user databases warmed", "opened", n, "took", time.Since(start).Round(time.Millisecond))
}

// serveMetrics registers the daemon's gauges and, with -metrics-listen, serves /metrics on
// its own listener: loopback by default, never the chat's port, so the chat's users cannot
// read it.
func (m *Main) serveMetrics() error {
	m.metrics.GaugeFunc("websocket_connections", "Open WebSocket connections.", func() float64 { return float64(m.hub.Count()) })
	m.metrics.GaugeFunc("websocket_writers", "WebSocket connections sent something in the last 2 s; the more there are, the longer a busy connection's writes are paced.", func() float64 { return float64(m.web.WSWriters()) })
	m.metrics.GaugeFunc("websocket_write_line", "WebSocket connections with events queued, waiting for a turn to be written to (a few are written at once, as many as the daemon has processors).", func() float64 { return float64(m.web.WSWriteLine()) })
	m.metrics.CounterFunc("websocket_write_stalls_total", "Turns to write handed on because a connection's write took over 50 ms (a client that does not read, or no processor free).", func() float64 { return float64(m.web.WSWriteStalls()) })
	m.metrics.GaugeFunc("websocket_write_pace_seconds", "How long a busy WebSocket connection now waits after a write for more events to share the next.", func() float64 { return m.web.WSPace().Seconds() })
	m.metrics.Fanout(func() metrics.FanoutCounts {
		st := m.store.FanoutStats()
		return metrics.FanoutCounts{Queued: st.Queued, Copies: st.Copies, Transactions: st.Transactions, Refused: st.Refused, Staged: st.Staged,
			JournalCommits: st.JournalCommits, JournalCommitSeconds: float64(st.JournalCommitNanos) / 1e9, SlowClosed: int64(m.hub.Slow())}
	})
	m.metrics.GaugeFunc("start_time_seconds", "When the daemon started, in Unix seconds.", func() float64 { return float64(m.started.Unix()) })
	m.metrics.Registry.MustRegister(&metrics.Disk{Dir: m.Config.DataDir})
	m.metrics.GaugeFunc("user_databases_open", "users/*.db handles the daemon holds open (a bounded cache).", func() float64 { return float64(m.store.OpenUserDBs()) })
	m.metrics.CounterFunc("user_database_opens_total", "users/*.db opened (the cache of handles missed).", func() float64 { return float64(m.store.UserDBOpens()) })
	m.metrics.CounterFunc("user_database_fanout_opens_total", "users/*.db opened by the fan-out to write copies (part of user_database_opens_total; the rest were opened for reads).", func() float64 { return float64(m.store.UserDBFanoutOpens()) })
	if m.Config.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.Config.MetricsListen)
	if err != nil {
		return err
	}
	m.metrLn = ln
	m.metrSrv = &http.Server{Handler: m.metrics.Handler(m.Config.Pprof), ReadHeaderTimeout: 10 * time.Second}
	go m.metrSrv.Serve(ln)
	m.Logger.Info("metrics serving", "url", "http://"+ln.Addr().String()+"/metrics", "pprof", m.Config.Pprof)
	return nil
}

// After a burst of work (thousands of TLS handshakes in a reconnect storm, a big export) the
// Go runtime keeps the heap pages it freed, for reuse, until the heap reaches its next goal,
// about twice the live heap: the daemon's resident size stays at the burst's high-water mark
// long after it (10,000 idle sockets: 158 MiB kept free, a third of the process). returnMemory
// gives them back to the operating system when they are many: it looks after every
// collection (garbage becomes free memory only then) and every memCheckEvery, and returns
// them at most every memReturnEvery, since returning forces a collection of its own and pages
// returned under load are soon needed again.
const (
	memCheckEvery  = 10 * time.Second
	memReturnEvery = time.Minute
	// memReturnMin is the least free memory worth a forced collection to return.
	memReturnMin = 64 << 20
)

// memoryToReturn reports whether free bytes of heap kept by the runtime are worth returning
// with a forced collection, beside live bytes of heap in use: at least memReturnMin, and a
// quarter of what is in use.
func memoryToReturn(free, live uint64) bool {
	return free >= memReturnMin && free >= live/4
}

// heapFreeAndLive reads the runtime's free (mapped, not returned) and in-use heap bytes.
func heapFreeAndLive() (free, live uint64) {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/free:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() == rtmetrics.KindUint64 {
		free = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == rtmetrics.KindUint64 {
		live = s[1].Value.Uint64()
	}
	return free, live
}

// gcSentinel is garbage whose finalizer runs after the collection that found it: it tells
// ch, and, until stop is closed, arms the next one.
type gcSentinel struct {
	ch   chan<- struct{}
	stop <-chan struct{}
}

func notifyGC(ch chan<- struct{}, stop <-chan struct{}) {
	runtime.SetFinalizer(&gcSentinel{ch, stop}, func(s *gcSentinel) {
		select {
		case <-s.stop:
			return
		default:
		}
		select {
		case s.ch <- struct{}{}:
		default:
		}
		notifyGC(s.ch, s.stop)
	})
}

// returnMemory looks, until ctx ends, every period and whenever gc says a collection ended,
// whether read reports free memory worth returning, and if so calls release
// (debug.FreeOSMemory: a collection, then every free page returned), at most once every
// minGap.
func returnMemory(ctx context.Context, period, minGap time.Duration, gc <-chan struct{}, read func() (free, live uint64), release func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-gc:
		}
		if !last.IsZero() && time.Since(last) < minGap {
			continue
		}
		if free, live := read(); memoryToReturn(free, live) {
			release()
			last = time.Now()
		}
	}
}
