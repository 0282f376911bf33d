package webserver

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/hub"
)

// Server is the HTTP side of minimostd: it translates requests into calls of App.
type Server struct {
	App    *app.App
	Hub    *hub.Hub // live events of the WebSocket
	Signer *auth.Signer
	Web    fs.FS // the embedded browser app
	Logger *slog.Logger
	Now    func() time.Time

	// Secure is true when serving TLS: cookies get Secure, responses HSTS.
	Secure bool
	// BaseURL is the public URL when behind a reverse proxy (also an accepted Origin).
	BaseURL string
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	// Version is shown by /api/config.
	Version string
	// AuthBurst is how many login/registration/reset attempts a client address may make at
	// once (then one every AuthEvery); usernames get a fifth of it, at least 3.
	AuthBurst int
	AuthEvery time.Duration
	// JSONBodyDeadline and UploadBodyDeadline bound how long reading a request body may take.
	JSONBodyDeadline, UploadBodyDeadline time.Duration
	// WSPingInterval and WSPingTimeout: how often each WebSocket client is pinged, and how
	// long its pong may take (defaults DefaultWSPingInterval, DefaultWSPingTimeout).
	WSPingInterval, WSPingTimeout time.Duration
	// WSSessionRecheck is how long a connection that keeps sending frames goes on trusting
	// its session's last lookup (default DefaultWSSessionRecheck).
	WSSessionRecheck time.Duration
	// OnWSClose, when set, is called once for each WebSocket connection that ends, with why
	// (CloseByClient, CloseByWriteFailed, ...).
	OnWSClose func(reason string)

	loginIP, loginUser, registerIP, resetIP *auth.Limiter

	wsMu    sync.Mutex
	wsConns map[*wsConn]struct{}
	// wsSweeping is set while the goroutine that pings and checks every connection runs.
	wsSweeping bool
	// wsWriters counts the connections whose writer is running: those sent something in the
	// last wsWriterIdle. It sets how long a busy connection's writes are paced (wsPace).
	wsWriters atomic.Int64
	// turns is the line of connections waiting to be written to.
	turns wsTurns

	conns conns

	etags sync.Map // file name of Web -> its ETag

	// beforeSubscribe, when set (by tests), runs in a WebSocket's start between the
	// handshake's check of max_sockets_per_user and the subscription that checks it again.
	beforeSubscribe func()
}

// Init fills defaults; call it before Handler.
func (s *Server) Init() {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.AuthBurst == 0 {
		s.AuthBurst = 20
	}
	if s.AuthEvery == 0 {
		s.AuthEvery = 3 * time.Second
	}
	if s.JSONBodyDeadline == 0 {
		s.JSONBodyDeadline = DefaultJSONBodyDeadline
	}
	if s.UploadBodyDeadline == 0 {
		s.UploadBodyDeadline = DefaultUploadBodyDeadline
	}
	if s.WSPingInterval == 0 {
		s.WSPingInterval = DefaultWSPingInterval
	}
	if s.WSPingTimeout == 0 {
		s.WSPingTimeout = DefaultWSPingTimeout
	}
	if s.WSSessionRecheck == 0 {
		s.WSSessionRecheck = DefaultWSSessionRecheck
	}
	userBurst := max(3, s.AuthBurst/4)
	s.loginIP = auth.NewLimiter(s.AuthBurst, s.AuthEvery)
	s.loginUser = auth.NewLimiter(userBurst, 10*s.AuthEvery)
	s.registerIP = auth.NewLimiter(s.AuthBurst/2+1, 10*s.AuthEvery)
	s.resetIP = auth.NewLimiter(s.AuthBurst/2+1, 2*s.AuthEvery)
	s.wsConns = map[*wsConn]struct{}{}
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		mux.Handle(pattern, s.apiHandler(h))
	}
	user := func(pattern string, h func(w http.ResponseWriter, r *http.Request, me chat.Account) error) {
		mux.Handle(pattern, s.userHandler(h))
	}
	api("GET /api/health", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, 200, map[string]string{"status": "ok"})
		return nil
	})
	api("GET /api/csrf", s.handleCSRF)
	api("GET /api/config", s.handleConfig)
	api("POST /api/register", s.handleRegister)
	api("POST /api/login", s.handleLogin)
	api("POST /api/logout", s.handleLogout)
	api("POST /api/reset-password", s.handleResetPassword)
	user("GET /api/me", s.handleMe)
	user("PATCH /api/me", s.handleUpdateMe)
	user("POST /api/me/password", s.handleChangePassword)
	user("POST /api/me/avatar", s.handleAvatarUpload)
	user("DELETE /api/me/avatar", s.handleAvatarDelete)
	user("POST /api/me/delete", s.handleDeleteMe)
	user("POST /api/me/logout-all", s.handleLogoutAll)
	user("GET /api/users", s.handleUsers)
	user("GET /api/avatars/{file}", s.handleAvatar)
	user("GET /api/conversations", s.handleConversations)
	user("GET /api/conversations/{id}", s.handleConversation)
	user("GET /api/conversations/{id}/members", s.handleMembers)
	user("POST /api/conversations/{id}/members", s.handleAddMember)
	user("POST /api/conversations/{id}/leave", s.handleLeave)
	user("POST /api/private-channels", s.handleCreatePrivate)
	user("POST /api/dms", s.handleCreateDM)
	user("GET /api/conversations/{id}/messages", s.handleHistory)
	user("POST /api/conversations/{id}/messages", s.handlePost)
	user("POST /api/conversations/{id}/files", s.handleUpload)
	user("PATCH /api/conversations/{id}/messages/{mid}", s.handleEdit)
	user("DELETE /api/conversations/{id}/messages/{mid}", s.handleDelete)
	user("POST /api/conversations/{id}/messages/{mid}/reactions", s.handleReact)
	user("DELETE /api/conversations/{id}/messages/{mid}/reactions/{emoji}", s.handleUnreact)
	user("POST /api/conversations/{id}/read", s.handleRead)
	user("POST /api/conversations/{id}/unread", s.handleUnread)
	user("GET /api/conversations/{id}/threads/{mid}", s.handleThread)
	user("POST /api/conversations/{id}/threads/{mid}/read", s.handleThreadRead)
	user("GET /api/threads", s.handleThreads)
	user("PUT /api/conversations/{id}/notifications", s.handlePutConversationNotifications)
	user("GET /api/me/notifications", s.handleGetNotifications)
	user("PATCH /api/me/notifications", s.handlePatchNotifications)
	user("GET /api/conversations/{id}/receipts", s.handleReceipts)
	user("POST /api/conversations/{id}/typing", s.handleTyping)
	user("GET /api/files/{id}/{file}", s.handleFile)
	user("GET /api/search", s.handleSearch)
	s.integrationRoutes(mux, user)
	mux.Handle("/api/", s.apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		return chat.Errorf(chat.ENotFound, "no such API endpoint")
	}))
	mux.HandleFunc("GET /ws", s.handleWS)
	mux.HandleFunc("GET /reset", s.handleResetPage)
	s.healthRoutes(mux)
	mux.HandleFunc("/", s.handleStatic)
	return s.limitConns(s.secure(mux))
}

// apiHandler wraps an API handler: state-changing methods need the CSRF token; errors are
// written once, here.
func (s *Server) apiHandler(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// First: even a refused request's body is read (to keep the connection), and a
			// client must not hold it open by sending that body slowly.
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				bodyDeadline(w, s.UploadBodyDeadline)
			} else {
				bodyDeadline(w, s.JSONBodyDeadline)
			}
			// A request with a bearer token is not a browser's (a page cannot add the header
			// to a cross-site request without a CORS preflight, which is never granted): it
			// needs no CSRF token, and userHandler accepts only the token then.
			if _, bearer := bearerToken(r); !bearer {
				if err := s.checkCSRF(r); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

type ctxKey int

const sessionKey ctxKey = 1

// userHandler wraps an API handler that needs a logged-in account.
func (s *Server) userHandler(h func(w http.ResponseWriter, r *http.Request, me chat.Account) error) http.Handler {
	return s.apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		me, sess, err := s.authenticate(r)
		if err != nil {
			return err
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey, sess))
		return h(w, r, me)
	})
}

// authenticate returns the account of the request and the hash that names its connections:
// with an "Authorization: Bearer" header, the access token's (and never the cookie's);
// otherwise the session cookie's.
func (s *Server) authenticate(r *http.Request) (me chat.Account, sessHash string, err error) {
	if tok, ok := bearerToken(r); ok {
		return s.App.AuthenticateToken(r.Context(), tok)
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return me, "", chat.Errorf(chat.EUnauthorized, "not logged in")
	}
	id, ok := s.Signer.Verify("session", c.Value)
	if !ok {
		return me, "", chat.Errorf(chat.EUnauthorized, "not logged in")
	}
	h := auth.HashToken(id)
	me, err = s.App.Authenticate(r.Context(), h)
	if err != nil {
		return me, "", err
	}
	return me, h, nil
}

func sessionOf(r *http.Request) string {
	v, _ := r.Context().Value(sessionKey).(string)
	return v
}

func (s *Server) handleCSRF(w http.ResponseWriter, r *http.Request) error {
	tok := ""
	if c, err := r.Cookie(csrfCookie); err == nil && s.validCSRF(c.Value) {
		tok = c.Value
	} else {
		c := s.newCSRFCookie()
		http.SetCookie(w, c)
		tok = c.Value
	}
	writeJSON(w, 200, map[string]string{"csrf_token": tok})
	return nil
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) error {
	st := s.App.Settings.Get()
	writeJSON(w, 200, map[string]any{"registration": st.Registration, "max_upload_mb": st.MaxUploadMB, "version": s.Version})
	return nil
}

// handleStatic serves the browser app: files of Web, and index.html for every other path.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		if f, err := fs.Stat(s.Web, p); err == nil && !f.IsDir() && !strings.HasSuffix(p, ".go") {
			s.serveWebFile(w, r, p)
			return
		}
		if strings.Contains(p, ".") {
			http.NotFound(w, r)
			return
		}
	}
	s.serveWebFile(w, r, "index.html")
}

// handleResetPage serves the password-reset page; the token in its URL must not leak through
// the Referer header.
func (s *Server) handleResetPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	http.ServeFileFS(w, r, s.Web, "reset.html")
}
