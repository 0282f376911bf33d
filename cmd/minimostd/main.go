// Command minimostd is the MiniMost daemon: it owns the data directory, serves the browser
// app, the JSON API and the WebSocket over HTTPS, and the admin gRPC service on a Unix socket.
// The daemon itself is pkg/daemon's Main; this command runs it until SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/minimost/minimost/pkg/daemon"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func main() {
	m := daemon.NewMain()
	m.Version = Version
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		code := daemon.ExitCode(err)
		if code != 0 {
			fmt.Fprintln(os.Stderr, "minimostd:", err)
		}
		os.Exit(code)
	}
	testHooks(m)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "minimostd:", err)
		m.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	stop()
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "minimostd: shutdown:", err)
		os.Exit(1)
	}
}
