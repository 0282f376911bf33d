package admin

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// SocketPerm is the mode of the admin socket: only the daemon's user may connect (root
// bypasses file permissions anyway). The peer-credential check in Accept is the second lock.
const SocketPerm fs.FileMode = 0o600

// umaskMu serialises Listen's umask changes with each other. The umask is process-wide, so
// a daemon should call Listen before it starts goroutines that create files: a directory
// made under umask 0177 would lose its search bit.
var umaskMu sync.Mutex

// Listen is ListenLogger with slog.Default() for the warnings about refused peers.
func Listen(path string) (net.Listener, error) {
	return ListenLogger(path, slog.Default())
}

// ListenLogger creates the admin Unix socket at path and returns a listener that accepts
// only connections from the daemon's own uid or root.
//
// The socket is created under umask 0177, so it is never reachable with a wider mode, and is
// then chmod-ed to SocketPerm. If path exists, ListenLogger dials it first: if a daemon
// answers it fails with "another minimostd is already serving on <path>"; if nothing answers
// and path is a socket, the stale socket is removed and replaced; anything that is not a
// socket is left alone and reported. Closing the listener removes the socket.
func ListenLogger(path string, logger *slog.Logger) (net.Listener, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}

	umaskMu.Lock()
	old := syscall.Umask(0o177)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	umaskMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("listen on admin socket %q: %w", path, err)
	}
	l.SetUnlinkOnClose(true)
	if err := os.Chmod(path, SocketPerm); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod admin socket %q: %w", path, err)
	}
	return &peerCheckListener{UnixListener: l, logger: logger, uid: os.Getuid()}, nil
}

// removeStale makes room for a new socket at path, or explains why it cannot.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check admin socket %q: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("admin socket path %q exists and is not a socket; not replacing it", path)
	}
	// Dial before removing: unlinking a live daemon's socket would leave it unreachable
	// while it keeps running, and two daemons would then share one data directory.
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("another minimostd is already serving on %s", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, fs.ErrNotExist) {
		// EACCES and the like: we cannot tell whether it is live, so do not remove it.
		return fmt.Errorf("check admin socket %q: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale admin socket %q: %w", path, err)
	}
	return nil
}

// peerCheckListener closes, inside Accept, every connection whose peer is neither the
// daemon's uid nor root, so the gRPC server never sees it.
type peerCheckListener struct {
	*net.UnixListener
	logger *slog.Logger
	uid    int
}

// Accept returns the next connection from an allowed peer. Refused connections are closed
// and logged, and Accept keeps waiting; only errors of the listener itself are returned.
func (l *peerCheckListener) Accept() (net.Conn, error) {
	for {
		c, err := l.UnixListener.AcceptUnix()
		if err != nil {
			return nil, err
		}
		uid, pid, err := PeerCred(c)
		switch {
		case err != nil:
			l.logger.Warn("admin socket: refused connection: cannot read peer credentials", "err", err)
		case uid != l.uid && uid != 0:
			l.logger.Warn("admin socket: refused connection from another user", "uid", uid, "pid", pid, "allowed_uid", l.uid)
		default:
			return c, nil
		}
		c.Close()
	}
}

// PeerCred returns the uid and pid of the process at the other end of c: the credentials it
// had when it connected, which it cannot forge (peerCredFD, for each system). pid is 0 where
// the system does not say it (FreeBSD).
func PeerCred(c *net.UnixConn) (uid, pid int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var credErr error
	if err := raw.Control(func(fd uintptr) { uid, pid, credErr = peerCredFD(int(fd)) }); err != nil {
		return 0, 0, err
	}
	return uid, pid, credErr
}
