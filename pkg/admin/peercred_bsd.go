//go:build darwin || freebsd

package admin

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// peerCredFD returns the uid of the peer of the Unix socket fd (LOCAL_PEERCRED), and its pid
// where the system says it (macOS), else 0.
func peerCredFD(fd int) (uid, pid int, err error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return 0, 0, fmt.Errorf("getsockopt LOCAL_PEERCRED: %w", err)
	}
	return int(cred.Uid), peerPID(fd), nil
}
