package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Resolver looks up the addresses of a host name; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Client sends the requests of integrations under a Policy.
type Client struct {
	// Policy returns the policy in force (it follows settings.json).
	Policy func() Policy
	// Resolver resolves host names (default net.DefaultResolver).
	Resolver Resolver
	// Timeout bounds a whole request, redirects and answer included (default 5 s).
	Timeout time.Duration
	// MaxResponse is the largest answer body read (default 64 KiB); a longer one is an error.
	MaxResponse int64
	// MaxRedirects is how many redirects are followed (default 3).
	MaxRedirects int
	// Control, if set, runs after the policy's own check, just before a connection is made
	// (tests use it to prove that a refused address is never connected to).
	Control func(network, address string, c syscall.RawConn) error
}

// Response is an answer: its status, content type and body.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Post sends body (of contentType) to rawURL and returns the answer.
func (c *Client) Post(ctx context.Context, rawURL, contentType string, body []byte) (*Response, error) {
	u, err := CheckURL(rawURL)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "MiniMost-Integrations/1")
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	max := c.MaxResponse
	if max == 0 {
		max = 64 << 10
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("answer is larger than %d bytes", max)
	}
	return &Response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: data}, nil
}

// CheckURL parses rawURL and checks that an integration may be pointed at it: http or https,
// a host, no user name or password.
func CheckURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bad URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: only http and https are allowed", rawURL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q has no host", rawURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("URL %q: a user name or password in the URL is not allowed", rawURL)
	}
	return u, nil
}

func (c *Client) httpClient() *http.Client {
	maxRedirects := c.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = 3
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // a proxy would connect for us, past the policy
			DialContext:            c.dial,
			TLSHandshakeTimeout:    5 * time.Second,
			ResponseHeaderTimeout:  5 * time.Second,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: 16 << 10,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if _, err := CheckURL(req.URL.String()); err != nil {
				return err
			}
			return nil
		},
	}
}

// dial connects to addr (host:port) only at addresses the policy permits: the host name is
// resolved here, and the address checked again just before the connection is made, so a
// name that resolves to a refused address never gets a connection.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port %q", portStr)
	}
	policy := c.Policy()
	hostAllowed := false
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		hostAllowed = policy.HostAllowed(host)
		r := c.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		if addrs, err = r.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
	}
	d := net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(network, address string, rc syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !policy.Permits(ap.Addr(), hostAllowed) {
				return fmt.Errorf("%s: %w", address, ErrRefused)
			}
			if c.Control != nil {
				return c.Control(network, address, rc)
			}
			return nil
		},
	}
	var errs []error
	for _, ip := range addrs {
		if !policy.Permits(ip, hostAllowed) {
			errs = append(errs, fmt.Errorf("%s (%s): %w", host, ip, ErrRefused))
			continue
		}
		conn, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s: no address", host)
	}
	return nil, errors.Join(errs...)
}

// PostForm sends form, URL-encoded, to rawURL and returns the answer's status and body.
func (c *Client) PostForm(ctx context.Context, rawURL string, form url.Values) (int, []byte, error) {
	resp, err := c.Post(ctx, rawURL, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	return resp.Status, resp.Body, nil
}

// SettingsPolicy returns a Policy function that follows allowed (settings.json's
// integration_allowed_hosts, read at each request); entries that do not parse allow nothing.
func SettingsPolicy(allowed func() []string) func() Policy {
	return func() Policy {
		p, _ := NewPolicy(allowed())
		return p
	}
}
