package outbound_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/minimost/minimost/pkg/outbound"
)

func TestIsPublic(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:4700::1111", true},
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"172.31.255.254", false},
		{"172.32.0.1", true},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"255.255.255.255", false},
		{"224.0.0.1", false},
		{"::1", false},
		{"::", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false},
		{"2002:a00:1::1", false},
	} {
		if got := outbound.IsPublic(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("IsPublic(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestPolicy_Permits(t *testing.T) {
	p, err := outbound.NewPolicy([]string{"ci.internal", "*.corp.example", "10.9.0.0/16", "192.168.1.5"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host string
		addr string
		want bool
	}{
		{"example.com", "93.184.216.34", true},
		{"ci.internal", "10.0.0.5", true},
		{"CI.Internal.", "10.0.0.5", true},
		{"x.corp.example", "127.0.0.1", true},
		{"corp.example", "127.0.0.1", false},
		{"evil.example", "10.9.3.4", true}, // the address itself is allowed
		{"evil.example", "10.10.3.4", false},
		{"evil.example", "192.168.1.5", true},
		{"evil.example", "192.168.1.6", false},
		{"evil.example", "169.254.169.254", false},
		{"evil.example", "::ffff:127.0.0.1", false},
	} {
		got := p.Permits(netip.MustParseAddr(tc.addr), p.HostAllowed(tc.host))
		if got != tc.want {
			t.Errorf("%s at %s: permitted %v, want %v", tc.host, tc.addr, got, tc.want)
		}
	}
	if _, err := outbound.NewPolicy([]string{"10.0.0.0/99"}); err == nil {
		t.Error("a bad CIDR block was accepted")
	}
}

// fakeResolver maps names to addresses, so no test ever asks a real DNS server.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range f[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if out == nil {
		return nil, errors.New("no such host " + host)
	}
	return out, nil
}

// client returns a Client whose last connection hook fails the test for any address that is
// not loopback (nothing may leave the machine) and counts the connections made.
func client(t *testing.T, allowed []string, names fakeResolver) (*outbound.Client, *atomic.Int32) {
	t.Helper()
	p, err := outbound.NewPolicy(allowed)
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	return &outbound.Client{
		Policy:   func() outbound.Policy { return p },
		Resolver: names,
		Control: func(network, address string, c syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !ap.Addr().Unmap().IsLoopback() {
				t.Errorf("a connection to %s was attempted", address)
				return errors.New("test: refused")
			}
			dials.Add(1)
			return nil
		},
	}, &dials
}

func TestClient_RefusesBeforeConnecting(t *testing.T) {
	names := fakeResolver{
		"rebind.test":   {"127.0.0.1"},
		"metadata.test": {"169.254.169.254"},
		"v6.test":       {"::1"},
	}
	c, dials := client(t, nil, names)
	for _, u := range []string{
		"http://127.0.0.1:9/", "http://[::1]:9/", "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.0.10/",
		"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:80/", "http://rebind.test:9/",
		"http://metadata.test/", "http://v6.test:9/", "http://0.0.0.0:9/",
	} {
		_, err := c.Post(context.Background(), u, "application/json", nil)
		if !errors.Is(err, outbound.ErrRefused) {
			t.Errorf("POST %s: err = %v, want ErrRefused", u, err)
		}
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("%d connections were made, want 0", n)
	}
	for _, u := range []string{"file:///etc/passwd", "gopher://x/", "http://user:pw@example.com/", "http:///x"} {
		if _, err := c.Post(context.Background(), u, "text/plain", nil); err == nil || errors.Is(err, outbound.ErrRefused) {
			t.Errorf("POST %s: err = %v, want a URL error", u, err)
		}
	}
}

func TestClient_AllowedAndRedirects(t *testing.T) {
	var got atomic.Value
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"text":"ok"}`)
	}))
	defer target.Close()
	port := target.URL[strings.LastIndex(target.URL, ":"):]
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/", http.StatusTemporaryRedirect) // to 127.0.0.1, by address
	}))
	defer redirect.Close()
	rport := redirect.URL[strings.LastIndex(redirect.URL, ":"):]
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 100<<10))
	}))
	defer big.Close()
	names := fakeResolver{"hooks.test": {"127.0.0.1"}}

	t.Run("allowed name", func(t *testing.T) {
		c, dials := client(t, []string{"hooks.test"}, names)
		resp, err := c.Post(context.Background(), "http://hooks.test"+port+"/x", "text/plain", []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 200 || string(resp.Body) != `{"text":"ok"}` || got.Load() != "hello" || dials.Load() != 1 {
			t.Errorf("got %d %q (server saw %v), %d dials", resp.Status, resp.Body, got.Load(), dials.Load())
		}
	})
	t.Run("allowed address", func(t *testing.T) {
		c, _ := client(t, []string{"127.0.0.0/8"}, names)
		if _, err := c.Post(context.Background(), target.URL, "text/plain", nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("redirect to a refused address", func(t *testing.T) {
		c, dials := client(t, []string{"hooks.test"}, names)
		_, err := c.Post(context.Background(), "http://hooks.test"+rport+"/", "text/plain", nil)
		if !errors.Is(err, outbound.ErrRefused) {
			t.Fatalf("err = %v, want ErrRefused", err)
		}
		if dials.Load() != 1 {
			t.Errorf("%d connections, want 1 (the redirecting server only)", dials.Load())
		}
	})
	t.Run("answer too large", func(t *testing.T) {
		c, _ := client(t, []string{"127.0.0.1"}, names)
		if _, err := c.Post(context.Background(), big.URL, "text/plain", nil); err == nil || !strings.Contains(err.Error(), "larger") {
			t.Errorf("err = %v, want a size error", err)
		}
	})
}
