package e2e_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Issue 10: an admin's daemon. Each test reproduces one finding of the issue and checks the fix.

// statusJSON runs minimostctl status --json.
func statusJSON(t *testing.T, d *Daemon) map[string]any {
	t.Helper()
	var st map[string]any
	if err := json.Unmarshal([]byte(d.MustCtl("status", "--json")), &st); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	return st
}

// Finding 1: a hand edit of settings.json applies on an idle server, without any request
// reading the settings, and is pushed to connected browsers; an invalid edit keeps the last
// good settings, is logged once, and status shows it.
func TestAdmin_SettingsLive(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	alice := d.NewClient()
	alice.Login("alice", "alice-password")
	ws := alice.MustWS()
	d.WaitClients(1)

	// Nothing but the file changes: no API call, no minimostctl channels.
	d.WriteSettings(func(m map[string]any) { m["channels"] = []string{"general", "design"} })
	ws.WaitFor("channels", 10*time.Second, func(m map[string]any) bool { return fmt.Sprint(m["channels"]) == "[general design]" })

	d.WriteSettings(func(m map[string]any) { m["channels"] = []string{"design"} })
	ws.WaitFor("conversation.removed", 10*time.Second, func(m map[string]any) bool { return m["id"] == "c:general" })

	t.Run("invalid edit", func(t *testing.T) {
		d.WriteSettings(func(m map[string]any) { m["image_retention_days"] = -1 })
		var st map[string]any
		waitFor(t, "status to report the invalid settings.json", func() bool {
			st = statusJSON(t, d)
			return st["settings_error"] != ""
		})
		if got := fmt.Sprint(st["settings_error"]); !strings.Contains(got, "settings.json:") || !strings.Contains(got, "image_retention_days") {
			t.Errorf("settings_error = %q, want file:line: reason naming the key", got)
		}
		if out := d.MustCtl("status"); !strings.Contains(out, "settings:      INVALID") {
			t.Errorf("status = %q, want the settings line to say INVALID", out)
		}
		// The last good settings stay: the channel list is still [design].
		if got := alice.Do("GET", "/api/conversations", nil); got.Status != 200 || strings.Contains(string(got.Body), `"c:general"`) || !strings.Contains(string(got.Body), `"c:design"`) {
			t.Errorf("conversations after an invalid edit: %d %s, want design only", got.Status, got.Body)
		}
		// Written again (another edit with the same mistake): not logged again.
		d.WriteSettings(func(m map[string]any) { m["image_retention_days"] = -1; m["file_retention_days"] = 30 })
		d.WriteSettings(func(m map[string]any) { m["image_retention_days"] = 30; m["channels"] = []string{"design", "ops"} })
		ws.WaitFor("channels", 10*time.Second, func(m map[string]any) bool { return fmt.Sprint(m["channels"]) == "[design ops]" })
		if st := statusJSON(t, d); st["settings_error"] != "" {
			t.Errorf("settings_error after the fix = %q, want empty", st["settings_error"])
		}
		if n := strings.Count(d.Log.String(), "settings.json is invalid"); n != 1 {
			t.Errorf("the invalid edit was logged %d times, want once:\n%s", n, d.Log.String())
		}
		if !strings.Contains(d.Log.String(), "settings.json is valid again") {
			t.Errorf("the fix was not logged")
		}
	})
}

// bigUploads makes the backup take a moment (copying and hashing them), so that it can be
// interrupted half way.
func bigUploads(t *testing.T, d *Daemon, n int) {
	t.Helper()
	buf := make([]byte, 32<<20)
	for i := range n {
		if err := os.WriteFile(d.Path("uploads", fmt.Sprintf("big%d.bin", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startCtl starts minimostctl in the background; wait() returns its exit code and output.
func startCtl(t *testing.T, d *Daemon, args ...string) (cmd *exec.Cmd, wait func() (int, string)) {
	t.Helper()
	cmd = exec.Command(filepath.Join(binDir, "minimostctl"), append([]string{"--socket", d.Socket}, args...)...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, func() (int, string) {
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return code, out.String()
	}
}

// Findings 3 and 4, and the manifest: a backup is DIR.partial until complete, Ctrl-C does not
// stop it, --cancel-on-interrupt does and leaves nothing, a symlink does not get around the
// data-directory check, and --verify checks it against its manifest.
func TestAdmin_Backup(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	alice := d.NewClient()
	alice.Login("alice", "alice-password")
	for i := range 5 {
		alice.Post("c:general", fmt.Sprintf("before the backup %d", i))
	}

	t.Run("manifest and verify", func(t *testing.T) {
		bk := filepath.Join(t.TempDir(), "bk")
		var rep map[string]any
		if err := json.Unmarshal([]byte(d.MustCtl("backup", bk, "--json")), &rep); err != nil {
			t.Fatal(err)
		}
		if rep["users"] != 2.0 || rep["messages"] != 10.0 || rep["manifest"] != filepath.Join(bk, "manifest.json") {
			t.Errorf("backup --json = %v, want 2 users, 10 messages and the manifest", rep)
		}
		if _, err := os.Stat(bk + ".partial"); !os.IsNotExist(err) {
			t.Errorf("%s.partial after the backup: %v", bk, err)
		}
		var m struct {
			Version string `json:"version"`
			Files   []struct {
				Path   string `json:"path"`
				Size   int64  `json:"size"`
				SHA256 string `json:"sha256"`
			} `json:"files"`
		}
		if err := json.Unmarshal(mustRead(t, filepath.Join(bk, "manifest.json")), &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Files) < 8 || m.Version == "" {
			t.Errorf("manifest = %+v, want every file and the version", m)
		}
		out := d.MustCtl("backup", "--verify", bk)
		if !strings.Contains(out, "users/alice.db: ok") || !strings.Contains(out, "ok: every file matches") {
			t.Errorf("verify = %q", out)
		}
		// Verification writes nothing beside the databases (no -wal, no -shm).
		if es, _ := filepath.Glob(filepath.Join(bk, "*-*")); len(es) != 0 {
			t.Errorf("verify left %v in the backup", es)
		}
		// A changed byte is caught.
		f, _ := os.OpenFile(filepath.Join(bk, "secret.key"), os.O_WRONLY, 0)
		f.WriteAt([]byte{'!'}, 0)
		f.Close()
		r := d.Ctl("backup", "--verify", bk)
		if r.Code != 1 || !strings.Contains(r.Stdout, "secret.key: SHA-256 differs") {
			t.Errorf("verify of a tampered backup: exit %d, stdout %q", r.Code, r.Stdout)
		}
		// A directory without manifest is not a backup.
		if r := d.Ctl("backup", "--verify", t.TempDir()); r.Code != 1 || !strings.Contains(r.Stderr, "not a complete backup") {
			t.Errorf("verify of an empty dir: exit %d, stderr %q", r.Code, r.Stderr)
		}
	})

	t.Run("symlink into the data directory refused", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(d.Dir, link); err != nil {
			t.Fatal(err)
		}
		r := d.Ctl("backup", filepath.Join(link, "bk"))
		if r.Code != 1 || !strings.Contains(r.Stderr, "inside the data directory") {
			t.Errorf("backup through a symlink: exit %d, stderr %q; want refused", r.Code, r.Stderr)
		}
		for _, p := range []string{"bk", "bk.partial"} {
			if _, err := os.Stat(d.Path(p)); !os.IsNotExist(err) {
				t.Errorf("%s written into the data directory (%v)", p, err)
			}
		}
	})

	bigUploads(t, d, 4)

	t.Run("Ctrl-C leaves the daemon finishing the backup", func(t *testing.T) {
		bk := filepath.Join(t.TempDir(), "bk")
		cmd, wait := startCtl(t, d, "backup", bk)
		waitFor(t, "the backup to start", func() bool { _, err := os.Stat(bk + ".partial"); return err == nil || fileExists(bk) })
		cmd.Process.Signal(syscall.SIGINT)
		code, out := wait()
		if !fileExists(bk) && (code != 1 || !strings.Contains(out, "minimostd goes on with the backup")) {
			t.Errorf("interrupted backup: exit %d, output %q; want 1 and that the daemon goes on", code, out)
		}
		waitFor(t, "the daemon to finish the backup", func() bool { return fileExists(filepath.Join(bk, "manifest.json")) })
		if fileExists(bk + ".partial") {
			t.Errorf("%s.partial left beside the finished backup", bk)
		}
		d.MustCtl("backup", "--verify", bk)
	})

	t.Run("--cancel-on-interrupt leaves nothing that looks like a backup", func(t *testing.T) {
		bk := filepath.Join(t.TempDir(), "bk")
		cmd, wait := startCtl(t, d, "backup", bk, "--cancel-on-interrupt")
		waitFor(t, "the backup to start", func() bool { return fileExists(bk + ".partial") })
		cmd.Process.Signal(syscall.SIGINT)
		code, out := wait()
		if code != 1 || !strings.Contains(out, "backup was cancelled") {
			t.Errorf("cancelled backup: exit %d, output %q", code, out)
		}
		waitFor(t, "the daemon to remove the partial backup", func() bool { return !fileExists(bk + ".partial") })
		waitFor(t, "the daemon to log the cancelled backup", func() bool {
			return regexp.MustCompile(`msg=backup dir=` + regexp.QuoteMeta(bk) + `.*err=`).MatchString(d.Log.String())
		})
		if fileExists(bk) {
			t.Errorf("%s exists after a cancelled backup", bk)
		}
	})
}

// shellIn runs a bash script in dir, failing t (not the daemon's test) on an error.
func shellIn(t *testing.T, dir, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("shell %q: %v\n%s", script, err, out)
	}
	return string(out)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// docBlock returns the n-th (from 0) ```sh block after heading in docs/administration.md:
// the tests run the guide's recipes as written.
func docBlock(t *testing.T, heading string, n int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "administration.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("docs/administration.md has no heading %q", heading)
	}
	rest := doc[i:]
	for k := 0; ; k++ {
		j := strings.Index(rest, "```sh\n")
		if j < 0 {
			t.Fatalf("no ```sh block %d after %q", n, heading)
		}
		rest = rest[j+len("```sh\n"):]
		end := strings.Index(rest, "```")
		block := rest[:end]
		if k == n {
			// Indented blocks (inside a list item) lose their indentation.
			var lines []string
			for _, l := range strings.Split(block, "\n") {
				lines = append(lines, strings.TrimPrefix(l, "   "))
			}
			return strings.Join(lines, "\n")
		}
		rest = rest[end+3:]
	}
}

// Finding 2: the guide's migration recipe (rsync) and its tar backup and restore, run as
// written on a stopped daemon, give a daemon that serves every user their messages.
func TestAdmin_GuideRecipes(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")
	d.CreateUser("bob", "bob-password")
	alice := d.NewClient()
	alice.Login("alice", "alice-password")
	for i := range 24 {
		alice.Post("c:general", fmt.Sprintf("message %d", i))
	}
	waitFor(t, "bob's copies", func() bool { return d.SQLite("users/bob.db", "SELECT COUNT(*) FROM messages;") == "24" })
	d.Stop()

	check := func(t *testing.T, dir string) {
		t.Helper()
		n := StartDaemonIn(t, dir)
		if got := n.MustCtl("users", "list"); got != "alice\nbob\n" {
			t.Errorf("users = %q", got)
		}
		b := n.NewClient()
		b.Login("bob", "bob-password")
		if got := len(b.History("c:general")); got != 24 {
			t.Errorf("bob sees %d of 24 messages on the copy", got)
		}
		for _, r := range strings.Split(strings.TrimSpace(n.MustCtl("integrity-check")), "\n") {
			if !strings.HasSuffix(r, ": ok") {
				t.Errorf("integrity-check: %s", r)
			}
		}
		n.Stop()
	}

	t.Run("migration with rsync", func(t *testing.T) {
		RequireTool(t, "rsync")
		target := t.TempDir()
		script := docBlock(t, "## Migrating to a New Server", 0)
		if !strings.Contains(script, "newserver:/srv/minimost/") {
			t.Fatalf("the migration recipe changed:\n%s", script)
		}
		script = strings.ReplaceAll(script, "cd /srv/minimost", "cd "+d.Dir)
		script = strings.ReplaceAll(script, "newserver:/srv/minimost/", target+"/")
		shellIn(t, d.Dir, script)
		if !fileExists(filepath.Join(target, "users", "alice.db")) {
			t.Fatalf("the recipe did not copy users/ as a folder")
		}
		check(t, target)
	})

	t.Run("tar backup and restore", func(t *testing.T) {
		archives := t.TempDir()
		target := t.TempDir()
		backup := strings.ReplaceAll(docBlock(t, "### Backup", 1), "/var/backups/", archives+"/")
		if !strings.Contains(backup, "tar -czf") {
			t.Fatalf("block 2 of ### Backup is not the tar backup:\n%s", backup)
		}
		shellIn(t, d.Dir, backup)
		made, _ := filepath.Glob(filepath.Join(archives, "minimost-backup-*.tar.gz"))
		if len(made) != 1 {
			t.Fatalf("tar recipe made %v", made)
		}
		restore := docBlock(t, "### Restore", 0)
		restore = strings.ReplaceAll(restore, "/var/backups/minimost-backup-20240101.tar.gz", made[0])
		restore = strings.ReplaceAll(restore, "/srv/minimost/", target+"/")
		shellIn(t, d.Dir, restore)
		check(t, target)
	})
}

// Finding 5: idle user databases keep no WAL; checkpoint says what it did; stats shows data
// and WAL apart.
func TestAdmin_NoDiskWasted(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t, "-wal-idle", "300ms")
	names := []string{"alice", "bob", "carol"}
	for _, u := range names {
		d.CreateUser(u, u+"-password")
	}
	alice := d.NewClient()
	alice.Login("alice", "alice-password")
	for i := range 30 {
		alice.Post("c:general", strings.Repeat(fmt.Sprintf("message %d ", i), 50))
	}
	walBytes := func() (total int64, files []string) {
		ws, _ := filepath.Glob(d.Path("users", "*.db-wal"))
		for _, w := range ws {
			if fi, err := os.Stat(w); err == nil && fi.Size() > 0 {
				total += fi.Size()
				files = append(files, fmt.Sprintf("%s=%d", filepath.Base(w), fi.Size()))
			}
		}
		return total, files
	}
	var files []string
	if !poll(waitTimeout, func() bool { n, f := walBytes(); files = f; return n == 0 }) {
		t.Fatalf("WAL files of idle user databases not truncated: %v", files)
	}
	var st struct {
		UserDatabases int `json:"user_databases"`
		Disk          struct {
			Users int64 `json:"users"`
		} `json:"disk"`
		WAL struct {
			Users int64 `json:"users"`
		} `json:"wal"`
	}
	if err := json.Unmarshal([]byte(d.MustCtl("stats", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.UserDatabases != 3 || st.Disk.Users <= 0 || st.WAL.Users > st.Disk.Users {
		t.Errorf("stats = %+v, want 3 user databases and WAL bytes within the total", st)
	}
	if out := d.MustCtl("stats"); !strings.Contains(out, "WAL") {
		t.Errorf("stats does not show WAL bytes:\n%s", out)
	}

	// A write makes a WAL again; checkpoint reports it shrinking to 0 bytes.
	alice.Post("c:general", "one more")
	waitFor(t, "a WAL after the write", func() bool { n, _ := walBytes(); return n > 0 })
	out := d.MustCtl("checkpoint")
	if !regexp.MustCompile(`users/alice\.db: ok \(WAL [0-9.]+ [KM]?i?B -> 0 B, \d+ frames\)`).MatchString(out) {
		t.Errorf("checkpoint = %q, want the WAL's size before and after", out)
	}
	if n, f := walBytes(); n != 0 {
		t.Errorf("after checkpoint WAL files: %v", f)
	}
}

// Finding 7: socket discovery, --version, --json everywhere, and the "off" retention explained.
func TestAdmin_CLI(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t)
	d.CreateUser("alice", "alice-password")

	ctlNoSocket := func(cwd string, env []string, args ...string) CtlResult {
		cmd := exec.Command(filepath.Join(binDir, "minimostctl"), args...)
		cmd.Dir = cwd
		cmd.Env = append(os.Environ(), env...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return CtlResult{out.String(), errb.String(), code}
	}

	t.Run("socket found in the data directory", func(t *testing.T) {
		if r := ctlNoSocket(d.Dir, nil, "users", "list"); r.Code != 0 || r.Stdout != "alice\n" {
			t.Errorf("in the data directory: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
	})
	t.Run("outside the data directory: which paths were tried", func(t *testing.T) {
		cwd := t.TempDir()
		r := ctlNoSocket(cwd, []string{"MINIMOST_SOCKET="}, "status")
		if r.Code != 1 || !strings.Contains(r.Stderr, filepath.Join(cwd, "minimost.sock")) || !strings.Contains(r.Stderr, "/run/minimost/minimost.sock") || !strings.Contains(r.Stderr, "--socket") {
			t.Errorf("exit %d, stderr %q; want the paths tried and --socket", r.Code, r.Stderr)
		}
	})
	t.Run("not a socket", func(t *testing.T) {
		r := d.Ctl("--socket", d.Path("settings.json"), "status")
		if r.Code != 1 || !strings.Contains(r.Stderr, "is not a socket") {
			t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
		}
	})

	t.Run("versions", func(t *testing.T) {
		for _, bin := range []string{"minimostctl", "minimostd"} {
			out, err := exec.Command(filepath.Join(binDir, bin), "--version").CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), bin+" ") {
				t.Errorf("%s --version: %v, %q", bin, err, out)
			}
		}
		var v map[string]string
		if err := json.Unmarshal([]byte(d.MustCtl("version", "--json")), &v); err != nil || v["daemon"] == "" || v["client"] == "" {
			t.Errorf("version --json = %v (%v)", v, err)
		}
	})

	t.Run("--json on every printing command", func(t *testing.T) {
		for _, args := range [][]string{
			{"status"}, {"version"}, {"users", "list"}, {"integrity-check"}, {"checkpoint"}, {"vacuum"}, {"stats"},
			{"cleanup", "files", "--dry-run"}, {"cleanup", "messages", "--dry-run"}, {"cleanup", "tokens"},
			{"channels", "list"}, {"channels", "add", "ops"}, {"channels", "remove", "ops"}, {"reset-password", "alice"},
			{"backup", filepath.Join(t.TempDir(), "bk")},
		} {
			out := d.MustCtl(append(args, "--json")...)
			var v any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Errorf("%v --json: not one JSON document: %v\n%s", args, err, out)
			}
		}
	})

	t.Run("--days 0 is explained", func(t *testing.T) {
		out := d.MustCtl("cleanup", "messages", "--days", "0")
		if !strings.Contains(out, "message cleanup is off") || !strings.Contains(out, "keeps every message") {
			t.Errorf("cleanup messages --days 0 = %q, want it to say cleanup is off", out)
		}
	})

	t.Run("the last channel needs --yes in a script", func(t *testing.T) {
		r := d.Ctl("channels", "remove", "general")
		if r.Code != 1 || !strings.Contains(r.Stderr, "--yes") {
			t.Errorf("removing the last channel: exit %d, stderr %q", r.Code, r.Stderr)
		}
		if got := d.MustCtl("channels", "list"); got != "general\n" {
			t.Errorf("channels = %q, want general kept", got)
		}
	})
}

// Metrics on their own loopback listener, health probes on the main one, and -check-config.
func TestAdmin_MetricsAndHealth(t *testing.T) {
	t.Parallel()
	d := StartDaemon(t, "-metrics-listen", ":0")
	m := regexp.MustCompile(`metrics serving"? url=(http://127\.0\.0\.1:\d+/metrics)`).FindStringSubmatch(d.Log.String())
	if m == nil {
		t.Fatalf("no `metrics serving url=http://127.0.0.1:…` in the log:\n%s", d.Log.String())
	}
	d.CreateUser("alice", "alice-password")
	alice := d.NewClient()
	alice.Login("alice", "alice-password")
	alice.Post("c:general", "counted")
	alice.Post("c:general", "counted too")
	bad := d.NewClient()
	if r := bad.Do("POST", "/api/login", map[string]string{"username": "alice", "password": "wrong-password"}); r.Status < 400 {
		t.Fatalf("wrong password: %d", r.Status)
	}

	scrape := func() string {
		resp, err := http.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// A socket that the client closes is counted, by why it ended, once the daemon has seen
	// it end.
	alice.MustWS().C.Close(websocket.StatusNormalClosure, "")
	var body string
	waitFor(t, `minimost_websocket_closed_total{reason="client"} 1 in /metrics`, func() bool {
		body = scrape()
		return strings.Contains(body, `minimost_websocket_closed_total{reason="client"} 1`+"\n")
	})
	value := func(series string) string {
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == series {
				return f[1]
			}
		}
		return ""
	}
	for series, want := range map[string]string{
		"minimost_messages_posted_total":        "2",
		"minimost_login_failures_total":         "1",
		"minimost_journal_commit_seconds_count": "2",
		"minimost_user_databases":               "1",
	} {
		if got := value(series); got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
	for _, s := range []string{`minimost_http_request_duration_seconds_count{code="201",method="POST",route="POST /api/conversations/{id}/messages"}`, "minimost_websocket_connections", "minimost_websocket_writers", "minimost_websocket_write_pace_seconds", "minimost_websocket_write_line", "minimost_websocket_write_stalls_total", `minimost_disk_bytes{kind="data",part="users"}`, `minimost_disk_bytes{kind="wal",part="users"}`, "minimost_user_databases_open", "minimost_user_database_opens_total", "minimost_user_database_fanout_opens_total", "go_sched_latencies_seconds_count", "process_open_fds"} {
		if !strings.Contains(body, s) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
	// Not on the chat's port.
	if r := alice.Do("GET", "/metrics", nil); r.Status == 200 && strings.Contains(string(r.Body), "minimost_") {
		t.Errorf("/metrics is served on the chat's listener")
	}

	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`} {
		r := d.NewClient().Do("GET", path, nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), want) {
			t.Errorf("GET %s = %d %s, want 200 %s", path, r.Status, r.Body, want)
		}
	}

	t.Run("check-config", func(t *testing.T) {
		dir := t.TempDir()
		out, err := exec.Command(filepath.Join(binDir, "minimostd"), "-check-config", "-data", dir).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "configuration ok") {
			t.Errorf("check-config on an empty dir: %v %s", err, out)
		}
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Errorf("check-config wrote %d files", len(es))
		}
		os.WriteFile(filepath.Join(dir, "settings.json"), []byte("{\n  \"colour\": 1\n}\n"), 0o644)
		out, err = exec.Command(filepath.Join(binDir, "minimostd"), "-check-config", "-data", dir).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "settings.json:2: unknown key \"colour\"") {
			t.Errorf("check-config on an invalid file: %v %s, want exit status 1 with file:line: reason", err, out)
		}
	})
}
