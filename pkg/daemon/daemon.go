// Package daemon is minimostd: Main opens a data directory and wires the concrete parts —
// store, hub, settings, the application layer, the web server and the admin service — and
// serves until Close. It is the only place that knows every concrete package; cmd/minimostd
// runs it as a process, and tests run it in-process.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/minimost/minimost/pkg/admin"
	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/cleanup"
	"github.com/minimost/minimost/pkg/fsutil"
	"github.com/minimost/minimost/pkg/hub"
	"github.com/minimost/minimost/pkg/metrics"
	"github.com/minimost/minimost/pkg/outbound"
	"github.com/minimost/minimost/pkg/settings"
	"github.com/minimost/minimost/pkg/store"
	"github.com/minimost/minimost/pkg/webserver"
	"github.com/minimost/minimost/web"
)

// Config is minimostd's command line.
type Config struct {
	DataDir      string
	Listen       string
	PlainHTTP    bool
	CertFile     string
	KeyFile      string
	BaseURL      string
	Socket       string
	LogLevel     string
	TrustProxy   bool
	CleanupFirst time.Duration
	CleanupEvery time.Duration
	AuthBurst    int
	// WALIdle is how long a database must go unwritten before its WAL is checkpointed and
	// truncated to zero bytes.
	WALIdle time.Duration
	// MaxOpenUserDBs bounds the user databases held open (store.Options.MaxOpenUserDBs).
	MaxOpenUserDBs int
	// MetricsListen is the address of the Prometheus listener ("" for none); a bare ":port"
	// means loopback.
	MetricsListen string
	// Pprof serves /debug/pprof/ on the metrics listener.
	Pprof bool
	// CheckConfig validates the configuration and exits (see ParseFlags).
	CheckConfig bool
	// Init lets the daemon write a default settings.json into a data directory that is in use
	// (holds auth.db) but lost it; without it, that is an error (the channel list would be lost).
	Init bool
	// ShowVersion prints the version and exits.
	ShowVersion bool
}

// Main is the daemon: ParseFlags, Run, Close. Tests can run it in-process.
type Main struct {
	Config Config
	Logger *slog.Logger
	Stdout io.Writer
	Stderr io.Writer
	// Version is reported by the API and `minimostctl status`.
	Version string
	// DeletionHook, if set, runs between the steps of an account deletion; crash tests use
	// it to stop a deletion half way.
	DeletionHook func(step string)

	started  time.Time
	lock     *os.File
	store    *store.Store
	settings *settings.Manager
	hub      *hub.Hub
	app      *app.App
	web      *webserver.Server
	http     *http.Server
	httpLn   net.Listener
	grpc     *grpc.Server
	adminSrv *admin.Server
	sched    *cleanup.Scheduler
	metrics  *metrics.Metrics
	metrSrv  *http.Server
	metrLn   net.Listener
	stopBg   context.CancelFunc
	bgDone   chan struct{}
	notify   notifier
	wdDone   chan struct{} // closed when the watchdog goroutine ends; nil without one
	warmDone chan struct{} // closed when the start's warming of user databases ends
	closing  bool
}

// NewMain returns a Main with default settings.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Version: "dev", Config: Config{
		DataDir: ".", Listen: "127.0.0.1:5000", LogLevel: "info",
		CleanupFirst: 5 * time.Minute, CleanupEvery: 24 * time.Hour, AuthBurst: 20,
		WALIdle: time.Minute, MaxOpenUserDBs: store.DefaultMaxOpenUserDBs,
	}}
}

// ParseFlags reads the command line into m.Config.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("minimostd", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	c := &m.Config
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (all state lives here)")
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to serve HTTPS (or HTTP with -http) on")
	fs.BoolVar(&c.PlainHTTP, "http", c.PlainHTTP, "serve plain HTTP, for running behind a TLS-terminating reverse proxy")
	fs.StringVar(&c.CertFile, "cert", "", "TLS certificate (default <data>/cert.pem; a self-signed pair is generated if missing)")
	fs.StringVar(&c.KeyFile, "key", "", "TLS private key (default <data>/key.pem)")
	fs.StringVar(&c.BaseURL, "base-url", "", "public URL of the server when behind a reverse proxy, e.g. https://chat.example.com")
	fs.StringVar(&c.Socket, "socket", "", "admin socket path (default <data>/minimost.sock)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", c.TrustProxy, "take client addresses from X-Forwarded-For (only behind your own proxy)")
	fs.BoolVar(&c.Init, "init", c.Init, "write a default settings.json when it is missing from a data directory that already holds auth.db")
	fs.DurationVar(&c.CleanupFirst, "cleanup-first", c.CleanupFirst, "delay before the first background cleanup run")
	fs.DurationVar(&c.CleanupEvery, "cleanup-every", c.CleanupEvery, "interval between background cleanup runs")
	fs.IntVar(&c.AuthBurst, "auth-burst", c.AuthBurst, "login/registration attempts a client address may make at once before rate limiting")
	fs.DurationVar(&c.WALIdle, "wal-idle", c.WALIdle, "checkpoint a database and truncate its WAL once it has not been written for this long")
	fs.IntVar(&c.MaxOpenUserDBs, "max-open-user-dbs", c.MaxOpenUserDBs, "user databases (users/*.db) held open between uses: each costs up to about 0.7 MiB and three file descriptors, and one not open costs about 2 ms of CPU to open")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "serve Prometheus /metrics on this address, e.g. 127.0.0.1:9464 (a bare :9464 means loopback); off when empty")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof, "also serve /debug/pprof/ on the -metrics-listen address")
	fs.BoolVar(&c.CheckConfig, "check-config", false, "check the flags, settings.json and the TLS pair, print the result and exit (0: valid)")
	fs.BoolVar(&c.ShowVersion, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: minimostd [flags]\n\nRuns MiniMost on a data directory (default: the current directory).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if c.ShowVersion {
		fmt.Fprintf(m.stdout(), "minimostd %s\n", m.Version)
		return ErrExit
	}
	if c.CleanupFirst <= 0 || c.CleanupEvery <= 0 {
		return fmt.Errorf("-cleanup-first and -cleanup-every must be positive")
	}
	if c.WALIdle <= 0 {
		return fmt.Errorf("-wal-idle must be positive")
	}
	if c.MaxOpenUserDBs < 1 {
		return fmt.Errorf("-max-open-user-dbs must be at least 1")
	}
	if c.Pprof && c.MetricsListen == "" {
		return fmt.Errorf("-pprof needs -metrics-listen")
	}
	if c.MetricsListen != "" {
		host, port, err := net.SplitHostPort(c.MetricsListen)
		if err != nil {
			return fmt.Errorf("bad -metrics-listen %q: %v", c.MetricsListen, err)
		}
		if host == "" {
			c.MetricsListen = net.JoinHostPort("127.0.0.1", port)
		}
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "https://") && !strings.HasPrefix(c.BaseURL, "http://") {
		return fmt.Errorf("-base-url must start with https:// or http://")
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.CheckConfig {
		if err := m.checkConfig(); err != nil {
			return &ConfigError{Err: err}
		}
		return ErrExit
	}
	return nil
}

// ErrExit is what ParseFlags returns after doing all that was asked (-version, a successful
// -check-config): the caller exits 0. It is flag.ErrHelp, which callers already treat so.
var ErrExit = flag.ErrHelp

// ConfigError is what ParseFlags returns when -check-config finds the configuration invalid
// (settings.json with file, line and reason, or the TLS pair): not a usage error, exit 1.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ExitCode is the process exit code for an error of ParseFlags: 0 after -help, -version or a
// valid -check-config, 1 for an invalid configuration, 2 for a usage error.
func ExitCode(err error) int {
	var ce *ConfigError
	switch {
	case err == nil, errors.Is(err, ErrExit):
		return 0
	case errors.As(err, &ce):
		return 1
	}
	return 2
}

func (m *Main) stdout() io.Writer {
	if m.Stdout == nil {
		return os.Stdout
	}
	return m.Stdout
}

// checkConfig validates what Run would refuse at start, without starting anything or
// writing a file: settings.json (file, line and reason), and the TLS pair when it exists.
func (m *Main) checkConfig() error {
	c := &m.Config
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, settings.FileName)
	s, err := settings.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(m.stdout(), "%s: missing; it will be created with every default at start\n", path)
	case err != nil:
		return err
	default:
		fmt.Fprintf(m.stdout(), "%s: ok (channels %s, registration %s)\n", path, strings.Join(s.Channels, ", "), s.Registration)
	}
	if !c.PlainHTTP {
		cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if c.CertFile != "" {
			cert = c.CertFile
		}
		if c.KeyFile != "" {
			key = c.KeyFile
		}
		_, cerr := os.Stat(cert)
		_, kerr := os.Stat(key)
		switch {
		case cerr != nil && kerr != nil && c.CertFile == "" && c.KeyFile == "":
			fmt.Fprintf(m.stdout(), "%s, %s: missing; a self-signed pair will be generated at start\n", cert, key)
		default:
			if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
				return fmt.Errorf("TLS pair %s, %s: %w", cert, key, err)
			}
			fmt.Fprintf(m.stdout(), "%s, %s: ok\n", cert, key)
		}
	}
	fmt.Fprintln(m.stdout(), "configuration ok")
	return nil
}

func (m *Main) path(p, def string) string {
	if p != "" {
		return p
	}
	return filepath.Join(m.Config.DataDir, def)
}

// Run opens the data directory and starts serving; it returns once everything listens.
func (m *Main) Run(ctx context.Context) error {
	c := &m.Config
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q", c.LogLevel)
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
	}
	m.started = time.Now()
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	c.DataDir = dir
	// Everything the daemon creates is the owner's only: other local users must not read the
	// databases (private messages, password hashes), uploads or keys.
	syscall.Umask(0o077)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := m.lockDataDir(); err != nil {
		return err
	}
	// A data directory made with a looser umask (or by an older version) is tightened.
	if changed, err := fsutil.MakePrivate(dir); err != nil {
		return fmt.Errorf("make the data directory private: %w", err)
	} else if len(changed) > 0 {
		m.Logger.Info("made files in the data directory private to the daemon's user (0700 directories, 0600 files)",
			"count", len(changed), "files", strings.Join(changed[:min(len(changed), 20)], " "))
	}
	if err := m.checkSettingsPresent(); err != nil {
		return err
	}
	// Settings first: an invalid settings.json stops the daemon before anything is touched.
	if m.settings, err = settings.Open(dir); err != nil {
		return err
	}
	m.settings.Logger = m.Logger
	key, err := auth.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		return err
	}
	if !c.PlainHTTP {
		created, err := ensureCert(m.path(c.CertFile, "cert.pem"), m.path(c.KeyFile, "key.pem"), time.Now())
		if err != nil {
			return err
		}
		if created {
			m.Logger.Info("generated a self-signed TLS certificate", "cert", m.path(c.CertFile, "cert.pem"))
		}
	}
	opts := store.Options{Logger: m.Logger, DeletionHook: m.DeletionHook, MaxOpenUserDBs: m.Config.MaxOpenUserDBs}
	if m.store, err = store.Open(ctx, dir, opts); err != nil {
		return err
	}
	m.hub = hub.New()
	m.metrics = metrics.New()
	m.app = app.New(&metrics.Store{Store: m.store, M: m.metrics}, auth.NewHasher(auth.DefaultParams, 0), m.settings, m.hub, m.hub, m.hub, dir)
	m.app.Logger = m.Logger
	m.app.PublicURL = m.PublicURL
	m.app.Poster = &outbound.Client{Policy: outbound.SettingsPolicy(func() []string { return m.settings.Get().IntegrationAllowedHosts })}
	m.settings.OnChange = m.app.SettingsChanged
	// Hand edits of settings.json apply at once, and reach the browsers through OnChange.
	if err := m.settings.Watch(); err != nil {
		return err
	}
	m.web = &webserver.Server{
		App: m.app, Hub: m.hub, Signer: auth.NewSigner(key), Web: web.FS, Logger: m.Logger,
		Secure: !c.PlainHTTP, BaseURL: c.BaseURL, TrustProxy: c.TrustProxy, Version: m.Version, AuthBurst: c.AuthBurst,
	}
	m.web.OnWSClose = func(reason string) { m.metrics.WSClosed.WithLabelValues(reason).Inc() }
	m.web.Init()

	// The admin socket before the HTTP port: a second daemon is refused there too.
	ln, err := admin.ListenLogger(m.path(c.Socket, "minimost.sock"), m.Logger)
	if err != nil {
		return err
	}
	m.grpc = grpc.NewServer()
	m.sched = &cleanup.Scheduler{Store: m.store, Settings: m.settings, Logger: m.Logger, First: c.CleanupFirst, Every: c.CleanupEvery}
	m.adminSrv = admin.NewServer(&app.Admin{
		App: m.app, Store: m.store, Settings: m.settings,
		Version: m.Version, Started: m.started, URL: m.URL, Clients: m.hub.Count, NextCleanup: m.sched.Next,
		CheckDB: store.IntegrityCheckFile,
	}, m.Logger)
	m.adminSrv.Register(m.grpc)
	(&admin.IntegrationServer{B: m.app}).Register(m.grpc)
	go m.grpc.Serve(ln)

	m.httpLn, err = net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	m.http = &http.Server{
		Handler:           m.metrics.Instrument(m.web.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		// Connection limits per client address and in all (settings.json); request bodies
		// get a read deadline in the web server.
		ConnContext:    m.web.ConnContext,
		ConnState:      m.web.ConnState,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(m.Logger.Handler(), slog.LevelDebug),
	}
	if c.PlainHTTP {
		go m.http.Serve(m.httpLn)
	} else {
		cert, err := tls.LoadX509KeyPair(m.path(c.CertFile, "cert.pem"), m.path(c.KeyFile, "key.pem"))
		if err != nil {
			return fmt.Errorf("load TLS pair: %w", err)
		}
		// Full-size TLS records from the first byte: a WebSocket's batch of events then
		// leaves as one record per 16 KiB (one write), not one per ~1.4 KiB until the
		// connection has sent 128 KiB.
		m.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, DynamicRecordSizingDisabled: true}
		go m.http.ServeTLS(m.httpLn, "", "")
	}
	m.sched.Start()
	if err := m.serveMetrics(); err != nil {
		return err
	}
	bg, stop := context.WithCancel(context.Background())
	m.stopBg, m.bgDone = stop, make(chan struct{})
	go m.checkpointIdle(bg)
	m.warmDone = make(chan struct{})
	go m.warmUserDBs(bg)
	gcDone := make(chan struct{}, 1)
	notifyGC(gcDone, bg.Done())
	go returnMemory(bg, memCheckEvery, memReturnEvery, gcDone, heapFreeAndLive, debug.FreeOSMemory)
	m.Logger.Info("minimostd serving", "url", m.URL(), "data", dir, "socket", m.path(c.Socket, "minimost.sock"), "version", m.Version)
	// Under systemd (Type=notify) the unit is started only now that every listener is up.
	m.notify = newNotifier(os.Getenv)
	if err := m.notify.send("READY=1"); err != nil {
		m.Logger.Warn("sd_notify", "err", err)
	}
	if every := watchdogEvery(os.Getenv); every > 0 && m.notify.addr != "" {
		m.wdDone = make(chan struct{})
		go m.notify.watchdog(bg, every, m.wdDone)
	}
	return nil
}

// checkSettingsPresent refuses to start on a data directory that is in use (it holds auth.db)
// but lost settings.json, unless -init: writing the defaults would silently drop the
// channel list and retention settings.
func (m *Main) checkSettingsPresent() error {
	dir := m.Config.DataDir
	if _, err := os.Stat(filepath.Join(dir, "settings.json")); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "auth.db")); err != nil || m.Config.Init {
		return nil // a new data directory, or the admin asked for the defaults
	}
	return fmt.Errorf("%s is missing, but %s already holds auth.db: restore settings.json (from a backup), or start once with -init to write the defaults (the public channel list becomes [\"general\"])",
		filepath.Join(dir, "settings.json"), dir)
}

// URL is where the chat is served.
func (m *Main) URL() string {
	scheme := "https"
	if m.Config.PlainHTTP {
		scheme = "http"
	}
	addr := m.Config.Listen
	if m.httpLn != nil {
		addr = m.httpLn.Addr().String()
	}
	return scheme + "://" + addr
}

// PublicURL is the base of the links the server hands out: -base-url when set, else the
// address it listens on (with "localhost" for an unspecified address such as 0.0.0.0).
func (m *Main) PublicURL() string {
	if m.Config.BaseURL != "" {
		return m.Config.BaseURL
	}
	u := m.URL()
	for _, any := range []string{"://0.0.0.0:", "://[::]:"} {
		u = strings.Replace(u, any, "://localhost:", 1)
	}
	return u
}

// lockDataDir takes an exclusive flock on the data directory itself, so a second daemon on
// the same directory stops at once with a clear message (the lock dies with the process).
func (m *Main) lockDataDir() error {
	f, err := os.Open(m.Config.DataDir)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("another minimostd is already running on data directory %s", m.Config.DataDir)
		}
		return fmt.Errorf("lock data directory: %w", err)
	}
	m.lock = f
	return nil
}

// ShutdownTimeout bounds Close: the daemon stops within it (the unit's TimeoutStopSec is
// longer).
const ShutdownTimeout = 9500 * time.Millisecond

// Close stops accepting, tells WebSocket clients the server is going away, lets in-flight
// requests and writes finish, checkpoints and closes every database, within ShutdownTimeout.
func (m *Main) Close() error {
	if m.Logger != nil && !m.closing {
		m.Logger.Info("shutting down")
	}
	m.closing = true
	m.notify.send("STOPPING=1")
	var errs []error
	// Shutdown takes at most ShutdownTimeout in all: the listeners get most of it, and the
	// store writes queued copies and checkpoints in what is left (what it cannot finish is safe
	// in the journal).
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout*6/10)
	defer cancel()
	if m.http != nil {
		m.web.CloseWebSockets()
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.sched != nil {
		m.sched.Stop()
	}
	if m.stopBg != nil {
		m.stopBg()
		<-m.bgDone
		<-m.warmDone
		if m.wdDone != nil {
			<-m.wdDone
		}
	}
	if m.metrSrv != nil {
		m.metrSrv.Shutdown(ctx)
	}
	if m.settings != nil {
		m.settings.Close()
	}
	if m.grpc != nil {
		m.adminSrv.Shutdown()
		done := make(chan struct{})
		go func() { m.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			m.grpc.Stop()
		}
		os.Remove(m.path(m.Config.Socket, "minimost.sock"))
	}
	if m.app != nil && m.store != nil {
		// The presence changes of the sockets just closed, written while the store is open.
		m.app.FlushPresence(ctx)
	}
	if m.store != nil {
		sctx, scancel := context.WithDeadline(context.Background(), start.Add(ShutdownTimeout))
		defer scancel()
		if err := m.store.CloseContext(sctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.lock != nil {
		m.lock.Close()
	}
	return errors.Join(errs...)
}
