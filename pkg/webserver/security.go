package webserver

import (
	"crypto/rand"
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/minimost/minimost/pkg/chat"
)

// csp is the Content-Security-Policy of every response: no inline script or style, nothing
// from other origins, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; " +
	"form-action 'self'; object-src 'none'"

const (
	sessionCookie = "mm_session"
	csrfCookie    = "mm_csrf"
	csrfHeader    = "X-CSRF-Token"
)

// secure adds the security headers to every response and sets the CSRF cookie when missing.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
		if s.Secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if c, err := r.Cookie(csrfCookie); err != nil || !s.validCSRF(c.Value) {
			http.SetCookie(w, s.newCSRFCookie())
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) newCSRFCookie() *http.Cookie {
	return &http.Cookie{
		Name: csrfCookie, Value: s.Signer.Sign("csrf", rand.Text()), Path: "/",
		Secure: s.Secure, SameSite: http.SameSiteStrictMode, HttpOnly: false,
	}
}

func (s *Server) validCSRF(v string) bool {
	_, ok := s.Signer.Verify("csrf", v)
	return ok
}

// checkCSRF guards a state-changing request: the X-CSRF-Token header must equal the
// mm_csrf cookie (which only our own pages can read), and a browser's Origin must be ours.
func (s *Server) checkCSRF(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r, o) {
		return chat.Errorf(chat.EForbidden, "cross-origin request refused")
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return chat.Errorf(chat.EForbidden, "cross-site request refused")
	}
	c, err := r.Cookie(csrfCookie)
	tok := r.Header.Get(csrfHeader)
	if err != nil || tok == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(tok)) != 1 || !s.validCSRF(tok) {
		return chat.Errorf(chat.EForbidden, "missing or invalid CSRF token; reload the page")
	}
	return nil
}

// sameOrigin reports whether origin is this server's: the host the browser used (with the
// scheme it must have used), or the configured public base URL.
func (s *Server) sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if s.BaseURL != "" {
		if b, err := url.Parse(s.BaseURL); err == nil && strings.EqualFold(b.Scheme, u.Scheme) && strings.EqualFold(b.Host, u.Host) {
			return true
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

// clientAddr is the caller's address for rate limits: the peer, or with TrustProxy the
// address the reverse proxy put last in X-Forwarded-For.
func (s *Server) clientAddr(r *http.Request) string {
	if s.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
