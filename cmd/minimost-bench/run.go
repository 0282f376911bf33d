package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "minimost-bench: "+format+"\n", args...)
}

// conversation is one conversation of the scenario and the indexes of its members.
type conversation struct {
	id      string
	members []int
}

// sender is a client that sends into one conversation.
type sender struct {
	idx  int // client index
	conv int // conversation index

	mu      sync.Mutex
	pending map[string]time.Time // client_id → send time, until acked
	sent    int
}

// answered takes the send clientID off the pending ones (it was acked or refused) and
// returns when it was sent; ok is false for a send not pending (or not this sender's).
func (s *sender) answered(clientID string) (sentAt time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sentAt, ok = s.pending[clientID]
	delete(s.pending, clientID)
	return sentAt, ok
}

// tracker counts the copies of every message of this run.
type tracker struct {
	mu     sync.Mutex
	copies map[[2]int]int // (sender, seq) → copies received
	need   map[[2]int]int // (sender, seq) → copies expected (the conversation's members)
	wanted atomic.Int64   // copies expected in all
	total  atomic.Int64   // copies received
}

func newTracker() *tracker {
	return &tracker{copies: map[[2]int]int{}, need: map[[2]int]int{}}
}

// expect registers a message before it is sent: members copies of it are to arrive.
func (t *tracker) expect(s, seq, members int) {
	t.wanted.Add(int64(members))
	t.mu.Lock()
	t.need[[2]int{s, seq}] = members
	t.mu.Unlock()
}

// forget withdraws a message whose send failed.
func (t *tracker) forget(s, seq int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := [2]int{s, seq}
	t.wanted.Add(-int64(t.need[k]))
	delete(t.need, k)
}

// delivered counts the messages whose every expected copy arrived.
func (t *tracker) delivered() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, want := range t.need {
		if t.copies[k] >= want {
			n++
		}
	}
	return n
}

func (t *tracker) onCopy(s, seq int) {
	t.total.Add(1)
	t.mu.Lock()
	t.copies[[2]int{s, seq}]++
	t.mu.Unlock()
}

// Report is what a run measured.
type Report struct {
	Date          string  `json:"date"`
	GoVersion     string  `json:"go_version"`
	CPUs          int     `json:"cpus"`
	LoadStart     string  `json:"load_start"`
	LoadEnd       string  `json:"load_end"`
	Scenario      string  `json:"scenario"`
	Users         int     `json:"users"`
	Senders       int     `json:"senders"`
	Conversations int     `json:"conversations"`
	RatePerSender float64 `json:"rate_per_sender"`
	DurationS     float64 `json:"duration_s"`
	WindowS       float64 `json:"window_s"` // first send to last copy received

	Sent            int     `json:"sent"`
	Acked           int     `json:"acked"`
	ErrorFrames     int     `json:"error_frames"`
	Delivered       int     `json:"delivered"` // messages whose every member copy arrived
	CopiesWanted    int64   `json:"copies_wanted"`
	CopiesReceived  int64   `json:"copies_received"`
	MessagesPerSec  float64 `json:"messages_per_s"`
	CopiesPerSec    float64 `json:"copies_per_s"`
	LatencyP50Ms    float64 `json:"latency_p50_ms"`
	LatencyP95Ms    float64 `json:"latency_p95_ms"`
	LatencyP99Ms    float64 `json:"latency_p99_ms"`
	LatencyMaxMs    float64 `json:"latency_max_ms"`
	AckP50Ms        float64 `json:"ack_p50_ms"`
	AckP99Ms        float64 `json:"ack_p99_ms"`
	ServerPID       int     `json:"server_pid,omitempty"`
	ServerCPUS      float64 `json:"server_cpu_s"`
	ServerCPUPct    float64 `json:"server_cpu_pct"` // of one core over the window
	ServerRSSStart  float64 `json:"server_rss_start_mib"`
	ServerRSSMiB    float64 `json:"server_rss_mib"`
	ServerPeakMiB   float64 `json:"server_peak_rss_mib"` // highest sampled during the window
	ServerThreads   int     `json:"server_threads"`
	BenchCPUPct     float64 `json:"bench_cpu_pct"` // this load generator, same machine
	SetupS          float64 `json:"setup_s"`
	UsersCreated    int     `json:"users_created"`
	Logins          int     `json:"logins"`          // password logins in this run
	SessionsReused  int     `json:"sessions_reused"` // sessions of an earlier run (-data) still valid
	ServerProcError string  `json:"server_proc_error,omitempty"`

	MissingCopies  int64 `json:"missing_copies"`  // wanted but not received within -drain
	DroppedSockets int   `json:"dropped_sockets"` // closed by the server during the run
	SlowClosed     int   `json:"slow_closed"`     // of which "too slow" (1013)
	// CloseCodes counts the dropped sockets by WebSocket close code (-1: no close frame).
	CloseCodes map[string]int `json:"close_codes,omitempty"`
	// ServerCloses counts the sockets the daemon saw end during the run, by its reason
	// (minimost_websocket_closed_total), including those of clients that left.
	ServerCloses map[string]float64 `json:"server_closes,omitempty"`
	// UserDBOpens is how many user databases the daemon opened during the run (its handle
	// cache's misses; minimost_user_database_opens_total).
	UserDBOpens int64 `json:"user_db_opens"`
	// UserDBFanoutOpens is how many of them the fan-out opened to write copies
	// (minimost_user_database_fanout_opens_total); the rest were opened for reads.
	UserDBFanoutOpens int64 `json:"user_db_fanout_opens"`
	// FanoutCopies and FanoutTx are the copies the fan-out wrote during the run and the
	// transactions it wrote them in (minimost_fanout_copies_total, _transactions_total).
	FanoutCopies int64 `json:"fanout_copies"`
	FanoutTx     int64 `json:"fanout_transactions"`
	RefusedSends int   `json:"refused_sends"` // error frames answering a send (too_many: back-pressure)
	// RefusedMessages are the sends answered with an error instead of an ack: their copies
	// are not counted as wanted nor missing.
	RefusedMessages  int     `json:"refused_messages"`
	ServerCPUPerCopy float64 `json:"server_cpu_us_per_copy"`
	ConnectPerSec    float64 `json:"connect_per_s"`          // WebSocket handshakes per second while connecting everyone
	RSSBeforeMiB     float64 `json:"rss_before_sockets_mib"` // logged in, no socket open
	RSSPerSocketKiB  float64 `json:"rss_per_socket_kib"`     // (RSS at end − RSS before sockets) / users
	// -scenario idle: RSS settled (stable for a second) before the sockets and after them and
	// a GC; RSSPerSocketKiB is then (after − before) / users.
	RSSAfterMiB     float64 `json:"rss_after_sockets_mib,omitempty"`
	RSSBeforeStable bool    `json:"rss_before_stable,omitempty"`
	RSSAfterStable  bool    `json:"rss_after_stable,omitempty"`
	RSSNote         string  `json:"rss_note,omitempty"`
	// The free heap the Go runtime kept mapped (HeapIdle − HeapReleased, after the GC) at
	// each reading, and RSS per socket without it: free heap before the sockets is reused by
	// them without growing RSS.
	IdleHeapBeforeMiB  float64 `json:"idle_heap_kept_before_mib,omitempty"`
	IdleHeapAfterMiB   float64 `json:"idle_heap_kept_after_mib,omitempty"`
	RSSNetPerSocketKiB float64 `json:"rss_net_per_socket_kib,omitempty"`
	// GoMemPerSocketKiB is the daemon's Go heap and stacks in use after a GC (from
	// /debug/pprof/heap?gc=1), at the end minus before the sockets, per socket: unlike RSS
	// it does not count memory freed but not yet returned to the system.
	GoMemPerSocketKiB   float64 `json:"go_mem_per_socket_kib"`
	GoHeapPerSocketKiB  float64 `json:"go_heap_per_socket_kib"`  // of which heap
	GoStackPerSocketKiB float64 `json:"go_stack_per_socket_kib"` // of which goroutine stacks
	Goroutines          int     `json:"server_goroutines"`

	// The browsing mix: each action type, then "all".
	ThinkS             float64      `json:"think_s,omitempty"`
	Actions            []ActionStat `json:"actions,omitempty"`
	ServerCPUPerAction float64      `json:"server_cpu_us_per_action,omitempty"`

	Storms []*stormResult `json:"storms,omitempty"` // -scenario storm

	// The raw group-commit ceiling, measured in this process after the drain, and the
	// daemon's fan-out over the sending window (its minimost_fanout_copies_total).
	CeilingFiles        int     `json:"ceiling_files,omitempty"`
	CeilingCopiesPerS   float64 `json:"ceiling_copies_per_s,omitempty"`
	CeilingCPUUsPerCopy float64 `json:"ceiling_cpu_us_per_copy,omitempty"`
	StoreCopies         int64   `json:"store_copies,omitempty"` // written by the fan-out while the senders sent
	StoreCopiesPerS     float64 `json:"store_copies_per_s,omitempty"`
	StoreCeilingRatio   float64 `json:"store_ceiling_ratio,omitempty"` // store copies/s ÷ ceiling copies/s
	CeilingError        string  `json:"ceiling_error,omitempty"`
}

// saveProfile writes what url answers to path.
func saveProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// goMemStats is the daemon's Go memory after a forced GC.
type goMemStats struct {
	HeapInuse, Stack int64
	// HeapIdle − HeapReleased is free heap the runtime keeps mapped: in RSS, but reusable
	// by the next allocations without growing RSS.
	HeapIdle, HeapReleased int64
	Goroutines             int
}

// idleKept is the free heap the runtime holds and RSS counts.
func (m goMemStats) idleKept() int64 { return max(m.HeapIdle-m.HeapReleased, 0) }

// goMem returns the daemon's heap and stack bytes in use after a forced GC (gc) or as they
// are, the idle heap it keeps, and its number of goroutines, from its pprof endpoint.
func goMem(ctx context.Context, base string, gc bool) (m goMemStats, err error) {
	get := func(path string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	path := "/debug/pprof/heap?debug=1"
	if gc {
		path += "&gc=1"
	}
	heap, err := get(path)
	if err != nil {
		return m, err
	}
	for _, line := range strings.Split(heap, "\n") {
		var n, sys int64
		if _, err := fmt.Sscanf(line, "# HeapInuse = %d", &n); err == nil {
			m.HeapInuse = n
		} else if _, err := fmt.Sscanf(line, "# HeapIdle = %d", &n); err == nil {
			m.HeapIdle = n
		} else if _, err := fmt.Sscanf(line, "# HeapReleased = %d", &n); err == nil {
			m.HeapReleased = n
		} else if _, err := fmt.Sscanf(line, "# Stack = %d / %d", &n, &sys); err == nil {
			m.Stack = n
		}
	}
	g, err := get("/debug/pprof/goroutine?debug=1")
	if err != nil {
		return m, err
	}
	fmt.Sscanf(g, "goroutine profile: total %d", &m.Goroutines)
	return m, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func run(ctx context.Context, c config) (*Report, error) {
	rep := &Report{
		Date: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		LoadStart: loadavg(), Scenario: c.Scenario, Users: c.Users, Senders: c.Senders,
		RatePerSender: c.Rate, DurationS: c.Duration.Seconds(),
	}
	if err := raiseFileLimit(filesWanted(c.Users, c.Spawn)); err != nil {
		return nil, err
	}
	var sess *sessionsFile
	if c.DataDir != "" {
		var err error
		if sess, err = loadSessions(sessionsPath(c.DataDir), c.Prefix); err != nil {
			return nil, err
		}
	}
	setupStart := time.Now()
	sctx, cancelSetup := context.WithTimeout(ctx, c.SetupLimit)
	defer cancelSetup()
	var daemon *spawned
	if c.Spawn {
		d, err := spawn(sctx, &c)
		if err != nil {
			return nil, err
		}
		defer d.stop()
		daemon = d
		logf("spawned minimostd (pid %d) on %s, data %s", c.PID, c.URL, d.dir)
	}
	if c.PID == 0 {
		pid, err := socketOwner(c.Socket)
		if err != nil {
			logf("cannot find the daemon's pid from %s (%v): no server CPU/memory figures (give -pid)", c.Socket, err)
		}
		c.PID = pid
	}
	rep.ServerPID = c.PID
	base, err := url.Parse(strings.TrimRight(c.URL, "/"))
	if err != nil {
		return nil, err
	}
	tc, err := tlsConfig(&c)
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	conns := &connSet{}
	if c.Scenario == "storm" {
		transport.DialContext = conns.dial
	}

	names := make([]string, c.Users)
	for i := range names {
		names[i] = username(c.Prefix, i)
	}
	logf("creating %d accounts through %s", len(names), c.Socket)
	if rep.UsersCreated, err = createUsers(sctx, c.Socket, names, c.Password); err != nil {
		return nil, err
	}
	clients := make([]*client, c.Users)
	var drops atomic.Int64
	for i, n := range names {
		clients[i] = newClient(n, base, transport)
		clients[i].watch = watchList(c.Prefix, i, c.Users, c.Watch)
		clients[i].drops = &drops
	}
	if rep.Logins, rep.SessionsReused, err = logIn(sctx, c, clients, sess); err != nil {
		return nil, err
	}
	// Password hashing at login leaves garbage behind; what the sockets cost is measured from
	// here (the daemon's GC returns that memory only slowly, so per-socket figures of small
	// runs are rough).
	var mem0 goMemStats
	if c.Pprof != "" {
		if mem0, err = goMem(sctx, c.Pprof, true); err != nil {
			logf("no Go memory figures from %s: %v", c.Pprof, err)
		}
	}
	if c.Scenario == "idle" && c.PID != 0 {
		// What the sockets cost is the difference of two settled readings.
		rss, stable, err := waitStableRSS(sctx, c.PID, rssSettleLimit)
		if err != nil {
			return nil, err
		}
		rep.RSSBeforeMiB, rep.RSSBeforeStable = float64(rss)/(1<<20), stable
	} else if p, err := readProc(c.PID); err == nil {
		rep.RSSBeforeMiB = float64(p.RSS) / (1 << 20)
	}
	// Every socket is read from the moment it is connected, through the setup too: a client
	// that stops reading stops answering the daemon's pings, and the daemon rightly drops it.
	runID := randomID()
	tr := newTracker()
	var acked, refused atomic.Int64
	// sendersOf maps a client's index to its sender, once the senders are known.
	var sendersOf atomic.Pointer[map[int]*sender]
	senderAt := func(i int) *sender {
		if m := sendersOf.Load(); m != nil {
			return (*m)[i]
		}
		return nil
	}
	rctx, cancelRead := context.WithCancel(context.Background())
	defer cancelRead()
	var readers sync.WaitGroup
	startReader := func(i int) {
		cl := clients[i]
		cl.onRefused = func(id string) {
			s := senderAt(i)
			if s == nil {
				return
			}
			_, ok := s.answered(id)
			var si, seq int
			if n, _ := fmt.Sscanf(id, "%d-%d", &si, &seq); ok && n == 2 {
				// Refused before it was journaled: none of its copies is expected.
				tr.forget(si, seq)
				refused.Add(1)
			}
		}
		readers.Go(func() {
			cl.read(rctx, runID, tr.onCopy, func(id string, at time.Time) {
				s := senderAt(i)
				if s == nil {
					return
				}
				if t0, ok := s.answered(id); ok {
					cl.acks = append(cl.acks, at.Sub(t0))
					acked.Add(1)
				}
			})
		})
	}

	logf("connecting %d WebSockets (%d at a time)", len(clients), c.Connectors)
	connStart := time.Now()
	err = parallel(sctx, c.Connectors, len(clients), func(i int) error {
		if err := clients[i].dial(ctx); err != nil {
			return err
		}
		startReader(i)
		return nil
	})
	defer closeAll(clients)
	if err != nil {
		return nil, err
	}
	rep.ConnectPerSec = float64(len(clients)) / time.Since(connStart).Seconds()

	convs, senders, err := setupScenario(sctx, c, clients, runID)
	if err != nil {
		return nil, err
	}
	rep.Conversations = len(convs)
	var br *browser
	if c.Scenario == "browse" {
		if br, err = newBrowser(sctx, clients, convs); err != nil {
			return nil, err
		}
	}
	if c.Pprof != "" {
		// The setup's own posts (the browsing mix seeds every conversation: 150,000 copies
		// for #general alone at 2,500 users) are still being written to the members'
		// databases; a run that started now would measure that backlog, not its own load.
		if err := waitFanoutDrained(sctx, c.Pprof); err != nil {
			logf("the fan-out's backlog did not drain before the run: %v", err)
		}
	}
	rep.SetupS = time.Since(setupStart).Seconds()
	cancelSetup()

	senderOf := map[int]*sender{}
	for _, s := range senders {
		senderOf[s.idx] = s
	}
	sendersOf.Store(&senderOf)

	// Sample the daemon during the run.
	before, procErr := readProc(c.PID)
	if c.PID == 0 {
		procErr = fmt.Errorf("daemon pid unknown (give -pid)")
	}
	selfBefore, _ := readProc(0)
	var peak atomic.Int64
	stopSample := make(chan struct{})
	var sampler sync.WaitGroup
	pid := c.PID // a -restart storm replaces the daemon; its successor is not sampled
	if procErr == nil {
		sampler.Go(func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopSample:
					return
				case <-t.C:
					if p, err := readProc(pid); err == nil && p.RSS > peak.Load() {
						peak.Store(p.RSS)
					}
				}
			}
		})
	}

	// The fan-out's copies are counted over the sending window, from the daemon's metrics.
	sends := c.Senders > 0 || br != nil
	var store0 float64
	storeErr := fmt.Errorf("no -pprof address (the daemon's -metrics-listen) to read %s from", fanoutCopiesMetric)
	var closes0, counters0 map[string]float64
	if c.Pprof != "" {
		if closes0, err = scrapeMetricByLabel(ctx, c.Pprof, wsClosedMetric, "reason"); err != nil {
			logf("no close reasons from %s: %v", c.Pprof, err)
		}
		if counters0, err = scrapeMetrics(ctx, c.Pprof, runCounters...); err != nil {
			logf("no counters from %s: %v", c.Pprof, err)
		}
		if sends && c.Ceiling {
			store0, storeErr = counters0[fanoutCopiesMetric], err
		}
	}
	start := time.Now()
	stopAt := start.Add(c.Duration)
	var profiling sync.WaitGroup
	if c.CPUOut != "" && c.Pprof != "" {
		profiling.Go(func() {
			url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", c.Pprof, max(1, int(c.Duration.Seconds())))
			if err := saveProfile(ctx, url, c.CPUOut); err != nil {
				logf("no CPU profile: %v", err)
			}
		})
	}
	defer profiling.Wait()
	if br != nil {
		logf("run %s: %d users, an action every ~%v each, for %v (%d conversations)", runID, len(clients), c.Think, c.Duration, len(convs))
		br.run(ctx, c, runID, tr, start, stopAt, &acked)
	} else {
		logf("run %s: %d senders × %.1f msg/s for %v into %d conversations (%s)", runID, len(senders), c.Rate, c.Duration, len(convs), c.Scenario)
	}
	var sendWG sync.WaitGroup
	interval := time.Duration(float64(time.Second) / c.Rate)
	for si, s := range senders {
		sendWG.Go(func() {
			cl := clients[s.idx]
			conv := convs[s.conv].id
			// Spread the senders' ticks over one interval.
			first := start.Add(time.Duration(int64(interval) * int64(si) / int64(len(senders))))
			for seq := 0; ; seq++ {
				at := first.Add(time.Duration(seq) * interval)
				if !at.Before(stopAt) {
					return
				}
				select {
				case <-time.After(time.Until(at)):
				case <-ctx.Done():
					return
				}
				now := time.Now()
				id := fmt.Sprintf("%d-%d", si, seq)
				s.mu.Lock()
				s.pending[id] = now
				s.sent++
				s.mu.Unlock()
				tr.expect(si, seq, len(convs[s.conv].members))
				err := cl.send(ctx, map[string]string{"type": "send", "conversation": conv,
					"body": makeBody(runID, si, seq, now), "client_id": id})
				if err != nil {
					logf("send from %s: %v", cl.name, err)
					return
				}
			}
		})
	}
	sendWG.Wait()
	if sends && c.Ceiling && storeErr == nil {
		var store1 float64
		if store1, storeErr = scrapeMetric(ctx, c.Pprof, fanoutCopiesMetric); storeErr == nil {
			rep.StoreCopies = int64(store1 - store0)
			rep.StoreCopiesPerS = (store1 - store0) / time.Since(start).Seconds()
		}
	}

	// Wait for the acks and the copies still on their way, at most -drain.
	sent := 0
	for _, s := range senders {
		s.mu.Lock()
		sent += s.sent
		s.mu.Unlock()
	}
	if br != nil {
		sent = br.posts
	}
	drainUntil := time.Now().Add(c.Drain)
	for time.Now().Before(drainUntil) && ctx.Err() == nil {
		// A refused send is answered, not acked, and withdrawn from the copies wanted.
		if tr.total.Load() >= tr.wanted.Load() && acked.Load()+refused.Load() >= int64(sent) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c.Scenario == "storm" {
		startReader := func(cl *client) { cl.read(rctx, runID, tr.onCopy, func(string, time.Time) {}) }
		var restart func() (time.Duration, time.Duration, int, error)
		if c.Restart {
			restart = func() (shutdown, ready time.Duration, pid int, err error) {
				logf("storm: SIGTERM to minimostd (pid %d)", c.PID)
				shutdown, killed := daemon.terminate(60 * time.Second)
				if killed {
					return shutdown, 0, 0, fmt.Errorf("minimostd did not exit within 60 s of SIGTERM: killed")
				}
				ready, err = daemon.start(ctx)
				logf("storm: minimostd exited in %.1fs; restarted (pid %d), ready in %.1fs", shutdown.Seconds(), c.PID, ready.Seconds())
				return shutdown, ready, c.PID, err
			}
		}
		for _, k := range c.Storms {
			st, err := runStorm(ctx, c, k, clients, conns, &readers, startReader, restart)
			if err != nil {
				return nil, err
			}
			rep.Storms = append(rep.Storms, st)
		}
	}
	if c.Scenario == "idle" {
		// Hold the sockets for the duration (pinging as a browser does, with -ping-every),
		// then measure.
		idleCtx, stopPings := context.WithTimeout(ctx, c.Duration)
		var pings sync.WaitGroup
		if c.PingEvery > 0 {
			for _, cl := range clients {
				pings.Go(func() { pingEvery(idleCtx, cl, c.PingEvery) })
			}
		}
		<-idleCtx.Done()
		stopPings()
		pings.Wait()
	}
	end := time.Now()
	if counters0 != nil && c.PID == pid {
		if counters1, err := scrapeMetrics(ctx, c.Pprof, runCounters...); err == nil {
			d := func(name string) int64 { return int64(counters1[name] - counters0[name]) }
			rep.UserDBOpens, rep.UserDBFanoutOpens = d(userDBOpensMetric), d(userDBFanoutOpensMetric)
			rep.FanoutCopies, rep.FanoutTx = d(fanoutCopiesMetric), d(fanoutTxMetric)
		}
	}
	if closes0 != nil && c.PID == pid {
		if closes1, err := scrapeMetricByLabel(ctx, c.Pprof, wsClosedMetric, "reason"); err == nil {
			for reason, n := range closes1 {
				if d := n - closes0[reason]; d > 0 {
					if rep.ServerCloses == nil {
						rep.ServerCloses = map[string]float64{}
					}
					rep.ServerCloses[reason] = d
				}
			}
		}
	}
	if c.HeapOut != "" && c.Pprof != "" {
		if err := saveProfile(ctx, c.Pprof+"/debug/pprof/heap?gc=1", c.HeapOut); err != nil {
			logf("heap profile: %v", err)
		}
		if err := saveProfile(ctx, c.Pprof+"/debug/pprof/goroutine?debug=1", c.HeapOut+".goroutines.txt"); err != nil {
			logf("goroutine profile: %v", err)
		}
	}
	var mem1 goMemStats
	if mem0.HeapInuse > 0 && c.PID == pid {
		if mem1, err = goMem(ctx, c.Pprof, true); err == nil {
			n := float64(len(clients)) * 1024
			rep.GoMemPerSocketKiB = float64(mem1.HeapInuse+mem1.Stack-mem0.HeapInuse-mem0.Stack) / n
			rep.GoHeapPerSocketKiB = float64(mem1.HeapInuse-mem0.HeapInuse) / n
			rep.GoStackPerSocketKiB = float64(mem1.Stack-mem0.Stack) / n
			rep.Goroutines = mem1.Goroutines
		}
	}
	if c.Scenario == "idle" && c.PID != 0 && rep.RSSBeforeMiB > 0 {
		// After the GC above (when the pprof endpoint is there), once RSS has settled.
		if rss, stable, err := waitStableRSS(ctx, c.PID, rssSettleLimit); err == nil {
			rep.RSSAfterMiB, rep.RSSAfterStable = float64(rss)/(1<<20), stable
			rep.RSSPerSocketKiB = (rep.RSSAfterMiB - rep.RSSBeforeMiB) * 1024 / float64(len(clients))
			// The free heap kept now, with RSS settled: the daemon may have returned some
			// of what the GC above freed meanwhile.
			if now, err := goMem(ctx, c.Pprof, false); err == nil && mem1.HeapInuse > 0 {
				mem1.HeapIdle, mem1.HeapReleased = now.HeapIdle, now.HeapReleased
			}
			if mem1.HeapInuse > 0 {
				rep.IdleHeapBeforeMiB, rep.IdleHeapAfterMiB = float64(mem0.idleKept())/(1<<20), float64(mem1.idleKept())/(1<<20)
				rep.RSSNetPerSocketKiB = ((rep.RSSAfterMiB - rep.IdleHeapAfterMiB) - (rep.RSSBeforeMiB - rep.IdleHeapBeforeMiB)) * 1024 / float64(len(clients))
			}
			if rep.Logins > 0 {
				rep.RSSNote = fmt.Sprintf("%d password logins ran in the daemon before the sockets: RSS per socket includes the memory their hashing freed and is not comparable (run again with -data to reuse the sessions)", rep.Logins)
			}
		}
	}
	after, procErr2 := readProc(pid)
	if c.PID != pid {
		procErr2 = errors.New("the daemon was restarted during the run: see the storm figures")
	}
	selfAfter, _ := readProc(0)
	if sends && c.Ceiling {
		// The daemon is idle now (everything delivered or the drain over), its sockets open.
		dataDir := filepath.Dir(c.Socket)
		logf("measuring the raw group-commit ceiling for %v beside %s", ceilingTime, dataDir)
		if res, err := measureCeiling(ctx, dataDir, min(c.Users, 1000)); err != nil {
			rep.CeilingError = err.Error()
		} else {
			rep.CeilingFiles = res.Files
			rep.CeilingCopiesPerS = res.CopiesPerSec
			rep.CeilingCPUUsPerCopy = res.CPUNsPerCopy / 1000
			if storeErr != nil {
				rep.CeilingError = "store copies: " + storeErr.Error()
			} else if res.CopiesPerSec > 0 {
				rep.StoreCeilingRatio = rep.StoreCopiesPerS / res.CopiesPerSec
			}
		}
	}
	close(stopSample)
	sampler.Wait()
	cancelRead()
	closeAll(clients)
	readers.Wait()

	// The window runs from the first send to the last copy received.
	last := start
	var lat, acks []time.Duration
	for _, cl := range clients {
		if cl.lastRecv.After(last) {
			last = cl.lastRecv
		}
		lat = append(lat, cl.latencies...)
		acks = append(acks, cl.acks...)
		rep.ErrorFrames += cl.errors
		if cl.dropped {
			rep.DroppedSockets++
			if rep.CloseCodes == nil {
				rep.CloseCodes = map[string]int{}
			}
			// -1: the connection ended without a close frame.
			rep.CloseCodes[strconv.Itoa(int(cl.closeCode))]++
			if cl.closeCode == 1013 {
				rep.SlowClosed++
			}
		}
	}
	for _, s := range senders {
		rep.RefusedSends += clients[s.idx].errors
	}
	window := max(last.Sub(start), c.Duration)
	rep.WindowS = window.Seconds()
	rep.Sent = sent
	rep.Acked = int(acked.Load())
	wanted := tr.wanted.Load()
	rep.CopiesWanted = wanted
	rep.RefusedMessages = int(refused.Load())
	rep.CopiesReceived = tr.total.Load()
	rep.MissingCopies = max(wanted-rep.CopiesReceived, 0)
	rep.Delivered = tr.delivered()
	rep.MessagesPerSec = float64(rep.Delivered) / window.Seconds()
	rep.CopiesPerSec = float64(rep.CopiesReceived) / window.Seconds()
	rep.LatencyP50Ms, rep.LatencyP95Ms, rep.LatencyP99Ms, rep.LatencyMaxMs = pct(lat, 0.50), pct(lat, 0.95), pct(lat, 0.99), pct(lat, 1)
	if br != nil {
		// A browsing user posts over HTTP: the answer (201, durable) is the ack.
		acks = br.postLatencies()
		rep.Actions = br.stats()
		rep.ThinkS = c.Think.Seconds()
	}
	rep.AckP50Ms, rep.AckP99Ms = pct(acks, 0.50), pct(acks, 0.99)
	wall := end.Sub(start).Seconds()
	if procErr == nil && procErr2 == nil {
		rep.ServerCPUS = (after.CPU - before.CPU).Seconds()
		rep.ServerCPUPct = 100 * rep.ServerCPUS / wall
		rep.ServerRSSStart = float64(before.RSS) / (1 << 20)
		rep.ServerRSSMiB = float64(after.RSS) / (1 << 20)
		rep.ServerPeakMiB = float64(max(peak.Load(), after.RSS)) / (1 << 20)
		rep.ServerThreads = after.Threads
		if rep.CopiesReceived > 0 {
			rep.ServerCPUPerCopy = 1e6 * rep.ServerCPUS / float64(rep.CopiesReceived)
		}
		if n := len(rep.Actions); n > 0 && rep.Actions[n-1].Count > 0 {
			rep.ServerCPUPerAction = 1e6 * rep.ServerCPUS / float64(rep.Actions[n-1].Count)
		}
		if rep.RSSBeforeMiB > 0 && rep.RSSAfterMiB == 0 {
			rep.RSSPerSocketKiB = (rep.ServerRSSMiB - rep.RSSBeforeMiB) * 1024 / float64(len(clients))
		}
	} else if procErr != nil {
		rep.ServerProcError = procErr.Error()
	} else {
		rep.ServerProcError = procErr2.Error()
	}
	rep.BenchCPUPct = 100 * (selfAfter.CPU - selfBefore.CPU).Seconds() / wall
	rep.LoadEnd = loadavg()
	if rep.Delivered+rep.RefusedMessages < rep.Sent {
		logf("%d of %d messages accepted did not reach every member within -drain %v", rep.Sent-rep.RefusedMessages-rep.Delivered, rep.Sent-rep.RefusedMessages, c.Drain)
	}
	return rep, nil
}

// logIn gives every client a session: the one saved for it in sess (-data) when the daemon
// still accepts it, else a password login. With sess, the sessions are saved again, also
// when some logins failed, so that the work done is not lost.
func logIn(ctx context.Context, c config, clients []*client, sess *sessionsFile) (logins, reused int, err error) {
	need := make([]bool, len(clients))
	if sess != nil {
		var restored []int
		for i, cl := range clients {
			if ck := sess.Users[cl.name]; ck != nil {
				cl.restore(ck)
				restored = append(restored, i)
			} else {
				need[i] = true
			}
		}
		if len(restored) > 0 {
			logf("checking %d saved sessions", len(restored))
		}
		var refused atomic.Int64
		if err := parallel(ctx, 16, len(restored), func(k int) error {
			i := restored[k]
			ok, err := clients[i].sessionValid(ctx)
			if err != nil {
				return fmt.Errorf("session of %s: %w", clients[i].name, err)
			}
			if !ok {
				need[i] = true
				refused.Add(1)
			}
			return nil
		}); err != nil {
			return 0, 0, err
		}
		reused = len(restored) - int(refused.Load())
		if refused.Load() > 0 {
			logf("%d saved sessions refused: logging those in again", refused.Load())
		}
	} else {
		for i := range need {
			need[i] = true
		}
	}
	var todo []int
	for i, n := range need {
		if n {
			todo = append(todo, i)
		}
	}
	if len(todo) > 0 {
		logf("logging in %d clients", len(todo))
	}
	var done atomic.Int64
	err = parallel(ctx, 8, len(todo), func(k int) error {
		cl := clients[todo[k]]
		if err := cl.login(ctx, c.Password); err != nil {
			return fmt.Errorf("login %s: %w", cl.name, err)
		}
		if n := done.Add(1); n%1000 == 0 {
			logf("%d of %d logged in", n, len(todo))
		}
		return nil
	})
	logins = int(done.Load())
	if sess != nil {
		for _, cl := range clients {
			if ck := cl.cookies(); ck[sessionCookieName] != "" {
				sess.Users[cl.name] = ck
			}
		}
		if serr := sess.save(sessionsPath(c.DataDir)); serr != nil && err == nil {
			err = serr
		}
	}
	return logins, reused, err
}

// setupScenario makes the conversations and picks the senders.
func setupScenario(ctx context.Context, c config, clients []*client, runID string) ([]conversation, []*sender, error) {
	var convs []conversation
	var senders []*sender
	add := func(idx, conv int) {
		senders = append(senders, &sender{idx: idx, conv: conv, pending: map[string]time.Time{}})
	}
	n := len(clients)
	switch c.Scenario {
	case "idle", "storm":
	case "channel":
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		convs = append(convs, conversation{id: "c:general", members: all})
		for k := range c.Senders {
			add(k*n/c.Senders, 0)
		}
	case "dm":
		// One DM per pair (2k, 2k+1); the first of the pair sends.
		convs = make([]conversation, c.Senders)
		err := parallel(ctx, 8, c.Senders, func(k int) error {
			a, b := clients[2*k], clients[2*k+1]
			var out struct {
				Conversation struct{ ID string } `json:"conversation"`
			}
			if err := a.do(ctx, "POST", "/api/dms", map[string]any{"members": []string{b.name}}, &out); err != nil {
				return fmt.Errorf("open DM %s-%s: %w", a.name, b.name, err)
			}
			convs[k] = conversation{id: out.Conversation.ID, members: []int{2 * k, 2*k + 1}}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		for k := range c.Senders {
			add(2*k, k)
		}
	case "private":
		groups := n / 10
		var err error
		if convs, err = privateGroups(ctx, clients, groups, 10); err != nil {
			return nil, nil, err
		}
		for k := range c.Senders {
			g := k % groups
			add(convs[g].members[(k/groups)%10], g)
		}
	case "channels":
		// C channels of M members: private channels, since a public channel has everyone.
		size := n / c.Channels
		var err error
		if convs, err = privateGroups(ctx, clients, c.Channels, size); err != nil {
			return nil, nil, err
		}
		for k := range c.Senders {
			g := k % c.Channels
			add(convs[g].members[(k/c.Channels)%size], g)
		}
	case "browse":
		var err error
		if convs, err = browseConversations(ctx, clients, runID); err != nil {
			return nil, nil, err
		}
	}
	return convs, senders, nil
}

// privateGroups makes groups private channels of size members each, of the clients
// size*g … size*g+size-1; the first of each creates it. A channel an earlier run on the same
// -data directory made for the same groups and members is used again, so that repeated runs
// measure the same conversations rather than every user gaining channels run after run.
func privateGroups(ctx context.Context, clients []*client, groups, size int) ([]conversation, error) {
	convs := make([]conversation, groups)
	reused := atomic.Int64{}
	err := parallel(ctx, 8, groups, func(g int) error {
		members := make([]int, size)
		names := make([]string, 0, size)
		for j := range members {
			members[j] = size*g + j
			names = append(names, clients[size*g+j].name)
		}
		creator := clients[size*g]
		name := fmt.Sprintf("bench-%dx%d-%03d", groups, size, g)
		id, err := findPrivate(ctx, creator, name, names)
		if err != nil {
			return err
		}
		if id != "" {
			reused.Add(1)
			convs[g] = conversation{id: id, members: members}
			return nil
		}
		var out struct {
			Conversation struct{ ID string } `json:"conversation"`
		}
		if err := creator.do(ctx, "POST", "/api/private-channels", map[string]any{"name": name, "members": names[1:]}, &out); err != nil {
			return fmt.Errorf("create private channel %s: %w", name, err)
		}
		convs[g] = conversation{id: out.Conversation.ID, members: members}
		return nil
	})
	if n := reused.Load(); n > 0 {
		logf("%d of %d private channels reused from an earlier run", n, groups)
	}
	return convs, err
}

// findPrivate returns the id of c's private channel called name whose members are exactly
// names, or "".
func findPrivate(ctx context.Context, c *client, name string, names []string) (string, error) {
	var list struct {
		Conversations []struct {
			ID, Kind, Name string
		} `json:"conversations"`
	}
	if err := c.do(ctx, "GET", "/api/conversations", nil, &list); err != nil {
		return "", fmt.Errorf("list %s's conversations: %w", c.name, err)
	}
	want := slices.Sorted(slices.Values(names))
	for _, cv := range list.Conversations {
		if cv.Kind != "private" || cv.Name != name {
			continue
		}
		var ms struct {
			Members []string `json:"members"`
		}
		if err := c.do(ctx, "GET", "/api/conversations/"+url.PathEscape(cv.ID)+"/members", nil, &ms); err != nil {
			return "", fmt.Errorf("members of %s: %w", cv.ID, err)
		}
		if slices.Equal(slices.Sorted(slices.Values(ms.Members)), want) {
			return cv.ID, nil
		}
	}
	return "", nil
}

// parallel runs fn(0..n-1) on at most workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

func closeAll(clients []*client) {
	var wg sync.WaitGroup
	for _, cl := range clients {
		if cl != nil && cl.ws != nil {
			ws := cl.ws
			wg.Go(func() { ws.CloseNow() })
		}
	}
	wg.Wait()
}

func randomID() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pct returns the q-quantile of d in milliseconds (q=1: the maximum).
func pct(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(q * float64(len(d)-1))
	return float64(d[i]) / float64(time.Millisecond)
}

func printReport(c config, r *Report) {
	if c.JSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Println(string(b))
		return
	}
	fmt.Printf("minimost-bench %s  %s  %d CPUs  load %s → %s\n", r.Date, r.GoVersion, r.CPUs, r.LoadStart, r.LoadEnd)
	if len(r.Actions) > 0 {
		fmt.Printf("scenario %s: %d users browsing, %d conversations, %.0fs (setup %.1fs, %d accounts created)\n",
			r.Scenario, r.Users, r.Conversations, r.DurationS, r.SetupS, r.UsersCreated)
	} else {
		fmt.Printf("scenario %s: %d users, %d senders × %.1f msg/s, %d conversations, %.0fs (setup %.1fs, %d accounts created, %d logins, %d saved sessions reused)\n",
			r.Scenario, r.Users, r.Senders, r.RatePerSender, r.Conversations, r.DurationS, r.SetupS, r.UsersCreated, r.Logins, r.SessionsReused)
	}
	fmt.Printf("messages: %d sent, %d acked, %d refused (too_many: the fan-out's backlog at its bound; not expected anywhere), %d delivered to every member, %d error frames\n",
		r.Sent, r.Acked, r.RefusedMessages, r.Delivered, r.ErrorFrames)
	fmt.Printf("copies:   %d of %d received (message.new at each member)\n", r.CopiesReceived, r.CopiesWanted)
	fmt.Printf("rate:     %.1f messages/s delivered, %.0f copies/s (over %.1fs, first send to last copy)\n", r.MessagesPerSec, r.CopiesPerSec, r.WindowS)
	fmt.Printf("latency:  send → message.new p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms;  send → ack p50 %.1f ms  p99 %.1f ms\n",
		r.LatencyP50Ms, r.LatencyP95Ms, r.LatencyP99Ms, r.LatencyMaxMs, r.AckP50Ms, r.AckP99Ms)
	if r.ServerProcError == "" && r.ServerPID != 0 {
		fmt.Printf("server:   pid %d  CPU %.2fs (%.0f%% of one core)  RSS %.1f MiB at start, %.1f MiB at end, peak %.1f MiB sampled  %d threads\n",
			r.ServerPID, r.ServerCPUS, r.ServerCPUPct, r.ServerRSSStart, r.ServerRSSMiB, r.ServerPeakMiB, r.ServerThreads)
	} else {
		fmt.Printf("server:   no CPU/memory figures (%s)\n", r.ServerProcError)
	}
	fmt.Printf("per copy: %.1f µs server CPU;  %d copies missing;  %d sockets dropped (%d too slow);  %d sends refused\n",
		r.ServerCPUPerCopy, r.MissingCopies, r.DroppedSockets, r.SlowClosed, r.RefusedSends)
	if len(r.CloseCodes) > 0 {
		fmt.Printf("          dropped sockets by close code (-1: no close frame): %v\n", r.CloseCodes)
	}
	if r.UserDBOpens > 0 {
		fmt.Printf("          user databases opened during the run (the handle cache's misses): %d, %d of them by the fan-out\n", r.UserDBOpens, r.UserDBFanoutOpens)
	}
	if r.FanoutTx > 0 {
		fmt.Printf("          fan-out: %d copies in %d transactions (%.1f a transaction) during the run\n", r.FanoutCopies, r.FanoutTx, float64(r.FanoutCopies)/float64(r.FanoutTx))
	}
	if len(r.ServerCloses) > 0 {
		fmt.Printf("          sockets ended, as the daemon counted them (minimost_websocket_closed_total): %v\n", r.ServerCloses)
	}
	fmt.Printf("sockets:  %.0f connected/s;  RSS %.1f MiB before the sockets → %.1f MiB: %.1f KiB per socket;  Go heap+stacks after GC %.1f KiB per socket (heap %.1f, stacks %.1f), %d goroutines\n",
		r.ConnectPerSec, r.RSSBeforeMiB, r.ServerRSSMiB, r.RSSPerSocketKiB, r.GoMemPerSocketKiB, r.GoHeapPerSocketKiB, r.GoStackPerSocketKiB, r.Goroutines)
	if r.RSSAfterMiB > 0 {
		settled := func(ok bool) string {
			if ok {
				return "settled"
			}
			return "NOT settled"
		}
		fmt.Printf("rss:      %.1f MiB before the sockets (%s) → %.1f MiB with them, after a GC (%s): %.1f KiB per socket;  Go heap+stacks %.1f KiB per socket\n",
			r.RSSBeforeMiB, settled(r.RSSBeforeStable), r.RSSAfterMiB, settled(r.RSSAfterStable), r.RSSPerSocketKiB, r.GoMemPerSocketKiB)
		if r.IdleHeapBeforeMiB > 0 || r.IdleHeapAfterMiB > 0 {
			fmt.Printf("          free heap kept by the Go runtime (in RSS) %.1f MiB before, %.1f MiB after: RSS less it, %.1f KiB per socket\n",
				r.IdleHeapBeforeMiB, r.IdleHeapAfterMiB, r.RSSNetPerSocketKiB)
		}
		if r.RSSNote != "" {
			fmt.Printf("          %s\n", r.RSSNote)
		}
	}
	if len(r.Actions) > 0 {
		fmt.Printf("actions:  one every ~%.0fs per user (jittered ±50%%);  server CPU %.0f µs per action\n", r.ThinkS, r.ServerCPUPerAction)
		for _, a := range r.Actions {
			fmt.Printf("  %-8s %6d done  %4d errors  avg %6.1f ms  p50 %6.1f ms  p99 %7.1f ms  max %7.1f ms\n",
				a.Action, a.Count, a.Errors, a.AvgMs, a.P50Ms, a.P99Ms, a.MaxMs)
		}
	}
	for _, st := range r.Storms {
		if st.Restart {
			fmt.Printf("restart:  SIGTERM → exited in %.1fs;  started again, ready in %.1fs;  %d at a time: %d reconnected in %.1fs after ready (%.1fs after SIGTERM): %.0f sockets/s;  %d failed;  %d closed by the server (%d too slow);  %d resyncs;  new daemon's CPU %.2fs\n",
				st.ShutdownS, st.ReadyS, st.Connectors, r.Users-st.Failed, st.ReconnectS, st.AllBackS, st.ReconnectPerS, st.Failed, st.Dropped, st.SlowClosed, st.Resyncs, st.ServerCPUS)
			fmt.Printf("presence: %.1f frames per client on average (max %d) from ready to %v after the last reconnect: %.2f per client per second\n",
				st.PresenceAvg, st.PresenceMax, stormSettle, st.PresencePerS)
			continue
		}
		fmt.Printf("storm:    %d connections reset; %d at a time: %d reconnected in %.1fs: %.0f sockets/s;  %d failed;  %d dropped (%d too slow);  %d resyncs;  server CPU %.2fs over the %.1fs storm\n",
			st.Reset, st.Connectors, r.Users-st.Failed, st.ReconnectS, st.ReconnectPerS, st.Failed, st.Dropped, st.SlowClosed, st.Resyncs, st.ServerCPUS, st.WindowS)
		fmt.Printf("presence: %.1f frames per client on average (max %d) from the reset to %v after the last reconnect: %.2f per client per second\n",
			st.PresenceAvg, st.PresenceMax, stormSettle, st.PresencePerS)
	}
	if r.CeilingFiles > 0 || r.CeilingError != "" {
		fmt.Printf("ceiling:  raw group commit %.0f copies/s (%d files, %d per transaction, %d workers, %.1f µs CPU per copy);  store %.0f copies/s over the sending window (%d copies): %.2f of the ceiling",
			r.CeilingCopiesPerS, r.CeilingFiles, ceilingPerTx, fanoutWorkers, r.CeilingCPUUsPerCopy, r.StoreCopiesPerS, r.StoreCopies, r.StoreCeilingRatio)
		if r.CeilingError != "" {
			fmt.Printf("  (%s)", r.CeilingError)
		}
		fmt.Println()
	}
	fmt.Printf("bench:    this load generator used %.0f%% of one core on the same machine\n", r.BenchCPUPct)
}

// pingEvery sends the web client's ping frame every d (the first at a random point of the
// interval, as tabs opened at different moments do) until ctx ends.
func pingEvery(ctx context.Context, cl *client, d time.Duration) {
	t := time.NewTimer(mrand.N(d))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := cl.send(ctx, map[string]string{"type": "ping"}); err != nil {
			return
		}
		t.Reset(d)
	}
}
