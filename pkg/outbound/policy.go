package outbound

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrRefused is returned for a request to an address the policy does not allow.
var ErrRefused = errors.New("address not allowed")

// Policy says which non-public addresses may be reached. Every public address may be; a
// loopback, private, link-local or otherwise special address only when the request's host
// name or the address itself is allowed.
type Policy struct {
	names     []string // exact host names, lower case
	wildcards []string // ".corp.example" for "*.corp.example"
	prefixes  []netip.Prefix
}

// NewPolicy parses the allowed hosts: host names, "*.domain" wildcards, IP addresses and CIDR
// blocks.
func NewPolicy(allowed []string) (Policy, error) {
	var p Policy
	for _, h := range allowed {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		switch {
		case strings.Contains(h, "/"):
			pfx, err := netip.ParsePrefix(h)
			if err != nil {
				return Policy{}, fmt.Errorf("allowed host %q: %w", h, err)
			}
			p.prefixes = append(p.prefixes, pfx.Masked())
		case isIP(h):
			a, _ := netip.ParseAddr(h)
			p.prefixes = append(p.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		case strings.HasPrefix(h, "*."):
			p.wildcards = append(p.wildcards, h[1:])
		case h != "":
			p.names = append(p.names, h)
		}
	}
	return p, nil
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// HostAllowed reports whether host (a name, as in a URL) is allowed to be non-public.
func (p Policy) HostAllowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range p.names {
		if host == n {
			return true
		}
	}
	for _, w := range p.wildcards {
		if strings.HasSuffix(host, w) && len(host) > len(w) {
			return true
		}
	}
	return false
}

// Permits reports whether a connection to addr may be made for a request whose host name is
// allowed (hostAllowed) or not.
func (p Policy) Permits(addr netip.Addr, hostAllowed bool) bool {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return false
	}
	if IsPublic(addr) || hostAllowed {
		return true
	}
	for _, pfx := range p.prefixes {
		if pfx.Contains(addr) {
			return true
		}
	}
	return false
}

// special are the ranges, beyond Go's own classes, that are not the public internet:
// "this network", carrier-grade NAT, IETF protocol assignments, documentation, benchmarking,
// reserved, broadcast, NAT64 (which can reach IPv4 addresses inside), 6to4, documentation
// and site-local IPv6.
var special = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001:db8::/32", "2002::/16", "fec0::/10",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// IsPublic reports whether addr is a public unicast address: not loopback, private,
// link-local (169.254.169.254, the cloud metadata address, is link-local), multicast,
// unspecified or otherwise special.
func IsPublic(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, pfx := range special {
		if pfx.Contains(addr) {
			return false
		}
	}
	return true
}
