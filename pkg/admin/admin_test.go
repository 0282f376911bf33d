package admin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/minimost/minimost/pkg/admin"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/progress"
	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

// helperEnv selects the child-process mode of the test binary (see TestMain).
const helperEnv = "MINIMOST_ADMIN_TEST_DIAL"

// TestMain lets the test binary double as a client run under another uid: with helperEnv
// set to a socket path it calls Status there and exits 0 on success, 1 on failure.
func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(dialHelper(path))
	}
	os.Exit(m.Run())
}

func dialHelper(path string) int {
	conn, err := grpc.NewClient("unix:"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println("new client:", err)
		return 1
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = adminv1.NewAdminServiceClient(conn).Status(ctx, &adminv1.StatusRequest{})
	if err != nil {
		fmt.Printf("uid %d: status: %v\n", os.Getuid(), err)
		return 1
	}
	fmt.Printf("uid %d: status ok\n", os.Getuid())
	return 0
}

// fakeBackend records calls and returns canned values, or err when it is set.
type fakeBackend struct {
	mu    sync.Mutex
	calls []string
	err   error
	// backup, if set, runs inside Backup with its context (to block, or watch cancellation).
	backup func(ctx context.Context) error
}

func (f *fakeBackend) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.err
}

func (f *fakeBackend) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

var started = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func (f *fakeBackend) Status(ctx context.Context) (admin.StatusInfo, error) {
	return admin.StatusInfo{Version: "v1.2.3", Started: started, DataDir: "/srv/mm", ListenAddr: "127.0.0.1:5000", ConnectedClients: 4}, f.record("Status")
}

func (f *fakeBackend) ListUsers(ctx context.Context) ([]admin.UserInfo, error) {
	return []admin.UserInfo{{Username: "alice", CreatedTS: 100, MessageCount: 7}}, f.record("ListUsers")
}

func (f *fakeBackend) CreateUser(ctx context.Context, username, password string) error {
	return f.record("CreateUser %s %s", username, password)
}

func (f *fakeBackend) DeleteUser(ctx context.Context, username, mode string) error {
	return f.record("DeleteUser %s %s", username, mode)
}

func (f *fakeBackend) ResetPassword(ctx context.Context, username string, expires time.Duration, baseURL string) (string, int64, error) {
	return baseURL + "/reset?token=abc", 42, f.record("ResetPassword %s %s %q", username, expires, baseURL)
}

func intp(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func (f *fakeBackend) CleanupFiles(ctx context.Context, imageDays, fileDays *int, dryRun bool) (admin.FileCleanupReport, error) {
	return admin.FileCleanupReport{DryRun: dryRun, Removed: []admin.RemovedFile{{Name: "a.png", Size: 10, ModTime: started, Image: true}}, Bytes: 10, ImageDays: 30, FileDays: 90},
		f.record("CleanupFiles %s %s %t", intp(imageDays), intp(fileDays), dryRun)
}

func (f *fakeBackend) CleanupMessages(ctx context.Context, days *int, dryRun bool) (admin.MessageCleanupReport, error) {
	return admin.MessageCleanupReport{DryRun: dryRun, Days: 365, PerUser: map[string]int64{"alice": 3}, Total: 3},
		f.record("CleanupMessages %s %t", intp(days), dryRun)
}

func (f *fakeBackend) CleanupTokens(ctx context.Context) (int64, error) {
	return 5, f.record("CleanupTokens")
}

func (f *fakeBackend) IntegrityCheck(ctx context.Context) ([]admin.DBResult, error) {
	return []admin.DBResult{{Path: "auth.db", OK: true, Detail: "ok"}}, f.record("IntegrityCheck")
}

func (f *fakeBackend) Backup(ctx context.Context, dir, since string) (admin.BackupReport, error) {
	if f.backup != nil {
		if err := f.backup(ctx); err != nil {
			return admin.BackupReport{}, err
		}
	}
	pr := progress.Start(ctx, "databases", 2)
	pr.Add("auth.db", 40)
	pr.Add("presence.db", 59)
	pr = progress.Start(ctx, "files", 0)
	pr.Add("secret.key", 1)
	if since != "" {
		return admin.BackupReport{Dir: dir, Databases: []string{"auth.db"}, Linked: 1}, f.record("Backup %s since %s", dir, since)
	}
	return admin.BackupReport{Dir: dir, Databases: []string{"auth.db"}, Files: 2, Bytes: 99}, f.record("Backup %s", dir)
}

func (f *fakeBackend) VerifyBackup(ctx context.Context, dir string) (admin.BackupVerifyReport, error) {
	rep := admin.BackupVerifyReport{Problems: []string{"users/bob.db: missing"}, Results: []admin.DBResult{{Path: "auth.db", OK: true, Detail: "ok"}}}
	rep.Manifest.Version = "v1.2.3"
	return rep, f.record("VerifyBackup %s", dir)
}

func (f *fakeBackend) Checkpoint(ctx context.Context, users []string) ([]admin.DBResult, error) {
	return nil, f.record("Checkpoint %v", users)
}

func (f *fakeBackend) Vacuum(ctx context.Context, users []string) ([]admin.DBResult, error) {
	return nil, f.record("Vacuum %v", users)
}

func (f *fakeBackend) Stats(ctx context.Context) (admin.Stats, error) {
	return admin.Stats{Users: 1, MessagesPerUser: map[string]int64{"alice": 7}, DiskUsers: 1}, f.record("Stats")
}

func (f *fakeBackend) ListChannels(ctx context.Context) ([]string, error) {
	return []string{"general"}, f.record("ListChannels")
}

func (f *fakeBackend) AddChannel(ctx context.Context, name string) error {
	return f.record("AddChannel %s", name)
}

func (f *fakeBackend) RemoveChannel(ctx context.Context, name string) error {
	return f.record("RemoveChannel %s", name)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	path    string
	backend *fakeBackend
	log     *syncBuffer
	client  adminv1.AdminServiceClient
	conn    *grpc.ClientConn
}

// mustServe starts a real gRPC server with a fake Backend on a socket in dir.
func mustServe(tb testing.TB, dir string) *testServer {
	tb.Helper()
	ts := &testServer{path: filepath.Join(dir, "admin.sock"), backend: &fakeBackend{}, log: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(ts.log, nil))
	l, err := admin.ListenLogger(ts.path, logger)
	if err != nil {
		tb.Fatalf("ListenLogger: %v", err)
	}
	g := grpc.NewServer()
	admin.NewServer(ts.backend, logger).Register(g)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Serve(l)
	}()
	tb.Cleanup(func() {
		g.Stop()
		<-done
	})
	ts.conn = mustDial(tb, ts.path)
	ts.client = adminv1.NewAdminServiceClient(ts.conn)
	return ts
}

func mustDial(tb testing.TB, path string) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient("unix:"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("grpc.NewClient: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func TestListen(t *testing.T) {
	t.Run("mode 0600", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin.sock")
		l, err := admin.Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Type(), os.ModeSocket; got != want {
			t.Errorf("type = %v, want %v", got, want)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("mode = %v, want %v", got, want)
		}
	})

	t.Run("close removes socket", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin.sock")
		l, err := admin.Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Close, Lstat = %v, want not exist", err)
		}
	})

	t.Run("stale socket of a closed listener is replaced", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin.sock")
		old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		old.SetUnlinkOnClose(false) // as if the daemon had been killed
		old.Close()
		if _, err := os.Lstat(path); err != nil {
			t.Fatalf("stale socket missing: %v", err)
		}
		ts := mustServeAt(t, path)
		if _, err := ts.client.Status(testContext(t), &adminv1.StatusRequest{}); err != nil {
			t.Errorf("Status on replaced socket: %v", err)
		}
	})

	t.Run("leftover bound socket file is replaced", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin.sock")
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
			t.Fatal(err)
		}
		syscall.Close(fd) // bound, never listened: connect gets ECONNREFUSED
		l, err := admin.Listen(path)
		if err != nil {
			t.Fatalf("Listen over leftover socket: %v", err)
		}
		l.Close()
	})

	t.Run("live socket is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin.sock")
		l, err := admin.Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			// Keep accepting so that the second Listen's probe is answered.
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		l2, err := admin.Listen(path)
		if err == nil {
			l2.Close()
			t.Fatal("second Listen succeeded, want error")
		}
		if got, want := err.Error(), "another minimostd is already serving on "+path; got != want {
			t.Errorf("err = %q, want %q", got, want)
		}
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("live socket was removed: %v", err)
		}
	})

	t.Run("non-socket is not replaced", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin.sock")
		if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := admin.Listen(path)
		if err == nil {
			l.Close()
			t.Fatal("Listen over a regular file succeeded, want error")
		}
		if !strings.Contains(err.Error(), "not a socket") {
			t.Errorf("err = %q, want it to say not a socket", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "keep me" {
			t.Errorf("file content = %q, want it untouched", b)
		}
	})
}

func mustServeAt(tb testing.TB, path string) *testServer {
	tb.Helper()
	ts := mustServe(tb, filepath.Dir(path))
	if ts.path != path {
		tb.Fatalf("served at %s, want %s", ts.path, path)
	}
	return ts
}

func TestServer_Health(t *testing.T) {
	ts := mustServe(t, t.TempDir())
	hc := healthpb.NewHealthClient(ts.conn)
	for _, svc := range []string{"", "minimost.admin.v1.AdminService"} {
		resp, err := hc.Check(testContext(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("Check(%q): %v", svc, err)
		}
		if got, want := resp.GetStatus(), healthpb.HealthCheckResponse_SERVING; got != want {
			t.Errorf("Check(%q) = %v, want %v", svc, got, want)
		}
	}
}

func TestServer_Reflection(t *testing.T) {
	ts := mustServe(t, t.TempDir())
	stream, err := reflectionpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	for _, want := range []string{"minimost.admin.v1.AdminService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("services = %v, want %s among them", got, want)
		}
	}
}

func TestServer_Calls(t *testing.T) {
	ts := mustServe(t, t.TempDir())
	ctx := testContext(t)
	c := ts.client
	i32 := func(v int32) *int32 { return &v }

	tests := []struct {
		name string
		call func() error
		want string // the Backend call recorded
	}{
		{"status", func() error {
			resp, err := c.Status(ctx, &adminv1.StatusRequest{})
			if err == nil && (resp.GetStartedTs() != started.Unix() || resp.GetNextCleanupTs() != 0 || resp.GetConnectedClients() != 4) {
				err = fmt.Errorf("resp = %v", resp)
			}
			return err
		}, "Status"},
		{"create user", func() error {
			_, err := c.CreateUser(ctx, &adminv1.CreateUserRequest{Username: "bob", Password: "secret123"})
			return err
		}, "CreateUser bob secret123"},
		{"delete user hard", func() error {
			_, err := c.DeleteUser(ctx, &adminv1.DeleteUserRequest{Username: "bob", Mode: adminv1.DeleteMode_DELETE_MODE_HARD})
			return err
		}, "DeleteUser bob hard"},
		{"reset password default expiry", func() error {
			resp, err := c.ResetPassword(ctx, &adminv1.ResetPasswordRequest{Username: "bob", BaseUrl: "https://x"})
			if err == nil && resp.GetUrl() != "https://x/reset?token=abc" {
				err = fmt.Errorf("url = %q", resp.GetUrl())
			}
			return err
		}, `ResetPassword bob 1h0m0s "https://x"`},
		{"reset password expiry", func() error {
			_, err := c.ResetPassword(ctx, &adminv1.ResetPasswordRequest{Username: "bob", ExpiresMinutes: i32(5)})
			return err
		}, `ResetPassword bob 5m0s ""`},
		{"cleanup files defaults", func() error {
			resp, err := c.CleanupFiles(ctx, &adminv1.CleanupFilesRequest{DryRun: true})
			if err == nil && (len(resp.GetRemoved()) != 1 || resp.GetRemoved()[0].GetModTs() != started.Unix()) {
				err = fmt.Errorf("resp = %v", resp)
			}
			return err
		}, "CleanupFiles nil nil true"},
		{"cleanup files zero days is not default", func() error {
			_, err := c.CleanupFiles(ctx, &adminv1.CleanupFilesRequest{ImageDays: i32(0), FileDays: i32(7)})
			return err
		}, "CleanupFiles 0 7 false"},
		{"cleanup messages", func() error {
			_, err := c.CleanupMessages(ctx, &adminv1.CleanupMessagesRequest{Days: i32(30)})
			return err
		}, "CleanupMessages 30 false"},
		{"backup", func() error {
			_, err := c.Backup(ctx, &adminv1.BackupRequest{Dir: "/tmp/x/../bk"})
			return err
		}, "Backup /tmp/bk"},
		{"checkpoint", func() error {
			_, err := c.Checkpoint(ctx, &adminv1.CheckpointRequest{Users: []string{"alice", "bob"}})
			return err
		}, "Checkpoint [alice bob]"},
		{"add channel", func() error {
			_, err := c.AddChannel(ctx, &adminv1.AddChannelRequest{Name: "random"})
			return err
		}, "AddChannel random"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			if got := ts.backend.lastCall(); got != tt.want {
				t.Errorf("backend call = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestServer_InvalidRequests(t *testing.T) {
	ts := mustServe(t, t.TempDir())
	ctx := testContext(t)
	neg := int32(-1)
	zero := int32(0)
	tests := []struct {
		name string
		call func() error
	}{
		{"unspecified delete mode", func() error {
			_, err := ts.client.DeleteUser(ctx, &adminv1.DeleteUserRequest{Username: "bob"})
			return err
		}},
		{"relative backup dir", func() error {
			_, err := ts.client.Backup(ctx, &adminv1.BackupRequest{Dir: "backup"})
			return err
		}},
		{"zero expiry", func() error {
			_, err := ts.client.ResetPassword(ctx, &adminv1.ResetPasswordRequest{Username: "bob", ExpiresMinutes: &zero})
			return err
		}},
		{"negative days", func() error {
			_, err := ts.client.CleanupMessages(ctx, &adminv1.CleanupMessagesRequest{Days: &neg})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := status.Code(tt.call()), codes.InvalidArgument; got != want {
				t.Errorf("code = %v, want %v", got, want)
			}
			if got := ts.backend.lastCall(); got != "" {
				t.Errorf("backend was called: %q", got)
			}
		})
	}
}

func TestServer_ErrorCodes(t *testing.T) {
	ts := mustServe(t, t.TempDir())
	ctx := testContext(t)
	createUser := func() error {
		_, err := ts.client.CreateUser(ctx, &adminv1.CreateUserRequest{Username: "bob", Password: "x"})
		return err
	}
	backup := func() error {
		_, err := ts.client.Backup(ctx, &adminv1.BackupRequest{Dir: "/b"})
		return err
	}
	tests := []struct {
		name     string
		err      error
		call     func() error
		wantCode codes.Code
		wantMsg  string
	}{
		{"not found", chat.Errorf(chat.ENotFound, "no user %q", "bob"), createUser, codes.NotFound, `no user "bob"`},
		{"wrapped not found", fmt.Errorf("delete: %w", chat.Errorf(chat.ENotFound, "no user")), createUser, codes.NotFound, "no user"},
		{"invalid", chat.Errorf(chat.EInvalid, "bad name"), createUser, codes.InvalidArgument, "bad name"},
		{"conflict on create", chat.Errorf(chat.EConflict, "exists"), createUser, codes.AlreadyExists, "exists"},
		{"conflict on backup", chat.Errorf(chat.EConflict, "not empty"), backup, codes.FailedPrecondition, "not empty"},
		{"too many", chat.Errorf(chat.ETooMany, "slow down"), createUser, codes.ResourceExhausted, "slow down"},
		{"unavailable", chat.Errorf(chat.EUnavailable, "shutting down"), createUser, codes.Unavailable, "shutting down"},
		{"domain internal", chat.Errorf(chat.EInternal, "disk /secret/x"), createUser, codes.Internal, "internal error"},
		{"plain error", errors.New("open /secret/auth.db: boom"), backup, codes.Internal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.backend.err = tt.err
			st := status.Convert(tt.call())
			if got, want := st.Code(), tt.wantCode; got != want {
				t.Errorf("code = %v, want %v", got, want)
			}
			if got, want := st.Message(), tt.wantMsg; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		})
	}
	if got, want := ts.log.String(), "open /secret/auth.db: boom"; !strings.Contains(got, want) {
		t.Errorf("log = %q, want it to hold the real error %q", got, want)
	}
}

func TestToStatus(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{context.Canceled, codes.Canceled},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{chat.Errorf(chat.EUnauthorized, "x"), codes.Unauthenticated},
		{chat.Errorf(chat.EForbidden, "x"), codes.PermissionDenied},
		{chat.Errorf(chat.ETooLarge, "x"), codes.ResourceExhausted},
		{chat.Errorf("made-up", "x"), codes.Internal},
		{io.EOF, codes.Internal},
	}
	for _, tt := range tests {
		if got := admin.ToStatus(tt.err, codes.AlreadyExists).Code(); got != tt.want {
			t.Errorf("ToStatus(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestListen_PeerCredentials(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	// Short, world-traversable directory: uid 65534 must reach the socket and the binary.
	dir, err := os.MkdirTemp("", "mmadm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "admin.test")
	mustCopyFile(t, self, bin, 0o755)

	ts := mustServe(t, dir)
	// Open the file permissions for this test only, so that what refuses the client is
	// the peer-credential check, not the socket's mode.
	if err := os.Chmod(ts.path, 0o666); err != nil {
		t.Fatal(err)
	}

	run := func(cred *syscall.Credential) (string, error) {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+ts.path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	t.Run("other uid refused", func(t *testing.T) {
		out, err := run(&syscall.Credential{Uid: 65534, Gid: 65534})
		if err == nil {
			t.Fatalf("client as uid 65534 succeeded, want refusal; output: %s", out)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("helper: %v; output: %s", err, out)
		}
		if !strings.Contains(out, "Unavailable") {
			t.Errorf("output = %q, want an Unavailable error", out)
		}
		if got, want := ts.log.String(), "uid=65534"; !strings.Contains(got, want) {
			t.Errorf("log = %q, want a warning naming %s", got, want)
		}
	})

	t.Run("own uid still served", func(t *testing.T) {
		// The refusal above must not have stopped the Accept loop.
		if out, err := run(nil); err != nil {
			t.Fatalf("client as root: %v; output: %s", err, out)
		}
		if _, err := ts.client.Status(testContext(t), &adminv1.StatusRequest{}); err != nil {
			t.Fatalf("Status: %v", err)
		}
	})
}

func mustCopyFile(tb testing.TB, src, dst string, perm os.FileMode) {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(dst, b, perm); err != nil {
		tb.Fatal(err)
	}
}

// A backup goes on when its caller goes away (minimostctl's Ctrl-C), unless the caller asked
// for cancel_on_interrupt; the daemon's shutdown stops it either way.
func TestServer_BackupOutlivesItsCaller(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cancelOnIR bool
		wantCancel bool
	}{
		{"default: the daemon finishes", false, false},
		{"cancel_on_interrupt: the daemon stops", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := mustServe(t, t.TempDir())
			started := make(chan struct{})
			release := make(chan struct{})
			outcome := make(chan error, 1)
			ts.backend.backup = func(ctx context.Context) error {
				close(started)
				select {
				case <-ctx.Done():
					outcome <- ctx.Err()
					return ctx.Err()
				case <-release:
					outcome <- nil
					return nil
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			callDone := make(chan error, 1)
			go func() {
				_, err := ts.client.Backup(ctx, &adminv1.BackupRequest{Dir: "/backups/x", CancelOnInterrupt: tc.cancelOnIR})
				callDone <- err
			}()
			<-started
			cancel() // the admin's Ctrl-C
			if err := <-callDone; status.Code(err) != codes.Canceled {
				t.Fatalf("call after cancel: %v, want Canceled", err)
			}
			if !tc.wantCancel {
				// A later call on the same connection is read after the cancellation
				// (HTTP/2 frames in order): by its answer the server has seen the cancel.
				if _, err := ts.client.Status(testContext(t), &adminv1.StatusRequest{}); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-outcome:
					t.Fatalf("the backup ended with %v when its caller went away; want it to go on", err)
				default:
				}
				close(release)
			}
			err := <-outcome
			if got := err != nil; got != tc.wantCancel {
				t.Errorf("backup outcome = %v, want cancelled %v", err, tc.wantCancel)
			}
			if !tc.wantCancel {
				waitCall(t, ts.backend, "Backup /backups/x")
			}
		})
	}
}

// waitCall waits (at most 10 s) until the backend recorded call.
func waitCall(t *testing.T, f *fakeBackend, call string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for f.lastCall() != call {
		select {
		case <-deadline:
			t.Fatalf("backend's last call = %q, want %q", f.lastCall(), call)
		case <-tick.C:
		}
	}
}

func TestServer_VerifyBackup(t *testing.T) {
	ts := mustServe(t, t.TempDir())
	resp, err := ts.client.VerifyBackup(testContext(t), &adminv1.VerifyBackupRequest{Dir: "/backups/x"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetOk() || len(resp.GetProblems()) != 1 || resp.GetVersion() != "v1.2.3" || len(resp.GetResults()) != 1 {
		t.Errorf("VerifyBackup = %v, want not ok with one problem, version v1.2.3 and one result", resp)
	}
	if _, err := ts.client.VerifyBackup(testContext(t), &adminv1.VerifyBackupRequest{Dir: "rel"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("relative dir: %v, want InvalidArgument", err)
	}
}

// TestServer_BackupStream: the streaming backup sends the backend's progress, then the
// result last; since reaches the backend as an absolute path.
func TestServer_BackupStream(t *testing.T) {
	ts := mustServe(t, t.TempDir())
	stream, err := ts.client.BackupStream(testContext(t), &adminv1.BackupStreamRequest{Request: &adminv1.BackupRequest{Dir: "/backups/y", Since: "/backups/x/"}})
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]*adminv1.Progress{} // by phase
	var result *adminv1.BackupResponse
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if result != nil {
			t.Fatalf("message after the result: %v", m)
		}
		if p := m.GetProgress(); p != nil {
			last[p.GetPhase()] = p
		}
		result = m.GetResult()
	}
	// However the reports were coalesced, each phase's last one arrives.
	if p := last["databases"]; p.GetDone() != 2 || p.GetTotal() != 2 || p.GetBytes() != 99 || p.GetCurrent() != "presence.db" {
		t.Errorf("last databases progress = %v, want 2 of 2 databases, 99 bytes, presence.db", p)
	}
	if p := last["files"]; p.GetDone() != 1 || p.GetCurrent() != "secret.key" {
		t.Errorf("last files progress = %v, want 1 file, secret.key", p)
	}
	if result == nil || result.GetLinked() != 1 {
		t.Errorf("result = %v, want one linked file", result)
	}
	waitCall(t, ts.backend, "Backup /backups/y since /backups/x")

	_, err = ts.client.Backup(testContext(t), &adminv1.BackupRequest{Dir: "/backups/z", Since: "rel"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("relative since: %v, want InvalidArgument", err)
	}
}
