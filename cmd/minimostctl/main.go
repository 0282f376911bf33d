// Command minimostctl is the admin CLI of MiniMost: a gRPC client of minimostd's admin socket.
// It never opens a database itself; every command is one call to the daemon.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// connectTimeout bounds the wait for the socket to answer, whatever the command.
const connectTimeout = 10 * time.Second

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// SystemSocket is where the socket is looked for last: the daemon's socket under systemd
// with RuntimeDirectory=minimost and -socket /run/minimost/minimost.sock (contrib/).
const SystemSocket = "/run/minimost/minimost.sock"

// cli is the kong grammar: global flags and one field per noun (each in its own file).
type cli struct {
	Socket     string           `help:"Path of minimostd's admin socket. Default: ./minimost.sock if it exists (run in the data directory), else ${system_socket}." env:"MINIMOST_SOCKET" placeholder:"PATH"`
	Timeout    time.Duration    `help:"Deadline for quick commands, 0 for none. Backup, vacuum, checkpoint, integrity-check and cleanup files/messages wait until they finish (Ctrl-C stops waiting)." default:"30s"`
	JSON       bool             `name:"json" help:"Print the result as one JSON document (every command that prints; see docs/administration.md for the fields)."`
	NoProgress bool             `name:"no-progress" help:"Do not show the progress of backup, vacuum, checkpoint, integrity-check and cleanup files/messages on stderr (a bar on a terminal, plain lines otherwise)."`
	Version    kong.VersionFlag `help:"Print minimostctl's version and exit."`

	VersionCmd versionCmd `cmd:"" name:"version" help:"Print the versions of minimostctl and of the running minimostd."`

	ResetPassword  resetPasswordCmd  `cmd:"" name:"reset-password" help:"Create a single-use password reset link for a user and print it."`
	Users          usersCmd          `cmd:"" help:"List, create and delete accounts."`
	Cleanup        cleanupCmd        `cmd:"" help:"Run a cleanup now."`
	IntegrityCheck integrityCheckCmd `cmd:"" name:"integrity-check" help:"Run PRAGMA integrity_check on every database; exit 1 if any is not ok."`
	Backup         backupCmd         `cmd:"" help:"Write a hot backup of all state into DIR while the daemon serves."`
	Checkpoint     checkpointCmd     `cmd:"" help:"Checkpoint the WAL of the named users' databases, or of every database."`
	Vacuum         vacuumCmd         `cmd:"" help:"VACUUM the named users' databases, or every database."`
	Stats          statsCmd          `cmd:"" help:"Show users, messages per user and disk use."`
	Channels       channelsCmd       `cmd:"" help:"List, add and remove public channels (settings.json)."`
	Status         statusCmd         `cmd:"" help:"Show the daemon's version, uptime, data directory and activity."`
	Bots           botsCmd           `cmd:"" help:"Create bot accounts."`
	Tokens         tokensCmd         `cmd:"" help:"Create, list and revoke personal access tokens."`
	Webhooks       webhooksCmd       `cmd:"" help:"Create, list, rotate and revoke incoming webhooks; outgoing webhooks."`
	Commands       commandsCmd       `cmd:"" help:"Create, list and delete slash commands."`
	Completion     completionCmd     `cmd:"" help:"Print a shell completion script (bash, zsh or fish); see docs/administration.md."`
}

// kongExit carries kong's exit code (after --help, say) out of Parse via panic, so that Run
// returns it instead of kong calling os.Exit.
type kongExit int

// Run runs minimostctl with args (without the program name) and returns the exit code:
// 0 on success, 1 on failure, 2 on a usage error. It writes only to stdout and stderr and
// reads only stdin, so tests can call it directly.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("minimostctl"),
		kong.Description("Administer a running minimostd through its admin socket."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
		kong.Vars{"version": "minimostctl " + Version, "system_socket": SystemSocket},
	)
	if err != nil {
		fmt.Fprintf(stderr, "minimostctl: %v\n", err)
		return exitFailure
	}
	defer func() {
		if r := recover(); r != nil {
			k, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			code = int(k)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "minimostctl: %v\n", err)
		return exitUsage
	}

	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, timeout: c.Timeout, json: c.JSON, noProgress: c.NoProgress}
	if c.Socket != "" {
		a.explicit = true
		if a.socket, err = filepath.Abs(c.Socket); err != nil {
			fmt.Fprintf(stderr, "minimostctl: socket path: %v\n", err)
			return exitFailure
		}
	}
	defer a.close()
	if err := kctx.Run(a); err != nil {
		fmt.Fprintf(stderr, "minimostctl: %s\n", a.message(err))
		return exitFailure
	}
	return exitOK
}

// app is what every command's Run receives: I/O, and a lazily dialled admin client.
type app struct {
	ctx     context.Context
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	socket  string // absolute; found by findSocket when not explicit
	timeout time.Duration
	json    bool
	// noProgress: --no-progress.
	noProgress bool

	// explicit: the socket came from --socket or MINIMOST_SOCKET, so no other is tried.
	explicit bool
	// tried lists the paths findSocket looked at, with why each was not used.
	tried []string

	conn    *grpc.ClientConn
	mu      sync.Mutex
	dialErr error // the last dial's outcome: why the socket did not answer
}

func (a *app) close() {
	if a.conn != nil {
		a.conn.Close()
	}
}

// errUnreachable and errRefused are reported with the socket path by message.
var (
	errUnreachable = errors.New("unreachable")
	errRefused     = errors.New("refused")
	errDenied      = errors.New("permission denied")
	errNotSocket   = errors.New("not a socket")
	errNoSocket    = errors.New("no socket found")
)

// findSocket picks the socket when none was given: ./minimost.sock, then SystemSocket, the
// first that exists. It records what it tried for the error message.
func (a *app) findSocket() error {
	if a.explicit {
		return a.checkSocket(a.socket)
	}
	var candidates []string
	if p, err := filepath.Abs("minimost.sock"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, SystemSocket)
	for _, p := range candidates {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			a.tried = append(a.tried, p+": does not exist")
			continue
		case errors.Is(err, fs.ErrPermission):
			// A directory on the way (e.g. /run/minimost, mode 0750) is closed to this user.
			a.socket = p
			return errDenied
		case err != nil:
			a.tried = append(a.tried, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		a.socket = p
		if fi.Mode().Type() != fs.ModeSocket {
			return errNotSocket
		}
		return nil
	}
	return errNoSocket
}

// checkSocket tells "not a socket" and "permission denied" apart before dialling, which
// would report both as a refused connection.
func (a *app) checkSocket(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return errDenied
	case err == nil && fi.Mode().Type() != fs.ModeSocket:
		return errNotSocket
	}
	return nil // missing: dialling says "is it running?"
}

// dial records each attempt's error, which gRPC itself reduces to "Unavailable".
func (a *app) dial(ctx context.Context, _ string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", a.socket)
	a.mu.Lock()
	a.dialErr = err
	a.mu.Unlock()
	return c, err
}

// connect dials the socket and waits until the daemon has answered.
func (a *app) connect() error {
	if a.conn == nil {
		if err := a.findSocket(); err != nil {
			return err
		}
		conn, err := grpc.NewClient("unix:"+a.socket,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(a.dial),
		)
		if err != nil {
			return fmt.Errorf("admin client: %w", err)
		}
		a.conn = conn
	}
	ctx, cancel := context.WithTimeout(a.ctx, connectTimeout)
	defer cancel()
	a.conn.Connect()
	for {
		s := a.conn.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			return a.unreachable()
		}
		if !a.conn.WaitForStateChange(ctx, s) {
			if a.ctx.Err() != nil {
				return a.ctx.Err()
			}
			return a.unreachable()
		}
	}
}

// unreachable tells apart a socket nobody listens on, one this user may not open, and a
// daemon that accepted and closed the connection (its peer-credential check).
func (a *app) unreachable() error {
	a.mu.Lock()
	err := a.dialErr
	a.mu.Unlock()
	switch {
	case err == nil:
		return errRefused
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return errDenied
	default:
		return errUnreachable
	}
}

// call runs fn with the admin client. Quick commands get --timeout as a deadline; long ones
// (backup, vacuum …) run until done or interrupted.
func (a *app) call(long bool, fn func(ctx context.Context, c adminv1.AdminServiceClient) error) error {
	if err := a.connect(); err != nil {
		return err
	}
	ctx := a.ctx
	if !long && a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	err := fn(ctx, adminv1.NewAdminServiceClient(a.conn))
	if status.Code(err) == codes.Unavailable && a.conn.GetState() != connectivity.Ready {
		// The connection broke (the daemon stopped); an Unavailable with the connection
		// up is the daemon's own answer, such as "shutting down", and is shown as is.
		return errUnreachable
	}
	return err
}

// message turns an error into the one line shown after "minimostctl: ".
func (a *app) message(err error) string {
	switch {
	case errors.Is(err, errNoSocket):
		return "cannot find minimostd's admin socket; tried:\n  " + strings.Join(a.tried, "\n  ") +
			"\nRun minimostctl in minimostd's data directory, or give the socket with --socket PATH or MINIMOST_SOCKET=PATH" +
			" (minimost.sock in the data directory, unless minimostd runs with -socket)."
	case errors.Is(err, errNotSocket):
		return fmt.Sprintf("%s is not a socket: is it minimostd's admin socket? (see --socket)", a.socket)
	case errors.Is(err, errUnreachable):
		if !a.explicit {
			return fmt.Sprintf("cannot reach minimostd at %s: is it running? (nothing answers on the socket; a socket left by a killed daemon is replaced when it starts again. Another daemon's socket: --socket PATH)", a.socket)
		}
		return fmt.Sprintf("cannot reach minimostd at %s: is it running?", a.socket)
	case errors.Is(err, errDenied):
		return fmt.Sprintf("cannot connect to %s: permission denied (run as the user minimostd runs as, e.g. sudo -u minimost minimostctl …, or as root)", a.socket)
	case errors.Is(err, errRefused):
		return fmt.Sprintf("minimostd at %s refused the connection: only its own user and root may use the admin socket", a.socket)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	}
	// kong wraps the command's error; take the status itself, not the wrapped text.
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return err.Error()
	}
	st := se.GRPCStatus()
	switch st.Code() {
	case codes.Internal:
		return st.Message() + " (details are in the minimostd log)"
	case codes.DeadlineExceeded:
		return fmt.Sprintf("no answer within %s (see --timeout)", a.timeout)
	case codes.Canceled:
		return "interrupted"
	}
	return st.Message()
}

// printJSON writes v as indented JSON, for --json: one document per command.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
