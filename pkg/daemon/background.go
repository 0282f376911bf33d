package daemon

import (
	"context"
	"net"
	"net/http"
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

// serveMetrics registers the daemon's gauges and, with -metrics-listen, serves /metrics on
// its own listener: loopback by default, never the chat's port, so the chat's users cannot
// read it.
func (m *Main) serveMetrics() error {
	m.metrics.GaugeFunc("websocket_connections", "Open WebSocket connections.", func() float64 { return float64(m.hub.Count()) })
	m.metrics.Fanout(func() metrics.FanoutCounts {
		st := m.store.FanoutStats()
		return metrics.FanoutCounts{Queued: st.Queued, Copies: st.Copies, Transactions: st.Transactions, Refused: st.Refused,
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
