// Command minimost-bench is MiniMost's load generator. It drives real WebSocket
// clients over real HTTPS against a running minimostd on this machine (loopback only) and
// reports messages per second delivered, copies per second, delivery latency p50/p95/p99
// (send to receipt of message.new at every member) and the daemon's CPU and resident memory.
//
//	minimost-bench -spawn -scenario channel -users 200 -senders 20 -duration 20s
//	minimost-bench -spawn -scenario channels -users 2000 -channels 20 -rate 5 -duration 20s
//	minimost-bench -spawn -scenario browse -users 2000 -think 20s -duration 60s
//	minimost-bench -spawn -scenario storm -users 1000 -connectors 256 -duration 5s
//	minimost-bench -url https://127.0.0.1:5000 -cacert data/cert.pem -socket data/minimost.sock \
//	    -scenario dm -users 100 -senders 50
//
//	minimost-bench -spawn -runs 3 -scenario channel -users 1000 -senders 20 -rate 2.5 -duration 20s
//	minimost-bench -spawn -data /tmp/bench10k -users 10000 -scenario idle -duration 5s
//	minimost-bench -spawn -data /tmp/bench10k -users 10000 -scenario storm -restart -connectors 256
//
// Accounts (bench0000, bench0001, …, up to -users 50,000: bench49999) are created through the
// admin socket (gRPC CreateUser), so registration's rate limit does not apply; login is
// rate-limited per client address, so a daemon started by hand for large runs wants
// -auth-burst >= -users (-spawn sets it). The run is bounded: setup, -duration of sending,
// then at most -drain waiting for the last copies.
//
// Each client's handshake names the accounts whose presence it shows (?watch=, the next
// -watch accounts: 3 by default, as the web client watches its DM partners; -watch -1 sends
// no watch, and the client gets every account's presence).
//
// -data DIR (with -spawn) runs the daemon on DIR instead of a temporary directory and keeps
// it; the accounts' session cookies are saved in DIR.sessions.json (mode 0600, beside DIR),
// so that a later run with the same -prefix reuses them (the daemon's sessions survive a
// restart) and hashes no password: only accounts missing from the file, or whose session
// the daemon refuses, are logged in. Messages accumulate in DIR from run to run.
//
// After the drain of a scenario that sends, the raw SQLite group-commit ceiling is measured
// in this process (store.MeasureCeiling: min(-users, 1,000) account databases, 50 copies per
// transaction, the daemon's 4 fan-out workers, ~3 s, in a temporary directory beside the
// data directory) and reported with the daemon's fan-out copies/s over the sending window
// (minimost_fanout_copies_total from its /metrics) and their ratio; -ceiling=false skips it.
//
// -runs N runs the whole scenario N times (each with a daemon of its own with -spawn) and
// prints the median of each key figure after the reports. -scenario idle reports RSS per
// socket from two settled readings (stable for a second: before the sockets; after them and
// a GC), also net of the free heap the Go runtime keeps mapped; it is comparable only when
// no password login ran in the daemon (-data with saved sessions). -restart (-scenario storm,
// -spawn) stops the daemon with SIGTERM and starts it again on the same directory and port
// instead of resetting the connections, then reconnects every client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	URL        string
	Insecure   bool
	PlainHTTP  bool
	CACert     string
	Socket     string
	PID        int
	Users      int
	Senders    int
	Rate       float64
	Duration   time.Duration
	Drain      time.Duration
	Scenario   string
	Prefix     string
	Password   string
	Spawn      bool
	Minimostd  string
	Keep       bool
	JSON       bool
	SetupLimit time.Duration
	Connectors int
	Pprof      string
	CPUOut     string
	HeapOut    string
	Channels   int           // -scenario channels: how many
	Think      time.Duration // -scenario browse: time between one user's actions (on average)
	Storms     []int         // -scenario storm: handshakes in flight in each storm, one storm each
	Watch      int           // accounts whose presence each client watches (-1: every account)
	PingEvery  time.Duration // -scenario idle: each client sends the web client's ping this often (0: never)
	DataDir    string        // -data: the spawned daemon's data directory, kept across runs
	Ceiling    bool          // measure the raw group-commit ceiling after the drain
	Runs       int           // the whole scenario this many times, then the medians
	Restart    bool          // -scenario storm: stop and start the daemon instead of resetting the connections
	sendersSet bool          // -senders was given
}

func main() {
	var c config
	fs := flag.NewFlagSet("minimost-bench", flag.ContinueOnError)
	fs.StringVar(&c.URL, "url", "https://127.0.0.1:5000", "minimostd's address (loopback only)")
	fs.BoolVar(&c.PlainHTTP, "http", false, "with -spawn: start the daemon with -http (plain HTTP, as behind a TLS-terminating proxy)")
	fs.BoolVar(&c.Insecure, "insecure", false, "skip TLS certificate verification (the daemon's self-signed certificate)")
	fs.StringVar(&c.CACert, "cacert", "", "PEM file to trust (e.g. <data>/cert.pem)")
	fs.StringVar(&c.Socket, "socket", "", "minimostd's admin socket (to create the accounts), e.g. <data>/minimost.sock")
	fs.IntVar(&c.PID, "pid", 0, "minimostd's process id for CPU and memory figures (default: the owner of -socket)")
	fs.IntVar(&c.Users, "users", 100, "connected clients (accounts <prefix>0000…), at most 50,000")
	fs.IntVar(&c.Senders, "senders", 10, "clients that send")
	fs.Float64Var(&c.Rate, "rate", 5, "messages per second per sender (the server allows 20 frames/s per socket)")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "how long the senders send")
	fs.DurationVar(&c.Drain, "drain", 15*time.Second, "how long to wait after sending for copies still on their way")
	fs.StringVar(&c.Scenario, "scenario", "channel", "channel (everyone in #general), dm (pairs), private (private channels of 10), channels (-channels channels of -users/-channels members), browse (every user browses: post, switch, scroll, search, sidebar, mark read), idle (sockets held, nothing sent: memory per socket) or storm (sockets held for -duration, every connection reset at once, all reconnected with their sessions and ?boot=&since=, -connectors at a time)")
	fs.IntVar(&c.Channels, "channels", 20, "-scenario channels: number of channels (private channels of -users/-channels members each; -senders defaults to one per channel)")
	fs.DurationVar(&c.Think, "think", 20*time.Second, "-scenario browse: time between two actions of one user, on average (each wait is drawn from ±50 % of it)")
	fs.StringVar(&c.Prefix, "prefix", "bench", "username prefix of the accounts")
	fs.StringVar(&c.Password, "password", "bench-password-123", "password of the accounts")
	fs.BoolVar(&c.Spawn, "spawn", false, "start a minimostd of our own on a temporary data directory and a free port")
	fs.StringVar(&c.Minimostd, "minimostd", "", "minimostd binary for -spawn (default: on PATH, else ./bin/minimostd)")
	fs.StringVar(&c.DataDir, "data", "", "with -spawn: run the daemon on this data directory (created if need be, never removed) and keep the accounts' session cookies in DIR.sessions.json beside it, so that later runs with the same -users and -prefix log no one in again; messages accumulate in it from run to run, private channels of the same name and members are used again")
	fs.BoolVar(&c.Ceiling, "ceiling", true, "after the drain of a scenario that sends, measure the raw SQLite group-commit ceiling in this process (min(-users, 1000) account databases, 50 copies per transaction, the daemon's 4 fan-out workers, ~3 s, on a temporary directory beside the data directory) and report the daemon's fan-out copies/s against it (-ceiling=false: skip)")
	fs.IntVar(&c.Runs, "runs", 1, "run the whole scenario this many times (with -spawn, each on a daemon of its own), print each report, then the median of each key figure")
	fs.BoolVar(&c.Restart, "restart", false, "-scenario storm with -spawn: instead of resetting the connections, SIGTERM the daemon, wait for it to exit, start it again on the same data directory and port, and reconnect every client with its session and ?boot=&since= (-connectors at a time); reports shutdown and start times, reconnects, resyncs (expected: the boot id changes) and presence frames")
	fs.BoolVar(&c.Keep, "keep", false, "with -spawn, keep the data directory and print where it is")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.IntVar(&c.Connectors, "connectors", 8, "WebSocket handshakes in flight while connecting (a reconnect storm: many)")
	fs.StringVar(&c.Pprof, "pprof", "", "the daemon's -metrics-listen address with -pprof, e.g. http://127.0.0.1:9464, for Go memory per socket (-spawn sets it)")
	fs.StringVar(&c.CPUOut, "cpu-profile", "", "with -pprof: save the daemon's CPU profile over the sending window (-duration) to this file, for go tool pprof")
	fs.StringVar(&c.HeapOut, "heap-profile", "", "with -pprof: save the daemon's heap profile (after a GC) at the end of the run to this file, for go tool pprof, and its goroutines to FILE.goroutines.txt")
	fs.Func("storm-connectors", "-scenario storm: a comma-separated list of handshakes in flight, one storm each on the same clients (default: one storm with -connectors)", func(v string) error {
		var err error
		c.Storms, err = parseCounts(v)
		return err
	})
	fs.IntVar(&c.Watch, "watch", 3, "accounts whose presence each client watches (?watch= of the handshake, as the web client names its DM partners): the next N accounts; -1: every account's presence, as a client that sends no watch")
	fs.DurationVar(&c.PingEvery, "ping-every", 0, "-scenario idle: each client sends the web client's {\"type\":\"ping\"} frame this often, first at a random point of the interval (the browser: 25s; 0: nothing is sent, sockets stay silent)")
	fs.DurationVar(&c.SetupLimit, "setup-timeout", 5*time.Minute, "limit on creating accounts, logging in and connecting")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	fs.Visit(func(f *flag.Flag) { c.sendersSet = c.sendersSet || f.Name == "senders" })
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "minimost-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var reps []*Report
	for i := range c.Runs {
		if c.Runs > 1 {
			logf("run %d of %d", i+1, c.Runs)
		}
		rep, err := run(ctx, c)
		if err != nil {
			fmt.Fprintf(os.Stderr, "minimost-bench: run %d of %d: %v\n", i+1, c.Runs, err)
			if len(reps) > 0 {
				printMedians(c, reps) // of the runs that finished
			}
			os.Exit(1)
		}
		reps = append(reps, rep)
		if !c.JSON || c.Runs == 1 {
			printReport(c, rep)
		}
	}
	if c.Runs > 1 {
		printMedians(c, reps)
	}
}

func (c *config) check() error {
	if c.Users < 2 {
		return errors.New("-users must be at least 2")
	}
	if c.Users > maxUsers {
		return fmt.Errorf("-users must be at most %d", maxUsers)
	}
	if c.Runs < 1 || c.Runs > 100 {
		return errors.New("-runs must be between 1 and 100")
	}
	if c.Restart && (c.Scenario != "storm" || !c.Spawn) {
		return errors.New("-restart needs -scenario storm and -spawn (it stops and starts the daemon it spawned)")
	}
	if c.DataDir != "" && !c.Spawn {
		return errors.New("-data needs -spawn (it is the spawned daemon's data directory)")
	}
	if c.Scenario == "channels" && !c.sendersSet {
		c.Senders = c.Channels
	}
	if c.Scenario == "idle" || c.Scenario == "browse" || c.Scenario == "storm" {
		c.Senders = 0
	} else if c.Senders < 1 || c.Senders > c.Users {
		return errors.New("-senders must be between 1 and -users")
	}
	if len(c.Storms) == 0 {
		c.Storms = []int{c.Connectors}
	}
	if c.Connectors < 1 {
		return errors.New("-connectors must be at least 1")
	}
	if c.Rate <= 0 || c.Rate > 20 {
		return errors.New("-rate must be above 0 and at most 20 (the server's per-socket frame limit)")
	}
	if c.Duration <= 0 || c.Duration > time.Hour {
		return errors.New("-duration must be above 0 and at most 1h")
	}
	switch c.Scenario {
	case "channel", "idle", "storm":
	case "dm":
		if c.Senders > c.Users/2 {
			return errors.New("-scenario dm: -senders must be at most -users/2 (one sender per pair)")
		}
	case "private":
		if c.Users < 10 {
			return errors.New("-scenario private needs at least 10 users")
		}
	case "channels":
		if c.Channels < 1 || c.Users/c.Channels < 2 {
			return errors.New("-scenario channels: -channels must be at least 1 and at most -users/2 (2 members each)")
		}
		if c.Users/c.Channels > 1000 {
			return errors.New("-scenario channels: at most 1,000 members per channel (-users/-channels)")
		}
	case "browse":
		if c.Think < 100*time.Millisecond || c.Think > time.Hour {
			return errors.New("-think must be between 100ms and 1h")
		}
	default:
		return fmt.Errorf("unknown -scenario %q (channel, dm, private, channels, browse, idle or storm)", c.Scenario)
	}
	if !c.Spawn {
		if err := loopbackOnly(c.URL); err != nil {
			return err
		}
		if c.Socket == "" {
			return errors.New("-socket is needed to create the accounts (or use -spawn)")
		}
	}
	return nil
}

// loopbackOnly refuses any target but this machine: a load generator must not be pointed at
// someone else's server.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("-url %q: scheme must be https or http", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-url %q: only loopback addresses (127.0.0.0/8, ::1, localhost) may be targeted", raw)
	}
	return nil
}

// parseCounts parses a comma-separated list of positive integers.
func parseCounts(v string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive integers separated by commas", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// maxUsers bounds -users: the clients' sockets and the daemon's must fit in the file
// descriptor limit this program can raise.
const maxUsers = 50000

// watchList is client i's ?watch=: the n accounts after it (wrapping); nil for n < 0 (no
// watch: every account's presence).
func watchList(prefix string, i, users, n int) *string {
	if n < 0 {
		return nil
	}
	names := make([]string, 0, n)
	for k := 1; k <= n && k < users; k++ {
		names = append(names, username(prefix, (i+k)%users))
	}
	w := strings.Join(names, ",")
	return &w
}

func username(prefix string, i int) string { return fmt.Sprintf("%s%04d", strings.ToLower(prefix), i) }
