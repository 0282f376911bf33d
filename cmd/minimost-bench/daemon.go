package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/minimost/minimost/pkg/admin"
	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

// spawned is a minimostd started by -spawn.
type spawned struct {
	bin    string
	args   []string
	cmd    *exec.Cmd
	dir    string
	keep   bool
	exited chan error
	log    *os.File
	c      *config // where it listens, filled in by spawn
}

func findMinimostd(flagPath string) (string, error) {
	if flagPath != "" {
		return flagPath, nil
	}
	if p, err := exec.LookPath("minimostd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"bin/minimostd", "../../bin/minimostd"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return filepath.Abs(p)
		}
	}
	return "", errors.New("minimostd not found on PATH nor in ./bin (run `make build`, or give -minimostd)")
}

// spawnSettings is the settings.json of a spawned daemon. A load test is many sockets and
// posts from one address: the per-account rates and the per-address connection limit are
// lifted (they are tested elsewhere).
const spawnSettings = `{"channels": ["general"], "posts_per_minute": 0, "reactions_per_minute": 0, "private_channels_per_hour": 0, "invitations_per_hour": 0, "connections_per_address": 1000000, "max_connections": 1000000, "max_sockets_per_user": 1000}`

// spawn starts minimostd on a free loopback port, on a fresh temporary data directory or
// (-data) on c.DataDir, created if need be and kept, and fills in c.URL, c.CACert, c.Socket,
// c.PID and c.Pprof.
func spawn(ctx context.Context, c *config) (*spawned, error) {
	bin, err := findMinimostd(c.Minimostd)
	if err != nil {
		return nil, err
	}
	var dir string
	keep := c.Keep
	if c.DataDir != "" {
		if dir, err = filepath.Abs(c.DataDir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("-data: %w", err)
		}
		keep = true
	} else if dir, err = os.MkdirTemp("", "minimost-bench-"); err != nil {
		return nil, err
	}
	cleanup := func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}
	addr, err := freePort()
	if err != nil {
		cleanup()
		return nil, err
	}
	maddr, err := freePort()
	if err != nil {
		cleanup()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "settings.json"), []byte(spawnSettings), 0o600); err != nil {
		cleanup()
		return nil, err
	}
	log, err := os.OpenFile(filepath.Join(dir, "minimostd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		cleanup()
		return nil, err
	}
	// -auth-burst: every client logs in from 127.0.0.1 at once.
	args := []string{"-data", dir, "-listen", addr, "-log-level", "warn",
		"-auth-burst", strconv.Itoa(max(100, 2*c.Users)), "-cleanup-first", "24h",
		"-metrics-listen", maddr, "-pprof"}
	if c.PlainHTTP {
		args = append(args, "-http")
	}
	c.URL = "https://" + addr
	c.CACert = filepath.Join(dir, "cert.pem")
	if c.PlainHTTP {
		c.URL, c.CACert = "http://"+addr, ""
	}
	c.Socket = filepath.Join(dir, "minimost.sock")
	c.Pprof = "http://" + maddr
	s := &spawned{bin: bin, args: args, dir: dir, keep: keep, log: log, c: c}
	if _, err := s.start(ctx); err != nil {
		s.log.Close()
		cleanup()
		return nil, err
	}
	return s, nil
}

// freePort returns a loopback address no one listens on at the moment.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs the daemon and waits until it answers /api/health and its admin socket exists;
// it returns how long that took.
func (s *spawned) start(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.cmd, s.exited = cmd, make(chan error, 1)
	go func() { s.exited <- cmd.Wait() }()
	s.c.PID = cmd.Process.Pid
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-s.exited:
			s.exited <- err
			b, _ := os.ReadFile(s.log.Name())
			return 0, fmt.Errorf("minimostd exited at start: %v\n%s", err, tail(b, 4096))
		case <-ctx.Done():
			s.kill()
			return 0, ctx.Err()
		default:
		}
		// The certificate is written at the first start, before the admin socket.
		if _, err := os.Stat(s.c.Socket); err == nil {
			if tc, err := tlsConfig(s.c); err == nil && healthy(s.c.URL, tc) {
				return time.Since(t0), nil
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			return 0, errors.New("minimostd did not come up within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthy(u string, tc *tls.Config) bool {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
	resp, err := hc.Get(u + "/api/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// tail is the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// terminate sends SIGTERM and waits for the daemon to exit (SIGKILL after limit); it returns
// how long the daemon took to exit and whether it had to be killed.
func (s *spawned) terminate(limit time.Duration) (took time.Duration, killed bool) {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0, false
	}
	t0 := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
	case <-time.After(limit):
		s.kill()
		killed = true
	}
	return time.Since(t0), killed
}

func (s *spawned) kill() {
	s.cmd.Process.Kill()
	err := <-s.exited
	s.exited <- err
}

// stop sends SIGTERM (SIGKILL after 15 s) and removes the data directory unless it is kept.
func (s *spawned) stop() {
	s.terminate(15 * time.Second)
	s.log.Close()
	if s.keep {
		fmt.Fprintln(os.Stderr, "minimost-bench: data directory kept:", s.dir)
		return
	}
	os.RemoveAll(s.dir)
}

func tlsConfig(c *config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.Insecure {
		tc.InsecureSkipVerify = true
		return tc, nil
	}
	if c.CACert != "" {
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("-cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-cacert %s: no certificate in it", c.CACert)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// socketOwner returns the pid of the process listening on the Unix socket (the peer
// credentials of a connection to it).
func socketOwner(path string) (int, error) {
	conn, err := net.DialTimeout("unix", path, 3*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_, pid, err := admin.PeerCred(conn.(*net.UnixConn))
	if err == nil && pid == 0 {
		err = errors.New("the pid of a Unix socket's peer is not available on " + runtime.GOOS + ": use -pid")
	}
	return pid, err
}

// createUsers makes the accounts through the admin socket; existing ones are kept (they must
// have the same password).
func createUsers(ctx context.Context, socket string, names []string, password string) (created int, err error) {
	conn, err := grpc.NewClient("unix:"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	cl := adminv1.NewAdminServiceClient(conn)
	work := make(chan string)
	type result struct {
		created bool
		err     error
	}
	results := make(chan result)
	// The daemon bounds concurrent password hashing itself; a few at a time keep it busy.
	for range 4 {
		go func() {
			for n := range work {
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				_, err := cl.CreateUser(cctx, &adminv1.CreateUserRequest{Username: n, Password: password})
				cancel()
				switch status.Code(err) {
				case codes.OK:
					results <- result{created: true}
				case codes.AlreadyExists:
					results <- result{}
				default:
					results <- result{err: fmt.Errorf("create %s: %w", n, err)}
				}
			}
		}()
	}
	go func() {
		defer close(work)
		for _, n := range names {
			select {
			case work <- n:
			case <-ctx.Done():
				return
			}
		}
	}()
	var errs []string
	for range names {
		select {
		case r := <-results:
			if r.created {
				created++
				if created%1000 == 0 {
					logf("%d accounts created", created)
				}
			}
			if r.err != nil && len(errs) < 3 {
				errs = append(errs, r.err.Error())
			}
		case <-ctx.Done():
			return created, ctx.Err()
		}
	}
	if len(errs) > 0 {
		return created, errors.New(strings.Join(errs, "; "))
	}
	return created, nil
}

// procSample is a process's CPU time and memory at one moment.
type procSample struct {
	CPU     time.Duration // user + system
	RSS     int64         // bytes (VmRSS)
	HWM     int64         // bytes (VmHWM: peak RSS since start)
	Threads int
}

// clkTck is USER_HZ; 100 on every Linux architecture Go supports.
const clkTck = 100

func readProc(pid int) (procSample, error) {
	var s procSample
	p := "self"
	if pid > 0 {
		p = strconv.Itoa(pid)
	}
	stat, err := os.ReadFile("/proc/" + p + "/stat")
	if err != nil {
		return s, err
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return s, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return s, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.CPU = time.Duration(ut+st) * time.Second / clkTck
	status, err := os.ReadFile("/proc/" + p + "/status")
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			s.RSS = n * 1024
		case "VmHWM":
			s.HWM = n * 1024
		case "Threads":
			s.Threads = int(n)
		}
	}
	return s, nil
}
