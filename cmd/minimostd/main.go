// Command minimostd is the MiniMost daemon: it owns the data directory, serves the browser
// app, the JSON API and the WebSocket over HTTPS, and the admin gRPC service on a Unix socket.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/minimost/minimost/pkg/admin"
	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/cleanup"
	"github.com/minimost/minimost/pkg/hub"
	"github.com/minimost/minimost/pkg/settings"
	"github.com/minimost/minimost/pkg/store"
	"github.com/minimost/minimost/pkg/webserver"
	"github.com/minimost/minimost/web"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func main() {
	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "minimostd:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "minimostd:", err)
		m.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	stop()
	m.Logger.Info("shutting down")
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "minimostd: shutdown:", err)
		os.Exit(1)
	}
}

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
}

// Main is the daemon: ParseFlags, Run, Close. Tests can run it in-process.
type Main struct {
	Config Config
	Logger *slog.Logger
	Stderr io.Writer

	started  time.Time
	lock     *os.File
	store    *store.Store
	settings *settings.Manager
	hub      *hub.Hub
	web      *webserver.Server
	http     *http.Server
	httpLn   net.Listener
	grpc     *grpc.Server
	adminSrv *admin.Server
	sched    *cleanup.Scheduler

	chanMu   sync.Mutex
	channels []string // public channels as last announced
}

// NewMain returns a Main with default settings.
func NewMain() *Main {
	return &Main{Stderr: os.Stderr, Config: Config{
		DataDir: ".", Listen: "127.0.0.1:5000", LogLevel: "info",
		CleanupFirst: 5 * time.Minute, CleanupEvery: 24 * time.Hour, AuthBurst: 20,
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
	fs.DurationVar(&c.CleanupFirst, "cleanup-first", c.CleanupFirst, "delay before the first background cleanup run")
	fs.DurationVar(&c.CleanupEvery, "cleanup-every", c.CleanupEvery, "interval between background cleanup runs")
	fs.IntVar(&c.AuthBurst, "auth-burst", c.AuthBurst, "login/registration attempts a client address may make at once before rate limiting")
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
	if c.CleanupFirst <= 0 || c.CleanupEvery <= 0 {
		return fmt.Errorf("-cleanup-first and -cleanup-every must be positive")
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "https://") && !strings.HasPrefix(c.BaseURL, "http://") {
		return fmt.Errorf("-base-url must start with https:// or http://")
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
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
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := m.lockDataDir(); err != nil {
		return err
	}
	// Settings first: an invalid settings.json stops the daemon before anything is touched.
	if m.settings, err = settings.Open(dir); err != nil {
		return err
	}
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
	opts := store.Options{Logger: m.Logger}
	if step := os.Getenv("MINIMOST_TEST_CRASH_DELETION_AT"); step != "" {
		// For the crash-recovery test only: die like a SIGKILL at this step of a deletion.
		opts.DeletionHook = func(s string) {
			if s == step {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
	}
	if m.store, err = store.Open(ctx, dir, opts); err != nil {
		return err
	}
	m.hub = hub.New()
	m.web = &webserver.Server{
		Store: m.store, Hub: m.hub, Hasher: auth.NewHasher(auth.DefaultParams, 0), Signer: auth.NewSigner(key),
		Settings: m.settings, Web: web.FS, Logger: m.Logger, Secure: !c.PlainHTTP, BaseURL: c.BaseURL,
		TrustProxy: c.TrustProxy, Version: Version, AuthBurst: c.AuthBurst,
	}
	m.web.Init()
	m.channels = slices.Clone(m.settings.Get().Channels)
	m.settings.OnChange = m.onSettingsChange

	// The admin socket before the HTTP port: a second daemon is refused there too.
	ln, err := admin.ListenLogger(m.path(c.Socket, "minimost.sock"), m.Logger)
	if err != nil {
		return err
	}
	m.grpc = grpc.NewServer()
	m.adminSrv = admin.NewServer(&backend{m: m}, m.Logger)
	m.adminSrv.Register(m.grpc)
	go m.grpc.Serve(ln)

	m.httpLn, err = net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	m.http = &http.Server{
		Handler:           m.web.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelDebug),
	}
	if c.PlainHTTP {
		go m.http.Serve(m.httpLn)
	} else {
		cert, err := tls.LoadX509KeyPair(m.path(c.CertFile, "cert.pem"), m.path(c.KeyFile, "key.pem"))
		if err != nil {
			return fmt.Errorf("load TLS pair: %w", err)
		}
		m.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		go m.http.ServeTLS(m.httpLn, "", "")
	}
	m.sched = &cleanup.Scheduler{Store: m.store, Settings: m.settings, Logger: m.Logger, First: c.CleanupFirst, Every: c.CleanupEvery}
	m.sched.Start()
	m.Logger.Info("minimostd serving", "url", m.URL(), "data", dir, "socket", m.path(c.Socket, "minimost.sock"), "version", Version)
	return nil
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

// Close stops accepting, tells WebSocket clients the server is going away, lets in-flight
// requests and writes finish, checkpoints and closes every database.
func (m *Main) Close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
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
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.lock != nil {
		m.lock.Close()
	}
	return errors.Join(errs...)
}
