package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/minimost/minimost/pkg/admin"
	"github.com/minimost/minimost/pkg/backup"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/progress"
	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

// fakeBackend records each call as a line and returns canned values, or err when set.
type fakeBackend struct {
	mu        sync.Mutex
	calls     []string
	err       error
	integrity []admin.DBResult
	channels  []string // nil: general and random
}

func (f *fakeBackend) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.err
}

func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func intp(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

var started = time.Now().Add(-90 * time.Minute)

func (f *fakeBackend) Status(context.Context) (admin.StatusInfo, error) {
	return admin.StatusInfo{Version: "v1.2.3", Started: started, DataDir: "/srv/mm", ListenAddr: "127.0.0.1:5000", ConnectedClients: 4}, f.record("Status")
}

func (f *fakeBackend) ListUsers(context.Context) ([]admin.UserInfo, error) {
	return []admin.UserInfo{{Username: "alice", CreatedTS: 100, MessageCount: 7}, {Username: "bob", CreatedTS: 200}}, f.record("ListUsers")
}

func (f *fakeBackend) CreateUser(_ context.Context, username, password string) error {
	return f.record("CreateUser %s %s", username, password)
}

func (f *fakeBackend) DeleteUser(_ context.Context, username, mode string) error {
	return f.record("DeleteUser %s %s", username, mode)
}

func (f *fakeBackend) ResetPassword(_ context.Context, username string, expires time.Duration, baseURL string) (string, int64, error) {
	if baseURL == "" {
		baseURL = "https://127.0.0.1:5000"
	}
	return baseURL + "/reset?token=abc", 42, f.record("ResetPassword %s %s %q", username, expires, baseURL)
}

func (f *fakeBackend) CleanupFiles(_ context.Context, imageDays, fileDays *int, dryRun bool) (admin.FileCleanupReport, error) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rep := admin.FileCleanupReport{DryRun: dryRun, Removed: []admin.RemovedFile{{Name: "a.png", Size: 10, ModTime: mod, Image: true}}, Bytes: 10, ImageDays: 30, FileDays: 90}
	if imageDays != nil && *imageDays == 0 { // off, as the real cleanup reports it
		rep.ImageDays, rep.Removed, rep.Bytes = 0, nil, 0
	}
	return rep, f.record("CleanupFiles %s %s %t", intp(imageDays), intp(fileDays), dryRun)
}

func (f *fakeBackend) CleanupMessages(_ context.Context, days *int, dryRun bool) (admin.MessageCleanupReport, error) {
	if days != nil && *days == 0 { // off, as the real cleanup reports it
		return admin.MessageCleanupReport{DryRun: dryRun, PerUser: map[string]int64{}}, f.record("CleanupMessages 0 %t", dryRun)
	}
	return admin.MessageCleanupReport{DryRun: dryRun, Days: 365, PerUser: map[string]int64{"bob": 1, "alice": 3}, Total: 4},
		f.record("CleanupMessages %s %t", intp(days), dryRun)
}

func (f *fakeBackend) CleanupTokens(context.Context) (int64, error) {
	return 5, f.record("CleanupTokens")
}

func (f *fakeBackend) IntegrityCheck(context.Context) ([]admin.DBResult, error) {
	return f.integrity, f.record("IntegrityCheck")
}

func (f *fakeBackend) Backup(ctx context.Context, dir, since string) (admin.BackupReport, error) {
	pr := progress.Start(ctx, "databases", 2)
	pr.Add("auth.db", 50)
	pr.Add("presence.db", 49)
	if since != "" {
		return admin.BackupReport{Dir: dir, Databases: []string{"auth.db", "presence.db"}, Files: 2, Bytes: 99, Linked: 3, LinkedBytes: 80}, f.record("Backup %s since %s", dir, since)
	}
	return admin.BackupReport{Dir: dir, Databases: []string{"auth.db", "presence.db"}, Files: 2, Bytes: 99}, f.record("Backup %s", dir)
}

func (f *fakeBackend) VerifyBackup(_ context.Context, dir string) (admin.BackupVerifyReport, error) {
	rep := admin.BackupVerifyReport{Results: okResults("auth.db")}
	rep.Manifest.Version, rep.Manifest.Users, rep.Manifest.Messages = "v1.2.3", 2, 10
	rep.Manifest.Files = make([]backup.ManifestFile, 3)
	if strings.HasSuffix(dir, "bad") {
		rep.Problems = []string{"users/bob.db: missing"}
	}
	return rep, f.record("VerifyBackup %s", dir)
}

func okResults(paths ...string) []admin.DBResult {
	var rs []admin.DBResult
	for _, p := range paths {
		rs = append(rs, admin.DBResult{Path: p, OK: true, Detail: "ok"})
	}
	return rs
}

func (f *fakeBackend) Checkpoint(_ context.Context, users []string) ([]admin.DBResult, error) {
	return okResults("users/alice.db"), f.record("Checkpoint %v", users)
}

func (f *fakeBackend) Vacuum(_ context.Context, users []string) ([]admin.DBResult, error) {
	return okResults("auth.db", "presence.db"), f.record("Vacuum %v", users)
}

func (f *fakeBackend) Stats(context.Context) (admin.Stats, error) {
	return admin.Stats{Users: 2, MessagesPerUser: map[string]int64{"alice": 7, "bob": 0}, DiskUsers: 1000, DiskUploads: 2000, DiskAvatars: 3, DiskAuthDB: 4, DiskPresenceDB: 5}, f.record("Stats")
}

func (f *fakeBackend) ListChannels(context.Context) ([]string, error) {
	if f.channels != nil {
		return f.channels, f.record("ListChannels")
	}
	return []string{"general", "random"}, f.record("ListChannels")
}

func (f *fakeBackend) AddChannel(_ context.Context, name string) error {
	return f.record("AddChannel %s", name)
}

func (f *fakeBackend) RemoveChannel(_ context.Context, name string) error {
	return f.record("RemoveChannel %s", name)
}

// mustServe starts a real admin server with a fake Backend on a socket in a temp dir.
func mustServe(tb testing.TB) (*fakeBackend, string) {
	tb.Helper()
	fb := &fakeBackend{integrity: okResults("auth.db", "presence.db", "users/alice.db")}
	path := filepath.Join(tb.TempDir(), "minimost.sock")
	logger := slog.New(slog.DiscardHandler)
	l, err := admin.ListenLogger(path, logger)
	if err != nil {
		tb.Fatal(err)
	}
	g := grpc.NewServer()
	admin.NewServer(fb, logger).Register(g)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Serve(l)
	}()
	tb.Cleanup(func() {
		g.Stop()
		<-done
	})
	return fb, path
}

type result struct {
	stdout, stderr string
	code           int
}

func run(tb testing.TB, stdin string, args ...string) result {
	tb.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := Run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

func TestRun_Commands(t *testing.T) {
	fb, sock := mustServe(t)
	tests := []struct {
		name      string
		args      []string
		stdin     string
		wantOut   string // exact, unless wantIn is set
		wantIn    []string
		wantCode  int
		wantErr   string
		wantCalls []string
	}{
		{name: "reset-password", args: []string{"reset-password", "alice"},
			wantOut: "https://127.0.0.1:5000/reset?token=abc\n", wantCalls: []string{`ResetPassword alice 1h0m0s "https://127.0.0.1:5000"`}},
		{name: "reset-password flags", args: []string{"reset-password", "alice", "--expires", "5", "--base-url", "https://chat.example"},
			wantOut: "https://chat.example/reset?token=abc\n", wantCalls: []string{`ResetPassword alice 5m0s "https://chat.example"`}},
		{name: "reset-password zero expiry", args: []string{"reset-password", "alice", "--expires", "0"},
			wantCode: 1, wantErr: "minimostctl: --expires must be at least 1 minute\n"},
		{name: "cleanup files defaults", args: []string{"cleanup", "files"},
			wantOut:   "removed a.png\t10\t" + time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Local().Format(time.RFC3339) + "\nremoved 1 files, 10 bytes (images older than 30 days, other files older than 90 days)\n",
			wantCalls: []string{"CleanupFiles nil nil false"}},
		{name: "cleanup files dry run", args: []string{"cleanup", "files", "--image-days", "3", "--file-days", "0", "--dry-run"},
			wantIn: []string{"would remove a.png", "would remove 1 files"}, wantCalls: []string{"CleanupFiles 3 0 true"}},
		{name: "cleanup messages", args: []string{"cleanup", "messages", "--days", "10", "--dry-run"},
			wantOut: "alice: 3\nbob: 1\nwould remove 4 messages older than 365 days\n", wantCalls: []string{"CleanupMessages 10 true"}},
		{name: "cleanup tokens", args: []string{"cleanup", "tokens"},
			wantOut: "removed 5 tokens\n", wantCalls: []string{"CleanupTokens"}},
		{name: "users list", args: []string{"users", "list"},
			wantOut: "alice\nbob\n", wantCalls: []string{"ListUsers"}},
		{name: "users create password-stdin", args: []string{"users", "create", "carol", "--password-stdin"}, stdin: "correct horse \n",
			wantOut: "created carol\n", wantCalls: []string{"CreateUser carol correct horse "}},
		{name: "users create non-tty stdin", args: []string{"users", "create", "carol"}, stdin: "secret123",
			wantOut: "created carol\n", wantCalls: []string{"CreateUser carol secret123"}},
		{name: "users create empty password", args: []string{"users", "create", "carol", "--password-stdin"}, stdin: "\n",
			wantCode: 1, wantErr: "minimostctl: empty password; nothing created\n"},
		{name: "users create no stdin", args: []string{"users", "create", "carol"},
			wantCode: 1, wantErr: "minimostctl: empty password; nothing created\n"},
		{name: "users delete yes", args: []string{"users", "delete", "bob", "--mode", "hard", "--yes"},
			wantOut: "deleted bob (hard)\n", wantCalls: []string{"DeleteUser bob hard"}},
		{name: "users delete soft", args: []string{"users", "delete", "bob", "--mode=soft", "-y"},
			wantOut: "deleted bob (soft)\n", wantCalls: []string{"DeleteUser bob soft"}},
		{name: "users delete needs confirmation", args: []string{"users", "delete", "bob", "--mode", "hard"}, stdin: "bob\n",
			wantCode: 1, wantErr: "minimostctl: refusing to delete bob without confirmation: stdin is not a terminal; pass --yes\n"},
		{name: "integrity-check", args: []string{"integrity-check"},
			wantOut: "auth.db: ok\npresence.db: ok\nusers/alice.db: ok\n", wantCalls: []string{"IntegrityCheck"}},
		{name: "checkpoint users", args: []string{"checkpoint", "alice", "bob"},
			wantOut: "users/alice.db: ok\n", wantCalls: []string{"Checkpoint [alice bob]"}},
		{name: "vacuum all", args: []string{"vacuum"},
			wantOut: "auth.db: ok\npresence.db: ok\n", wantCalls: []string{"Vacuum []"}},
		{name: "backup absolute", args: []string{"backup", "/var/backups/mm"},
			wantOut: "backed up 2 databases and 2 files (99 bytes) to /var/backups/mm\n", wantErr: "backup: databases 2/2 (100%), 99 B\n",
			wantCalls: []string{"Backup /var/backups/mm"}},
		{name: "backup since", args: []string{"--no-progress", "backup", "/var/backups/mm2", "--since", "/var/backups/mm"},
			wantIn: []string{"incremental: 3 unchanged files (80 bytes) hard-linked from /var/backups/mm\n"}, wantCalls: []string{"Backup /var/backups/mm2 since /var/backups/mm"}},
		{name: "stats", args: []string{"stats"},
			wantIn: []string{"users: 2\n", "alice", "7\n", "uploads/", "2000", "WAL"}, wantCalls: []string{"Stats"}},
		{name: "channels list", args: []string{"channels", "list"},
			wantOut: "general\nrandom\n", wantCalls: []string{"ListChannels"}},
		{name: "channels add", args: []string{"channels", "add", "ops"},
			wantOut: "added channel ops\n", wantCalls: []string{"AddChannel ops"}},
		{name: "channels remove", args: []string{"channels", "remove", "ops"},
			wantOut: "removed channel ops\n", wantCalls: []string{"ListChannels", "RemoveChannel ops"}},
		{name: "channels remove yes", args: []string{"channels", "remove", "ops", "--yes"},
			wantOut: "removed channel ops\n", wantCalls: []string{"RemoveChannel ops"}},
		{name: "cleanup messages days 0 explained", args: []string{"cleanup", "messages", "--days", "0"},
			wantIn: []string{"note: message cleanup is off (--days 0): a retention of 0 days keeps every message"}, wantCalls: []string{"CleanupMessages 0 false"}},
		{name: "cleanup files days 0 explained", args: []string{"cleanup", "files", "--image-days", "0"},
			wantIn: []string{"note: a retention of 0 days turns cleanup off: images are kept"}, wantCalls: []string{"CleanupFiles 0 nil false"}},
		{name: "backup verify", args: []string{"backup", "--verify", "/var/backups/mm"},
			wantIn: []string{"minimostd v1.2.3; 2 users, 10 messages, 3 files", "auth.db: ok\n", "ok: every file matches"}, wantCalls: []string{"VerifyBackup /var/backups/mm"}},
		{name: "backup verify bad", args: []string{"backup", "--verify", "/var/backups/bad"}, wantCode: 1,
			wantIn: []string{"users/bob.db: missing\n"}, wantErr: "minimostctl: backup /var/backups/bad does not verify: 1 problems\n", wantCalls: []string{"VerifyBackup /var/backups/bad"}},
		{name: "status", args: []string{"status"},
			wantIn: []string{"version:       v1.2.3\n", "uptime:        1h30m", "data dir:      /srv/mm\n", "clients:       4\n", "next cleanup:  not scheduled\n"}, wantCalls: []string{"Status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fb.Calls())
			r := run(t, tt.stdin, append([]string{"--socket", sock}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit = %d, want %d; stderr: %s", r.code, tt.wantCode, r.stderr)
			}
			if r.stderr != tt.wantErr {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.wantErr)
			}
			if tt.wantIn == nil && r.stdout != tt.wantOut {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.wantOut)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout = %q, want it to contain %q", r.stdout, s)
				}
			}
			got := fb.Calls()[before:]
			if fmt.Sprint(got) != fmt.Sprint(tt.wantCalls) {
				t.Errorf("backend calls = %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestRun_BackupRelativeDir(t *testing.T) {
	fb, sock := mustServe(t)
	dir := t.TempDir()
	t.Chdir(dir)
	r := run(t, "", "--socket", sock, "backup", "bk")
	if r.code != 0 {
		t.Fatalf("exit = %d; stderr: %s", r.code, r.stderr)
	}
	if got, want := fb.Calls(), []string{"Backup " + filepath.Join(dir, "bk")}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

func TestRun_IntegrityFailure(t *testing.T) {
	fb, sock := mustServe(t)
	fb.integrity = []admin.DBResult{{Path: "auth.db", OK: true, Detail: "ok"}, {Path: "users/bob.db", Detail: "*** in database main ***\nPage 3: btree"}}
	r := run(t, "", "--socket", sock, "integrity-check")
	if r.code != 1 {
		t.Errorf("exit = %d, want 1", r.code)
	}
	if want := "auth.db: ok\nusers/bob.db: *** in database main ***\nPage 3: btree\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	if want := "minimostctl: integrity check failed for 1 of 2 databases\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}

func TestRun_JSON(t *testing.T) {
	_, sock := mustServe(t)
	tests := []struct {
		args []string
		into any
		want string // fmt %v of the decoded value, "" to skip
	}{
		{[]string{"users", "list", "--json"}, &[]map[string]any{}, "&[map[created_ts:100 messages:7 username:alice] map[created_ts:200 messages:0 username:bob]]"},
		{[]string{"channels", "list", "--json"}, &[]string{}, "&[general random]"},
		{[]string{"stats", "--json"}, &map[string]any{}, "&map[disk:map[auth_db:4 avatars:3 presence_db:5 uploads:2000 users:1000] messages_per_user:map[alice:7 bob:0] user_databases:0 users:2 wal:map[auth_db:0 files:0 presence_db:0 users:0]]"},
		{[]string{"status", "--json"}, &statusJSON{}, ""},
		// --json is global: before the command too, and on every command that prints.
		{[]string{"--json", "users", "list"}, &[]map[string]any{}, "&[map[created_ts:100 messages:7 username:alice] map[created_ts:200 messages:0 username:bob]]"},
		{[]string{"integrity-check", "--json"}, &map[string]any{}, "&map[failed:0 results:[map[detail:ok ok:true path:auth.db] map[detail:ok ok:true path:presence.db] map[detail:ok ok:true path:users/alice.db]]]"},
		{[]string{"checkpoint", "--json"}, &map[string]any{}, "&map[failed:0 results:[map[detail:ok ok:true path:users/alice.db]]]"},
		{[]string{"vacuum", "--json"}, &map[string]any{}, ""},
		{[]string{"cleanup", "files", "--dry-run", "--json"}, &map[string]any{}, ""},
		{[]string{"cleanup", "messages", "--days", "0", "--json"}, &map[string]any{}, "&map[days:0 dry_run:false off:true per_user:map[] total:0]"},
		{[]string{"cleanup", "tokens", "--json"}, &map[string]any{}, "&map[removed:5]"},
		{[]string{"reset-password", "alice", "--json"}, &map[string]any{}, ""},
		{[]string{"users", "create", "carol", "--json"}, &map[string]any{}, "&map[action:created username:carol]"},
		{[]string{"users", "delete", "carol", "--mode", "soft", "--yes", "--json"}, &map[string]any{}, "&map[action:deleted mode:soft username:carol]"},
		{[]string{"channels", "add", "ops", "--json"}, &map[string]any{}, "&map[action:added channel:ops]"},
		{[]string{"channels", "remove", "ops", "--yes", "--json"}, &map[string]any{}, "&map[action:removed channel:ops]"},
		{[]string{"backup", "/var/backups/mm", "--json"}, &map[string]any{}, ""},
		{[]string{"backup", "--verify", "/var/backups/mm", "--json"}, &map[string]any{}, ""},
		{[]string{"version", "--json"}, &map[string]any{}, "&map[client:dev daemon:v1.2.3]"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := run(t, "secret123\n", append([]string{"--socket", sock}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit = %d; stderr: %s", r.code, r.stderr)
			}
			if err := json.Unmarshal([]byte(r.stdout), tt.into); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
			}
			if tt.want != "" {
				if got := fmt.Sprint(tt.into); got != tt.want {
					t.Errorf("decoded = %s, want %s", got, tt.want)
				}
			}
			if st, ok := tt.into.(*statusJSON); ok {
				if st.Version != "v1.2.3" || st.UptimeSeconds < 90*60 || st.StartedTS != started.Unix() {
					t.Errorf("status = %+v", st)
				}
			}
		})
	}
}

func TestRun_ServerErrors(t *testing.T) {
	fb, sock := mustServe(t)
	tests := []struct {
		err     error
		args    []string
		wantErr string
	}{
		{chat.Errorf(chat.ENotFound, "no such user %q", "zed"), []string{"reset-password", "zed"}, `minimostctl: no such user "zed"` + "\n"},
		{chat.Errorf(chat.EConflict, "backup directory is not empty"), []string{"--no-progress", "backup", "/x"}, "minimostctl: backup directory is not empty\n"},
		{chat.Errorf(chat.EUnavailable, "shutting down"), []string{"users", "list"}, "minimostctl: shutting down\n"},
		{errors.New("open /secret: boom"), []string{"stats"}, "minimostctl: internal error (details are in the minimostd log)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.wantErr, func(t *testing.T) {
			fb.err = tt.err
			r := run(t, "", append([]string{"--socket", sock}, tt.args...)...)
			if r.code != 1 {
				t.Errorf("exit = %d, want 1", r.code)
			}
			if r.stderr != tt.wantErr {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.wantErr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestRun_Usage(t *testing.T) {
	_, sock := mustServe(t)
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"users"},
		{"users", "delete", "bob"},
		{"users", "delete", "bob", "--mode", "medium", "--yes"},
		{"cleanup", "files", "--image-days", "many"},
		{"backup"},
		{"status", "--nope"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := run(t, "", append([]string{"--socket", sock}, args...)...)
			if r.code != 2 {
				t.Errorf("exit = %d, want 2", r.code)
			}
			if !strings.HasPrefix(r.stderr, "minimostctl: ") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line starting with minimostctl: ", r.stderr)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		r := run(t, "", "users", "delete", "--help")
		if r.code != 0 {
			t.Errorf("exit = %d, want 0", r.code)
		}
		if !strings.Contains(r.stdout, "--mode=soft|hard") {
			t.Errorf("help = %q, want it to show --mode", r.stdout)
		}
	})
}

func TestRun_Unreachable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")

	stale := filepath.Join(dir, "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()

	for _, sock := range []string{missing, stale} {
		t.Run(filepath.Base(sock), func(t *testing.T) {
			r := run(t, "", "--socket", sock, "status")
			if r.code != 1 {
				t.Errorf("exit = %d, want 1", r.code)
			}
			if want := "minimostctl: cannot reach minimostd at " + sock + ": is it running?\n"; r.stderr != want {
				t.Errorf("stderr = %q, want %q", r.stderr, want)
			}
		})
	}

	t.Run("relative socket from env", func(t *testing.T) {
		t.Chdir(dir)
		t.Setenv("MINIMOST_SOCKET", "missing.sock")
		r := run(t, "", "users", "list")
		if want := "minimostctl: cannot reach minimostd at " + missing + ": is it running?\n"; r.stderr != want {
			t.Errorf("stderr = %q, want %q", r.stderr, want)
		}
	})
}

func TestRun_SocketFromEnv(t *testing.T) {
	_, sock := mustServe(t)
	t.Setenv("MINIMOST_SOCKET", sock)
	r := run(t, "", "channels", "list")
	if r.code != 0 || r.stdout != "general\nrandom\n" {
		t.Errorf("exit = %d, stdout = %q, stderr = %q", r.code, r.stdout, r.stderr)
	}
}

// TestDependencies keeps minimostctl a thin client: it must never link the database.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps returned too little: %q", out)
	}
	for _, dep := range deps {
		for _, banned := range []string{"modernc.org/sqlite", "github.com/minimost/minimost/pkg/store"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("minimostctl depends on %s", dep)
			}
		}
	}
	if !strings.Contains(string(out), "google.golang.org/grpc\n") {
		t.Errorf("go list output does not look like a dependency list:\n%s", out)
	}
}

func TestMain(m *testing.M) {
	// Commands must not depend on the environment the tests happen to run in.
	os.Unsetenv("MINIMOST_SOCKET")
	os.Exit(m.Run())
}

func TestRun_SocketDiscovery(t *testing.T) {
	t.Run("none found: the paths tried and how to point at one", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		r := run(t, "", "status")
		if r.code != 1 {
			t.Errorf("exit = %d, want 1", r.code)
		}
		for _, want := range []string{"cannot find minimostd's admin socket; tried:", filepath.Join(dir, "minimost.sock") + ": does not exist", SystemSocket, "--socket PATH", "MINIMOST_SOCKET"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr = %q, want it to mention %q", r.stderr, want)
			}
		}
	})
	t.Run("found in the current directory", func(t *testing.T) {
		_, sock := mustServe(t)
		t.Chdir(filepath.Dir(sock))
		if r := run(t, "", "channels", "list"); r.code != 0 || r.stdout != "general\nrandom\n" {
			t.Errorf("exit = %d, stdout %q, stderr %q; want the channels", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("not a socket", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "minimost.sock")
		os.WriteFile(file, []byte("x"), 0o600)
		for _, args := range [][]string{{"--socket", file, "status"}, {"status"}} {
			t.Chdir(dir)
			r := run(t, "", args...)
			if want := "minimostctl: " + file + " is not a socket"; r.code != 1 || !strings.HasPrefix(r.stderr, want) {
				t.Errorf("%v: exit %d, stderr %q; want 1 and %q", args, r.code, r.stderr, want)
			}
		}
	})
	t.Run("stale socket found by discovery says what to do", func(t *testing.T) {
		dir := t.TempDir()
		stale := filepath.Join(dir, "minimost.sock")
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		l.SetUnlinkOnClose(false)
		l.Close()
		t.Chdir(dir)
		r := run(t, "", "status")
		if want := "minimostctl: cannot reach minimostd at " + stale + ": is it running?"; r.code != 1 || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "--socket") {
			t.Errorf("exit %d, stderr %q; want 1, %q and a hint of --socket", r.code, r.stderr, want)
		}
	})
}

func TestRun_Version(t *testing.T) {
	r := run(t, "", "--version")
	if r.code != 0 || r.stdout != "minimostctl "+Version+"\n" {
		t.Errorf("--version: exit %d, stdout %q", r.code, r.stdout)
	}
	_, sock := mustServe(t)
	r = run(t, "", "--socket", sock, "version")
	if r.code != 0 || !strings.Contains(r.stdout, "minimostctl "+Version+"\n") || !strings.Contains(r.stdout, "minimostd   v1.2.3") {
		t.Errorf("version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// The client's version is an answer even without a daemon.
	r = run(t, "", "--socket", filepath.Join(t.TempDir(), "none.sock"), "version")
	if r.code != 0 || !strings.Contains(r.stdout, "minimostd   unknown (cannot reach minimostd") {
		t.Errorf("version without daemon: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestRun_ChannelsRemoveLast(t *testing.T) {
	fb, sock := mustServe(t)
	// The fake lists general and random; removing "general" is not the last, so a script may.
	// A fake that lists one channel needs --yes.
	fb.channels = []string{"general"}
	r := run(t, "", "--socket", sock, "channels", "remove", "general")
	if r.code != 1 || !strings.Contains(r.stderr, "last public channel") || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("removing the last channel from a script: exit %d, stderr %q; want 1, naming --yes", r.code, r.stderr)
	}
	if calls := fb.Calls(); slices.Contains(calls, "RemoveChannel general") {
		t.Errorf("calls = %q: the channel was removed without confirmation", calls)
	}
	if r := run(t, "", "--socket", sock, "channels", "remove", "general", "--yes"); r.code != 0 {
		t.Errorf("with --yes: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestRenderBar(t *testing.T) {
	tests := []struct {
		pr    *adminv1.Progress
		width int
		want  string
	}{
		{&adminv1.Progress{Phase: "databases", Done: 0, Total: 4}, 80, "backup databases [....................] 0/4  0 B"},
		{&adminv1.Progress{Phase: "databases", Done: 1, Total: 4, Bytes: 2048, Current: "users/alice.db"}, 80,
			"backup databases [#####...............] 1/4  2.0 KiB  users/alice.db"},
		{&adminv1.Progress{Phase: "databases", Done: 4, Total: 4, Bytes: 5 << 20}, 80, "backup databases [####################] 4/4  5.0 MiB"},
		{&adminv1.Progress{Phase: "files", Done: 7, Bytes: 100, Current: "uploads/a.png"}, 80, "backup files 7  100 B  uploads/a.png"},
		{&adminv1.Progress{Phase: "databases", Done: 1, Total: 4, Current: "users/alice.db"}, 30, "backup databases [#####......"},
	}
	for _, tt := range tests {
		if got := renderBar("backup", tt.pr, tt.width); got != tt.want {
			t.Errorf("renderBar(%v, %d) = %q, want %q", tt.pr, tt.width, got, tt.want)
		}
	}
}

// TestProgressOut_Plain: off a terminal, a phase prints a line per tenth, not per database,
// and its last state before the next phase.
func TestProgressOut_Plain(t *testing.T) {
	var b bytes.Buffer
	p := &progressOut{w: &b, op: "backup", width: 80, now: time.Now}
	for i := 0; i <= 100; i++ {
		p.update(&adminv1.Progress{Phase: "databases", Done: int32(i), Total: 100})
	}
	p.update(&adminv1.Progress{Phase: "files", Done: 0})
	p.update(&adminv1.Progress{Phase: "files", Done: 1, Bytes: 10})
	p.update(&adminv1.Progress{Phase: "files", Done: 2, Bytes: 20})
	p.finish()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 11+2 {
		t.Errorf("%d lines, want 11 for databases (0%%…100%%) and 2 for files:\n%s", len(lines), b.String())
	}
	if lines[10] != "backup: databases 100/100 (100%), 0 B" || lines[12] != "backup: files 2, 20 B" {
		t.Errorf("lines:\n%s", b.String())
	}
}

// TestRun_Completion: the scripts are made without a daemon and list the subcommands; the
// bash one, sourced in bash, completes commands, subcommands and flags.
func TestRun_Completion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := run(t, "", "--socket", "/nonexistent", "completion", sh)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("completion %s: exit %d, stderr %q", sh, r.code, r.stderr)
		}
		for _, want := range []string{"backup", "integrity-check", "cleanup messages", "--since", "--json"} {
			if !strings.Contains(r.stdout, strings.TrimPrefix(want, "--")) {
				t.Errorf("completion %s does not mention %q", sh, want)
			}
		}
	}
	if r := run(t, "", "completion", "tcsh"); r.code != exitUsage {
		t.Errorf("completion tcsh: exit %d, want %d", r.code, exitUsage)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		return // the script's text is checked above; running it needs bash
	}
	script := filepath.Join(t.TempDir(), "minimostctl.bash")
	if err := os.WriteFile(script, []byte(run(t, "", "completion", "bash").stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line string // the command line; the last word is being completed
		want string
	}{
		{"minimostctl us", "users"},
		{"minimostctl users ", "list create delete"},
		{"minimostctl --json cleanup m", "messages"},
		{"minimostctl backup --s", "--socket --since"},
		{"minimostctl completion ", "bash zsh fish"},
		{"minimostctl users delete --y", "--yes"},
	} {
		words := strings.Split(tc.line, " ")
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, fmt.Sprintf("%q", w))
		}
		sh := fmt.Sprintf(`source %q; COMP_WORDS=(%s); COMP_CWORD=%d; _minimostctl; echo "${COMPREPLY[*]}"`,
			script, strings.Join(quoted, " "), len(words)-1)
		out, err := exec.Command(bash, "-c", sh).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("complete %q = %q, want %q", tc.line, got, tc.want)
		}
	}
}
