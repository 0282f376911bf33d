package webserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/chat"
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func tooMany(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &chat.Error{Code: chat.ETooMany, Message: "too many attempts, try again in " + strconv.Itoa(secs) + " s", RetryAfter: secs}
}

// startSession starts a session of acct and sets its signed cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, acct chat.Account) error {
	id, exp, err := s.App.StartSession(r.Context(), acct, r.UserAgent())
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.Signer.Sign("session", id), Path: "/", Expires: exp,
		HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) error {
	var c credentials
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	if s.App.Settings.Get().Registration != "open" {
		return chat.Errorf(chat.EForbidden, "registration is closed; ask your administrator for an account")
	}
	if ok, wait := s.registerIP.Allow(s.clientAddr(r)); !ok {
		return tooMany(wait)
	}
	u, err := s.App.Register(r.Context(), c.Username, c.Password)
	if err != nil {
		return err
	}
	if err := s.startSession(w, r, u.Account()); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": app.UserView(u)})
	return nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var c credentials
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	if ok, wait := s.loginIP.Allow(s.clientAddr(r)); !ok {
		return tooMany(wait)
	}
	// Failed attempts count per (address, username): guesses from elsewhere cannot lock the
	// real user out, and only failures count, so someone on several devices is not either.
	key := s.clientAddr(r) + "\x00" + c.Username
	if len(c.Username) <= 64 {
		if ok, wait := s.loginUser.Allow(key); !ok {
			return tooMany(wait)
		}
	}
	u, err := s.App.Login(r.Context(), c.Username, c.Password)
	if err != nil {
		return err
	}
	s.loginUser.Reset(key)
	if err := s.startSession(w, r, u.Account()); err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"user": app.UserView(u)})
	return nil
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if _, sess, err := s.authenticate(r); err == nil {
		if err := s.App.Logout(r.Context(), sess); err != nil {
			return err
		}
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleLogoutAll ends every session of the caller, this one included ("log out everywhere").
func (s *Server) handleLogoutAll(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	if err := s.App.LogoutEverywhere(r.Context(), me); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	u, err := s.App.Me(r.Context(), me)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"user": u})
	return nil
}

func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		DisplayName *string `json:"display_name"`
		Theme       *string `json:"theme"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.App.UpdateProfile(r.Context(), me, req.DisplayName, req.Theme)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"user": u})
	return nil
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := chat.ValidatePassword(req.New); err != nil {
		return err
	}
	if ok, wait := s.loginUser.Allow(me.Name); !ok {
		return tooMany(wait)
	}
	if err := s.App.ChangePassword(r.Context(), me, sessionOf(r), req.Current, req.New); err != nil {
		return err
	}
	s.loginUser.Reset(me.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) maxUpload() int64 { return int64(s.App.Settings.Get().MaxUploadMB) << 20 }

// readUpload reads a multipart body: the file field is copied into dst, up to the size limit,
// and the small text fields around it are returned.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request, field string, dst io.Writer) (filename string, fields map[string]string, err error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return "", nil, chat.Errorf(chat.EMediaType, "send the file as multipart/form-data")
	}
	limit := s.maxUpload()
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, chat.Errorf(chat.EInvalid, "malformed multipart body")
	}
	fields = map[string]string{}
	found := false
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, uploadErr(err, limit)
		}
		if p.FormName() != field || found {
			b, err := io.ReadAll(io.LimitReader(p, maxJSONBody+1))
			if err != nil {
				return "", nil, uploadErr(err, limit)
			}
			if len(b) > maxJSONBody || !utf8.Valid(b) {
				return "", nil, chat.Errorf(chat.EInvalid, "form field %q is too long or not UTF-8", p.FormName())
			}
			fields[p.FormName()] = string(b)
			continue
		}
		src := &readErrs{r: io.LimitReader(p, limit+1)}
		n, err := io.Copy(dst, src)
		switch {
		case src.err != nil:
			return "", nil, uploadErr(src.err, limit)
		case errors.Is(err, errTooBig):
			return "", nil, chat.Errorf(chat.ETooLarge, "the file is larger than %d MB", maxAvatarBytes>>20)
		case err != nil:
			return "", nil, fmt.Errorf("store the file: %w", err)
		}
		if n > limit {
			return "", nil, chat.Errorf(chat.ETooLarge, "file is larger than %d MB", limit>>20)
		}
		filename, found = p.FileName(), true
	}
	if !found {
		return "", nil, chat.Errorf(chat.EInvalid, "missing file field %q", field)
	}
	return filename, fields, nil
}

// readErrs remembers a read error, to tell the client's fault (a broken or oversized body)
// from the server's (a full disk).
type readErrs struct {
	r   io.Reader
	err error
}

func (r *readErrs) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// maxAvatarBytes bounds an avatar upload, which is decoded in memory to be re-encoded.
const maxAvatarBytes = 10 << 20

func uploadErr(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return chat.Errorf(chat.ETooLarge, "file is larger than %d MB", limit>>20)
	}
	return chat.Errorf(chat.EInvalid, "malformed multipart body")
}

func (s *Server) handleAvatarUpload(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var buf bytes.Buffer
	if _, _, err := s.readUpload(w, r, "avatar", &limitedWriter{w: &buf, n: maxAvatarBytes}); err != nil {
		return err
	}
	data := buf.Bytes()
	u, err := s.App.SetAvatar(r.Context(), me, data)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"user": u})
	return nil
}

func (s *Server) handleAvatarDelete(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	u, err := s.App.RemoveAvatar(r.Context(), me)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"user": u})
	return nil
}

var errTooBig = errors.New("too big")

// limitedWriter fails with errTooBig once more than n bytes are written.
type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errTooBig
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// handleAvatar serves an avatar to a logged-in user.
func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	path, ctype, err := s.App.Avatar(r.Context(), me, r.PathValue("file"))
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return chat.Errorf(chat.ENotFound, "not found")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return chat.Errorf(chat.ENotFound, "not found")
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, max-age=86400")
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	us, err := s.App.Users(r.Context(), me)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"users": us})
	return nil
}

func (s *Server) handleDeleteMe(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Password string `json:"password"`
		Mode     string `json:"mode"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Mode != "soft" && req.Mode != "hard" {
		return chat.Errorf(chat.EInvalid, "mode must be soft or hard")
	}
	if ok, wait := s.loginUser.Allow(me.Name); !ok {
		return tooMany(wait)
	}
	if err := s.App.DeleteOwnAccount(r.Context(), me, req.Password, req.Mode); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleResetPassword sets a new password with a reset token.
func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer")
	var req struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if ok, wait := s.resetIP.Allow(s.clientAddr(r)); !ok {
		return tooMany(wait)
	}
	if err := s.App.ResetPassword(r.Context(), req.Token, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
