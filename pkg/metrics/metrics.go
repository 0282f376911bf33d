// Package metrics is MiniMost's Prometheus instrumentation: the registry, the HTTP
// middleware that times requests by route, and the handler of the separate metrics listener
// (/metrics, and /debug/pprof/ when asked for). It knows nothing of the chat; pkg/daemon
// registers what it measures.
package metrics

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every MiniMost metric.
const Namespace = "minimost"

// Metrics holds the registry and the metrics the daemon updates directly.
type Metrics struct {
	Registry *prometheus.Registry

	// HTTPDuration times HTTP requests by route pattern, method and status code.
	HTTPDuration *prometheus.HistogramVec
	// LoginFailures counts refused logins (wrong password, unknown user, rate limited).
	LoginFailures prometheus.Counter
	// MessagesPosted counts messages acknowledged to their sender.
	MessagesPosted prometheus.Counter
	// JournalCommit times a post from the call to its acknowledgement: the durable journal
	// commit (group commit) of presence.db.
	JournalCommit prometheus.Histogram
	// WSClosed counts ended WebSocket connections by who or what ended them.
	WSClosed *prometheus.CounterVec
}

// New returns Metrics with the Go runtime and process collectors registered.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "HTTP requests by route pattern, method and status code (WebSocket upgrades excluded).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		LoginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "login_failures_total",
			Help: "Refused logins: wrong password, unknown user or rate limited.",
		}),
		MessagesPosted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "messages_posted_total",
			Help: "Messages acknowledged to their sender (committed to the journal).",
		}),
		JournalCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "journal_commit_seconds",
			Help:    "Time from posting a message to its durable journal commit (the acknowledgement).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		WSClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "websocket_closed_total",
			Help: "Ended WebSocket connections by reason: client (the client left), write_failed (a write failed or stalled 10 s), ping_timeout, slow (event queue overflowed), session, shutdown, limit (max_sockets_per_user), protocol (a bad frame).",
		}, []string{"reason"}),
	}
	r.MustRegister(m.HTTPDuration, m.LoginFailures, m.MessagesPosted, m.JournalCommit, m.WSClosed,
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler)), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// GaugeFunc registers a gauge whose value fn returns at each scrape.
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, fn))
}

// CounterFunc registers a counter whose value fn returns at each scrape.
func (m *Metrics) CounterFunc(name, help string, fn func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, fn))
}

// Handler serves /metrics and, with pprof, the runtime profiles under /debug/pprof/.
func (m *Metrics) Handler(withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Instrument times every request that next serves, labelled by the route pattern that
// http.ServeMux matched (so /api/conversations/{id} is one series, not one per id), and
// counts refused logins. WebSocket connections (hijacked) are not timed: they last as long as
// the session.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rw, r)
		if rw.hijacked {
			return
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.HTTPDuration.WithLabelValues(route, r.Method, strconv.Itoa(rw.code)).Observe(time.Since(start).Seconds())
		if route == "POST /api/login" && rw.code >= 400 {
			m.LoginFailures.Inc()
		}
	})
}

// statusWriter records the status code; it keeps Flush and Hijack working.
type statusWriter struct {
	http.ResponseWriter
	code     int
	wrote    bool
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	w.hijacked = true
	return h.Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
