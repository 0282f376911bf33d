package daemon

import (
	"context"
	"net"
	"os"
	"strconv"
	"time"
)

// The systemd notification protocol (sd_notify(3)), for a unit with Type=notify and
// WatchdogSec=: one datagram per state change on the socket named by $NOTIFY_SOCKET. It is a
// few lines, so it is written here rather than imported.

// notifier sends states to systemd; its zero value (no socket) sends nothing.
type notifier struct {
	addr string // $NOTIFY_SOCKET; "@name" is an abstract socket
}

// newNotifier reads $NOTIFY_SOCKET from getenv.
func newNotifier(getenv func(string) string) notifier {
	return notifier{addr: getenv("NOTIFY_SOCKET")}
}

// send writes state ("READY=1", "STOPPING=1", "WATCHDOG=1", ...) to systemd, if it listens.
func (n notifier) send(state string) error {
	if n.addr == "" {
		return nil
	}
	name := n.addr
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}

// watchdogEvery returns how often to send WATCHDOG=1: half of $WATCHDOG_USEC, when it is set
// for this process ($WATCHDOG_PID unset or ours); 0 when no watchdog is asked for.
func watchdogEvery(getenv func(string) string) time.Duration {
	usec, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// watchdog sends WATCHDOG=1 every interval until ctx ends. It runs on its own goroutine, so
// it tells systemd that the process is alive and scheduling; a daemon wedged hard enough to
// stop it is restarted.
func (n notifier) watchdog(ctx context.Context, every time.Duration, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.send("WATCHDOG=1")
		}
	}
}
