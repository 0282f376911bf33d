//go:build darwin || freebsd

package admin

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peerCred returns the uid of the process at the other end of c (LOCAL_PEERCRED: the
// credentials at connect time, which the peer cannot forge), and its pid where the system
// says it (macOS), else 0.
func peerCred(c *net.UnixConn) (uid, pid int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *unix.Xucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if credErr == nil {
			pid = peerPID(int(fd))
		}
	}); err != nil {
		return 0, 0, err
	}
	if credErr != nil {
		return 0, 0, fmt.Errorf("getsockopt LOCAL_PEERCRED: %w", credErr)
	}
	return int(cred.Uid), pid, nil
}
