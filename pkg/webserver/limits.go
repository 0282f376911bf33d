package webserver

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// Default request body deadlines (Server.JSONBodyDeadline, UploadBodyDeadline): a client
// that sends its body slower than this is cut off, so slow requests cannot hold connections
// (and file descriptors) open for ever.
const (
	DefaultJSONBodyDeadline   = 30 * time.Second
	DefaultUploadBodyDeadline = 15 * time.Minute
)

// conns counts the open HTTP connections, per client address and in all. The http.Server of
// the daemon calls ConnContext and ConnState; a connection over a limit is answered 503.
type conns struct {
	mu      sync.Mutex
	perAddr map[string]int
	total   int
	open    map[net.Conn]*connInfo
}

type connInfo struct {
	addr string
	over string // why the connection is refused, "" when it is not
}

type connKey struct{}

// ConnContext records a new connection (use as http.Server.ConnContext).
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	limits := s.App.Settings.Get().Limits
	addr, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	info := &connInfo{addr: addr}
	s.conns.mu.Lock()
	if s.conns.open == nil {
		s.conns.open, s.conns.perAddr = map[net.Conn]*connInfo{}, map[string]int{}
	}
	s.conns.open[c] = info
	s.conns.total++
	s.conns.perAddr[addr]++
	switch {
	case s.conns.total > limits.MaxConnections:
		info.over = "the server has too many connections open"
	case !s.TrustProxy && s.conns.perAddr[addr] > limits.ConnectionsPerAddress:
		// Behind a reverse proxy every connection comes from the proxy: the proxy limits.
		info.over = "too many connections from your address"
	}
	s.conns.mu.Unlock()
	return context.WithValue(ctx, connKey{}, info)
}

// ConnState forgets closed connections (use as http.Server.ConnState). A hijacked connection
// (a WebSocket) leaves the count: sockets are bounded per account instead.
func (s *Server) ConnState(c net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	info, ok := s.conns.open[c]
	if !ok {
		return
	}
	delete(s.conns.open, c)
	s.conns.total--
	if s.conns.perAddr[info.addr]--; s.conns.perAddr[info.addr] <= 0 {
		delete(s.conns.perAddr, info.addr)
	}
}

// OpenConnections returns how many HTTP connections are open (WebSockets not included).
func (s *Server) OpenConnections() int {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	return s.conns.total
}

// limitConns answers 503 on a connection over a limit, and closes it.
func (s *Server) limitConns(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, _ := r.Context().Value(connKey{}).(*connInfo); info != nil && info.over != "" {
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", strconv.Itoa(5))
			s.writeError(w, r, chat.Errorf(chat.EUnavailable, "%s; try again later", info.over))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bodyDeadline bounds how long reading the request body may take.
func bodyDeadline(w http.ResponseWriter, d time.Duration) {
	// Not every ResponseWriter supports it (tests' recorders): then there is nothing to bound.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
}
