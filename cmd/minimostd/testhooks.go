//go:build minimost_testhooks

package main

import (
	"os"
	"syscall"

	"github.com/minimost/minimost/pkg/daemon"
)

// testHooks is compiled only into the binary the crash tests build (go build -tags
// minimost_testhooks): with MINIMOST_TEST_CRASH_DELETION_AT=<step> the process dies like a
// SIGKILL at that step of an account deletion. Release builds have no such switch.
func testHooks(m *daemon.Main) {
	step := os.Getenv("MINIMOST_TEST_CRASH_DELETION_AT")
	if step == "" {
		return
	}
	m.DeletionHook = func(s string) {
		if s == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}
