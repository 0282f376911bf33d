package daemon

import (
	"context"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"sync"
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
	du := &diskUsage{dir: m.Config.DataDir, every: 30 * time.Second}
	m.metrics.LabeledGaugeFunc("disk_bytes", "Bytes on disk in the data directory by part (refreshed at most every 30 s).", "part", map[string]func() float64{
		"users_data":  func() float64 { return float64(du.get().usersData) },
		"users_wal":   func() float64 { return float64(du.get().usersWAL) },
		"auth_db":     func() float64 { return float64(du.get().auth) },
		"presence_db": func() float64 { return float64(du.get().presence) },
		"uploads":     func() float64 { return float64(du.get().uploads) },
		"avatars":     func() float64 { return float64(du.get().avatars) },
	})
	m.metrics.GaugeFunc("user_databases", "users/*.db files (refreshed at most every 30 s).", func() float64 { return float64(du.get().userDBs) })
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

// MetricsAddr is where /metrics is served ("" when it is not).
func (m *Main) MetricsAddr() string {
	if m.metrLn == nil {
		return ""
	}
	return m.metrLn.Addr().String()
}

// diskUsage caches the sizes of the data directory's parts: walking users/ on every scrape
// of a 10,000-user server would be wasteful.
type diskUsage struct {
	dir   string
	every time.Duration

	mu   sync.Mutex
	at   time.Time
	last diskSizes
}

type diskSizes struct {
	usersData, usersWAL, auth, presence, uploads, avatars int64
	userDBs                                               int
}

func (d *diskUsage) get() diskSizes {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.at.IsZero() && time.Since(d.at) < d.every {
		return d.last
	}
	var s diskSizes
	walk := func(root string, fn func(path string, size int64)) {
		filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				if fi, err := e.Info(); err == nil {
					fn(p, fi.Size())
				}
			}
			return nil
		})
	}
	walk(filepath.Join(d.dir, "users"), func(p string, n int64) {
		switch filepath.Ext(p) {
		case ".db":
			s.usersData += n
			s.userDBs++
		case ".db-wal", ".db-shm":
			s.usersWAL += n
		default:
			s.usersData += n
		}
	})
	for _, f := range []struct {
		name string
		into *int64
	}{{"auth.db", &s.auth}, {"presence.db", &s.presence}} {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			walk(filepath.Join(d.dir, f.name+suffix), func(_ string, n int64) { *f.into += n })
		}
	}
	walk(filepath.Join(d.dir, "uploads"), func(_ string, n int64) { s.uploads += n })
	walk(filepath.Join(d.dir, "avatars"), func(_ string, n int64) { s.avatars += n })
	d.at, d.last = time.Now(), s
	return s
}
