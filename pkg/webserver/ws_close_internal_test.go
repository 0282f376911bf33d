package webserver

import (
	"context"
	"fmt"
	"net"
	"testing"
)

// A write that fails because the connection is closed already leaves the reason to whoever
// closed it (the client, when nothing else was recorded); any other failed write is the
// reason, unless one was recorded before it.
func TestWriteFailed_ClosedConnectionIsNotTheReason(t *testing.T) {
	reason := func(wc *wsConn) string {
		if r := wc.closedBy.Load(); r != nil {
			return *r
		}
		return CloseByClient
	}
	var closed wsConn
	closed.writeFailed(errGone{fmt.Errorf("failed to write frame: %w", net.ErrClosed)})
	if got := reason(&closed); got != CloseByClient {
		t.Errorf("a write to a connection the client closed: reason %q, want %q", got, CloseByClient)
	}
	var stalled wsConn
	stalled.writeFailed(errGone{context.DeadlineExceeded})
	if got := reason(&stalled); got != CloseByWriteFailed {
		t.Errorf("a write that timed out: reason %q, want %q", got, CloseByWriteFailed)
	}
	var pinged wsConn
	pinged.closing(CloseByPingTimeout)
	pinged.writeFailed(errGone{context.DeadlineExceeded})
	if got := reason(&pinged); got != CloseByPingTimeout {
		t.Errorf("a write failing after a ping timeout closed the connection: reason %q, want %q", got, CloseByPingTimeout)
	}
}
