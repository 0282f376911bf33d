package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimost/minimost/pkg/metrics"
)

func TestMetrics_Instrument(t *testing.T) {
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/conversations/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 401) })
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack through the instrumented writer: %v", err)
			return
		}
		c.Close()
	})
	chat := httptest.NewServer(m.Instrument(mux))
	defer chat.Close()
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/conversations/c:general"}, {"GET", "/api/conversations/c:random"},
		{"POST", "/api/login"}, {"GET", "/ws"}, {"GET", "/nowhere"},
	} {
		r, _ := http.NewRequest(req.method, chat.URL+req.path, nil)
		if resp, err := http.DefaultClient.Do(r); err == nil {
			resp.Body.Close()
		}
	}

	srv := httptest.NewServer(m.Handler(false))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	for _, want := range []string{
		`minimost_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/conversations/{id}"} 2`,
		`minimost_http_request_duration_seconds_count{code="401",method="POST",route="POST /api/login"} 1`,
		`minimost_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		"minimost_login_failures_total 1",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `route="GET /ws"`) {
		t.Errorf("a hijacked (WebSocket) request was timed")
	}
	if r, _ := http.Get(srv.URL + "/debug/pprof/"); r != nil && r.StatusCode == 200 {
		t.Errorf("pprof served without being asked for")
	}
}

// TestDisk: the sizes of each part, data and WAL apart, scraped from /metrics.
func TestDisk(t *testing.T) {
	dir := t.TempDir()
	for rel, size := range map[string]int{
		"users/alice.db": 100, "users/alice.db-wal": 40, "users/alice.db-shm": 2, "users/bob.db": 50,
		"auth.db": 10, "auth.db-wal": 5, "presence.db": 7, "uploads/x/a.png": 3, "avatars/b.png": 4,
	} {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m := metrics.New()
	m.Registry.MustRegister(&metrics.Disk{Dir: dir})
	srv := httptest.NewServer(m.Handler(false))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`minimost_disk_bytes{kind="data",part="users"} 150`,
		`minimost_disk_bytes{kind="wal",part="users"} 42`,
		`minimost_disk_bytes{kind="data",part="auth_db"} 10`,
		`minimost_disk_bytes{kind="wal",part="auth_db"} 5`,
		`minimost_disk_bytes{kind="wal",part="presence_db"} 0`,
		`minimost_disk_bytes{kind="data",part="uploads"} 3`,
		`minimost_disk_bytes{kind="data",part="avatars"} 4`,
		"minimost_user_databases 2",
	} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
func TestMetrics_Fanout(t *testing.T) {
	m := metrics.New()
	reads := 0
	m.Fanout(func() metrics.FanoutCounts {
		reads++
		return metrics.FanoutCounts{Queued: 7, Copies: 1000, Transactions: 40, Refused: 2, Staged: 9, JournalCommits: 5, JournalCommitSeconds: 0.25, SlowClosed: 3}
	})
	srv := httptest.NewServer(m.Handler(false))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		"minimost_fanout_queued_copies 7", "minimost_fanout_copies_total 1000", "minimost_fanout_transactions_total 40",
		"minimost_fanout_refused_total 2", "minimost_fanout_staged_total 9", "minimost_journal_commits_total 5", "minimost_journal_commit_seconds_total 0.25",
		"minimost_websocket_slow_closed_total 3",
	} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if reads != 1 {
		t.Errorf("one scrape read the fan-out's figures %d times, want once", reads)
	}
}
