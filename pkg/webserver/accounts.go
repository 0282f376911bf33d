package webserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"image"
	_ "image/gif"  // decode GIF avatars
	_ "image/jpeg" // decode JPEG avatars
	_ "image/png"  // decode PNG avatars
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/store"
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

// userJSON is the API view of an account.
func (s *Server) userJSON(u store.UserRecord) chat.User {
	out := chat.User{Username: u.Username, DisplayName: u.DisplayName, Theme: u.Theme, CreatedTS: u.CreatedTS}
	if out.DisplayName == "" {
		out.DisplayName = u.Username
	}
	if u.AvatarFile != "" {
		out.AvatarURL = "/api/avatars/" + u.AvatarFile
	}
	return out
}

func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, user string) error {
	id, hash := auth.NewSessionID()
	exp := s.Now().Add(s.SessionTTL)
	if err := s.Store.CreateSession(ctx, hash, user, exp.Unix(), r.UserAgent()); err != nil {
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
	if s.Settings.Get().Registration != "open" {
		return chat.Errorf(chat.EForbidden, "registration is closed; ask your administrator for an account")
	}
	if ok, wait := s.registerIP.Allow(s.clientAddr(r)); !ok {
		return tooMany(wait)
	}
	if err := chat.ValidateUsername(c.Username); err != nil {
		return err
	}
	if err := chat.ValidatePassword(c.Password); err != nil {
		return err
	}
	if ok, err := s.Store.UserExists(r.Context(), c.Username); err != nil {
		return err
	} else if ok {
		return chat.Errorf(chat.EConflict, "that username is taken")
	}
	hash, err := s.Hasher.Hash(r.Context(), c.Password)
	if err != nil {
		return err
	}
	if err := s.Store.CreateUser(r.Context(), c.Username, hash, s.Settings.Get().Channels); err != nil {
		return err
	}
	if err := s.startSession(r.Context(), w, r, c.Username); err != nil {
		return err
	}
	u, err := s.Store.GetUser(r.Context(), c.Username)
	if err != nil {
		return err
	}
	s.Logger.Info("account registered", "user", c.Username)
	s.Hub.Publish(s.allUsers(r.Context()), map[string]any{"type": "user", "user": s.userJSON(u)})
	writeJSON(w, http.StatusCreated, map[string]any{"user": s.userJSON(u)})
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
	if len(c.Username) > 64 || len(c.Password) > chat.MaxPasswordBytes {
		return chat.Errorf(chat.EUnauthorized, "wrong username or password")
	}
	if ok, wait := s.loginUser.Allow(c.Username); !ok {
		return tooMany(wait)
	}
	u, err := s.Store.GetUser(r.Context(), c.Username)
	if err != nil && chat.ErrorCode(err) != chat.ENotFound {
		return err
	}
	// An unknown user is verified against a dummy hash: same answer, same time.
	ok, err := s.Hasher.Verify(r.Context(), u.PasswordHash, c.Password)
	if err != nil {
		return err
	}
	if !ok {
		return chat.Errorf(chat.EUnauthorized, "wrong username or password")
	}
	// Only failed attempts count against a username: someone logging in from several
	// devices is not locked out.
	s.loginUser.Reset(u.Username)
	if err := s.startSession(r.Context(), w, r, u.Username); err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"user": s.userJSON(u)})
	return nil
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if _, sess, err := s.authenticate(r); err == nil {
		if err := s.Store.DeleteSession(r.Context(), sess); err != nil {
			return err
		}
		s.Hub.CloseSession(sess)
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, user string) error {
	u, err := s.Store.GetUser(r.Context(), user)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"user": s.userJSON(u)})
	return nil
}

func validDisplayName(n string) error {
	if utf8.RuneCountInString(n) > 64 {
		return chat.Errorf(chat.EInvalid, "display name must be at most 64 characters")
	}
	for _, r := range n {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return chat.Errorf(chat.EInvalid, "display name may not contain control characters")
		}
	}
	return nil
}

func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request, user string) error {
	var req struct {
		DisplayName *string `json:"display_name"`
		Theme       *string `json:"theme"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.DisplayName != nil {
		t := strings.TrimSpace(*req.DisplayName)
		if err := validDisplayName(t); err != nil {
			return err
		}
		req.DisplayName = &t
	}
	if req.Theme != nil && *req.Theme != "light" && *req.Theme != "dark" {
		return chat.Errorf(chat.EInvalid, "theme must be light or dark")
	}
	if err := s.Store.UpdateProfile(r.Context(), user, req.DisplayName, req.Theme); err != nil {
		return err
	}
	return s.respondUser(w, r, user)
}

func (s *Server) respondUser(w http.ResponseWriter, r *http.Request, user string) error {
	u, err := s.Store.GetUser(r.Context(), user)
	if err != nil {
		return err
	}
	s.Hub.Publish(s.allUsers(r.Context()), map[string]any{"type": "user", "user": s.userJSON(u)})
	writeJSON(w, 200, map[string]any{"user": s.userJSON(u)})
	return nil
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request, user string) error {
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
	if ok, wait := s.loginUser.Allow(user); !ok {
		return tooMany(wait)
	}
	if err := s.checkPassword(r.Context(), user, req.Current); err != nil {
		return err
	}
	s.loginUser.Reset(user)
	hash, err := s.Hasher.Hash(r.Context(), req.New)
	if err != nil {
		return err
	}
	sess := sessionOf(r)
	if err := s.Store.SetPassword(r.Context(), user, hash, sess); err != nil {
		return err
	}
	s.Hub.CloseUser(user, sess)
	s.Logger.Info("password changed", "user", user)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) checkPassword(ctx context.Context, user, pw string) error {
	u, err := s.Store.GetUser(ctx, user)
	if err != nil {
		return err
	}
	ok, err := s.Hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil {
		return err
	}
	if !ok {
		return chat.Errorf(chat.EForbidden, "current password is wrong")
	}
	return nil
}

// rasterTypes are the image types shown inline and accepted as avatars, by sniffed type.
var rasterTypes = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}

func (s *Server) maxUpload() int64 { return int64(s.Settings.Get().MaxUploadMB) << 20 }

// readUpload reads the multipart file field, up to the size limit, and the small text
// fields around it.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request, field string) (data []byte, filename string, fields map[string]string, err error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return nil, "", nil, &chat.Error{Code: "unsupported_media_type", Message: "send the file as multipart/form-data"}
	}
	limit := s.maxUpload()
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", nil, chat.Errorf(chat.EInvalid, "malformed multipart body")
	}
	fields = map[string]string{}
	found := false
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", nil, uploadErr(err, limit)
		}
		if p.FormName() != field || found {
			b, err := io.ReadAll(io.LimitReader(p, maxJSONBody+1))
			if err != nil {
				return nil, "", nil, uploadErr(err, limit)
			}
			if len(b) > maxJSONBody || !utf8.Valid(b) {
				return nil, "", nil, chat.Errorf(chat.EInvalid, "form field %q is too long or not UTF-8", p.FormName())
			}
			fields[p.FormName()] = string(b)
			continue
		}
		data, err = io.ReadAll(io.LimitReader(p, limit+1))
		if err != nil {
			return nil, "", nil, uploadErr(err, limit)
		}
		if int64(len(data)) > limit {
			return nil, "", nil, chat.Errorf(chat.ETooLarge, "file is larger than %d MB", limit>>20)
		}
		filename, found = p.FileName(), true
	}
	if !found {
		return nil, "", nil, chat.Errorf(chat.EInvalid, "missing file field %q", field)
	}
	return data, filename, fields, nil
}

func uploadErr(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return chat.Errorf(chat.ETooLarge, "file is larger than %d MB", limit>>20)
	}
	return chat.Errorf(chat.EInvalid, "malformed multipart body")
}

func randomName(ext string) string {
	return strings.ToLower(rand.Text()) + ext
}

func (s *Server) handleAvatarUpload(w http.ResponseWriter, r *http.Request, user string) error {
	data, _, _, err := s.readUpload(w, r, "avatar")
	if err != nil {
		return err
	}
	ext, ok := rasterTypes[http.DetectContentType(data)]
	if !ok {
		return chat.Errorf(chat.EInvalid, "an avatar must be a PNG, JPEG, GIF or WebP image")
	}
	if ext != ".webp" {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width < 1 || cfg.Height < 1 || cfg.Width > 8192 || cfg.Height > 8192 {
			return chat.Errorf(chat.EInvalid, "the avatar is not a readable image (at most 8192×8192)")
		}
	}
	name := randomName(ext)
	path := filepath.Join(s.Store.Dir(), "avatars", name)
	if err := writeFileSync(path, data); err != nil {
		return err
	}
	old, err := s.Store.SetAvatar(r.Context(), user, name)
	if err != nil {
		os.Remove(path)
		return err
	}
	if old != "" && filepath.Base(old) == old {
		os.Remove(filepath.Join(s.Store.Dir(), "avatars", old))
	}
	return s.respondUser(w, r, user)
}

func (s *Server) handleAvatarDelete(w http.ResponseWriter, r *http.Request, user string) error {
	old, err := s.Store.SetAvatar(r.Context(), user, "")
	if err != nil {
		return err
	}
	if old != "" && filepath.Base(old) == old {
		os.Remove(filepath.Join(s.Store.Dir(), "avatars", old))
	}
	return s.respondUser(w, r, user)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return chat.Errorf(chat.EUnavailable, "cannot store the file: %v", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return chat.Errorf(chat.EUnavailable, "cannot store the file: %v", err)
	}
	return f.Close()
}

// handleAvatar serves an avatar to a logged-in user.
func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request, user string) error {
	file := r.PathValue("file")
	if filepath.Base(file) != file || strings.HasPrefix(file, ".") {
		return chat.Errorf(chat.ENotFound, "not found")
	}
	if _, err := s.Store.AvatarOwner(r.Context(), file); err != nil {
		return err
	}
	ext := strings.ToLower(filepath.Ext(file))
	ctype := ""
	for t, e := range rasterTypes {
		if e == ext {
			ctype = t
		}
	}
	if ctype == "" {
		return chat.Errorf(chat.ENotFound, "not found")
	}
	f, err := os.Open(filepath.Join(s.Store.Dir(), "avatars", file))
	if err != nil {
		return chat.Errorf(chat.ENotFound, "not found")
	}
	defer f.Close()
	fi, _ := f.Stat()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, max-age=86400")
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, user string) error {
	us, err := s.Store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	pres, err := s.Store.Presences(r.Context())
	if err != nil {
		return err
	}
	type userPresence struct {
		chat.User
		Presence string `json:"presence"`
	}
	out := make([]userPresence, 0, len(us))
	for _, u := range us {
		p := pres[u.Username]
		if p == "" || s.Hub.Connections(u.Username) == 0 {
			p = "offline"
		}
		out = append(out, userPresence{s.userJSON(u), p})
	}
	writeJSON(w, 200, map[string]any{"users": out})
	return nil
}

func (s *Server) handleDeleteMe(w http.ResponseWriter, r *http.Request, user string) error {
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
	if ok, wait := s.loginUser.Allow(user); !ok {
		return tooMany(wait)
	}
	if err := s.checkPassword(r.Context(), user, req.Password); err != nil {
		return err
	}
	if err := s.DeleteAccount(r.Context(), user, req.Mode); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// DeleteAccount deletes user (mode soft or hard), ends their connections at once and tells
// everyone else. The admin service uses the same path.
func (s *Server) DeleteAccount(ctx context.Context, user, mode string) error {
	if err := s.Store.DeleteUser(ctx, user, mode); err != nil {
		return err
	}
	s.Hub.CloseUser(user, "")
	s.Hub.Forget(user)
	s.Hub.Publish(s.allUsers(ctx), map[string]any{"type": "user.deleted", "username": user, "mode": mode})
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
	if err := chat.ValidatePassword(req.NewPassword); err != nil {
		return err
	}
	if len(req.Token) < 20 || len(req.Token) > 100 {
		return store.ErrBadToken
	}
	th := auth.HashToken(req.Token)
	if !s.Store.CheckResetToken(r.Context(), th) {
		return store.ErrBadToken
	}
	hash, err := s.Hasher.Hash(r.Context(), req.NewPassword)
	if err != nil {
		return err
	}
	user, err := s.Store.ConsumeResetToken(r.Context(), th, hash)
	if err != nil {
		return err
	}
	s.Hub.CloseUser(user, "")
	s.Logger.Info("password reset with a token", "user", user)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
