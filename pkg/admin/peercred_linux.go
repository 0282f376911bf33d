package admin

import (
	"fmt"
	"syscall"
)

// peerCredFD returns the uid and pid of the peer of the Unix socket fd (SO_PEERCRED).
func peerCredFD(fd int) (uid, pid int, err error) {
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return 0, 0, fmt.Errorf("getsockopt SO_PEERCRED: %w", err)
	}
	return int(cred.Uid), int(cred.Pid), nil
}
