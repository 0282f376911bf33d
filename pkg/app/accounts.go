package app

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/chat"
)

// UserView is the public profile of an account as the API shows it.
func UserView(u chat.UserRecord) chat.User {
	out := chat.User{Username: u.Username, DisplayName: u.DisplayName, Theme: u.Theme, CreatedTS: u.CreatedTS, Bot: u.Bot}
	if out.DisplayName == "" {
		out.DisplayName = u.Username
	}
	if u.AvatarFile != "" {
		out.AvatarURL = "/api/avatars/" + u.AvatarFile
	}
	return out
}

// CreateAccount makes an account: registration and the admin's `users create` both come
// here. The name and password are checked, the password hashed, the account created with the
// recent history of the public channels, and every connected client told.
func (a *App) CreateAccount(ctx context.Context, name, password string) (chat.UserRecord, error) {
	if err := chat.ValidateUsername(name); err != nil {
		return chat.UserRecord{}, err
	}
	if err := chat.ValidatePassword(password); err != nil {
		return chat.UserRecord{}, err
	}
	if err := a.nameFree(ctx, name); err != nil {
		return chat.UserRecord{}, err
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return chat.UserRecord{}, err
	}
	return a.newAccount(ctx, name, hash, nil)
}

// nameFree reports EConflict when an account holds name.
func (a *App) nameFree(ctx context.Context, name string) error {
	if _, err := a.Store.GetUser(ctx, name); err == nil {
		return chat.Errorf(chat.EConflict, "an account named %q already exists", name)
	} else if chat.ErrorCode(err) != chat.ENotFound {
		return err
	}
	return nil
}

// newAccount creates the account name with a password hash ("" for none) and the recent
// history of the public channels, runs setup on it (nil: nothing), and tells every connected
// client.
func (a *App) newAccount(ctx context.Context, name, hash string, setup func() error) (chat.UserRecord, error) {
	if _, err := a.Store.CreateUser(ctx, name, hash, a.Settings.Get().Channels); err != nil {
		return chat.UserRecord{}, err
	}
	if setup != nil {
		if err := setup(); err != nil {
			return chat.UserRecord{}, err
		}
	}
	u, err := a.Store.GetUser(ctx, name)
	if err != nil {
		return chat.UserRecord{}, err
	}
	a.Logger.Info("account created", "user", name, "id", u.ID, "bot", u.Bot)
	if err := a.publishAll(ctx, chat.UserChanged{User: UserView(u)}); err != nil {
		return chat.UserRecord{}, err
	}
	return u, nil
}

// joinedLine posts "carol joined" into the first public channel of settings.json when a
// person registers. Every account is a member of every public channel, so one line in the
// first (the default, "general") tells everyone once instead of once per channel: one system
// message, fanned out like any. Accounts an administrator creates (minimostctl users create,
// often many at once, before their people arrive) and bots are not announced. A failure is
// logged: the account exists either way.
func (a *App) joinedLine(ctx context.Context, acct chat.Account) {
	channels := a.Settings.Get().Channels
	if len(channels) == 0 {
		return
	}
	c, err := a.Resolve(ctx, acct, "c:"+channels[0])
	if err != nil {
		a.Logger.Warn("post a joined line", "user", acct.Name, "err", err)
		return
	}
	a.systemLine(ctx, c, acct.Name+" joined")
}

// Register is self-service registration: CreateAccount while settings.json allows it, then
// "name joined" in the first public channel.
func (a *App) Register(ctx context.Context, name, password string) (chat.UserRecord, error) {
	if a.Settings.Get().Registration != "open" {
		return chat.UserRecord{}, chat.Errorf(chat.EForbidden, "registration is closed; ask your administrator for an account")
	}
	u, err := a.CreateAccount(ctx, name, password)
	if err != nil {
		return chat.UserRecord{}, err
	}
	a.joinedLine(ctx, u.Account())
	return u, nil
}

// Login checks a username and password. An unknown user is checked against a dummy hash:
// same answer, same time.
func (a *App) Login(ctx context.Context, name, password string) (chat.UserRecord, error) {
	wrong := chat.Errorf(chat.EUnauthorized, "wrong username or password")
	if len(name) > 64 || len(password) > chat.MaxPasswordBytes {
		return chat.UserRecord{}, wrong
	}
	u, err := a.Store.GetUser(ctx, name)
	if err != nil && chat.ErrorCode(err) != chat.ENotFound {
		return chat.UserRecord{}, err
	}
	ok, err := a.Hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return chat.UserRecord{}, err
	}
	if !ok || u.ID == "" || u.Bot {
		return chat.UserRecord{}, wrong
	}
	return u, nil
}

// StartSession records a new session of account acct and returns its id (for the signed
// cookie; only its hash is stored) and when it expires.
func (a *App) StartSession(ctx context.Context, acct chat.Account, userAgent string) (id string, expires time.Time, err error) {
	id, hash := auth.NewSessionID()
	expires = a.Now().Add(a.SessionTTL)
	if err := a.Store.CreateSession(ctx, hash, acct, expires.Unix(), userAgent); err != nil {
		return "", time.Time{}, err
	}
	return id, expires, nil
}

// Authenticate returns the account of a live session (by the hash of its id). A session
// unused for session_idle_days has ended.
func (a *App) Authenticate(ctx context.Context, sessionHash string) (chat.Account, error) {
	idle := time.Duration(a.Settings.Get().SessionIdleDays) * 24 * time.Hour
	return a.Store.LookupSession(ctx, sessionHash, idle)
}

// LogoutEverywhere ends every session of me, on every device, and closes their connections.
func (a *App) LogoutEverywhere(ctx context.Context, me chat.Account) error {
	if _, err := a.account(ctx, me); err != nil {
		return err
	}
	if err := a.Store.EndSessions(ctx, me.Name); err != nil {
		return err
	}
	a.Closer.CloseUser(me.ID, "")
	a.Logger.Info("logged out everywhere", "user", me.Name)
	return nil
}

// Alive reports whether me is still an account that exists (from a snapshot at most a second
// old): a connection of an account deleted by hand is closed without waiting for it to act.
func (a *App) Alive(ctx context.Context, me chat.Account) bool {
	d, err := a.Store.Accounts(ctx)
	return err != nil || d.Exists(me) // on a read error, keep the connection
}

// Logout ends one session and closes its connections.
func (a *App) Logout(ctx context.Context, sessionHash string) error {
	if err := a.Store.DeleteSession(ctx, sessionHash); err != nil {
		return err
	}
	a.Closer.CloseSession(sessionHash)
	return nil
}

// Me returns me's profile.
func (a *App) Me(ctx context.Context, me chat.Account) (chat.User, error) {
	u, err := a.account(ctx, me)
	if err != nil {
		return chat.User{}, err
	}
	return UserView(u), nil
}

// account returns the record of me if me still exists (the same account, not a later one
// of the same name).
func (a *App) account(ctx context.Context, me chat.Account) (chat.UserRecord, error) {
	if me.IsZero() {
		return chat.UserRecord{}, chat.Errorf(chat.EUnauthorized, "not logged in")
	}
	u, err := a.Store.GetUser(ctx, me.Name)
	if err != nil {
		return u, err
	}
	if u.ID != me.ID {
		return chat.UserRecord{}, chat.Errorf(chat.ENotFound, "no such user %q", me.Name)
	}
	return u, nil
}

func (a *App) checkPassword(ctx context.Context, me chat.Account, pw string) error {
	u, err := a.account(ctx, me)
	if err != nil {
		return err
	}
	ok, err := a.Hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil {
		return err
	}
	if !ok {
		return chat.Errorf(chat.EForbidden, "current password is wrong")
	}
	return nil
}

// ChangePassword sets me's password after checking the current one, and ends every other
// session of me (keepSession is the caller's own, by id hash).
func (a *App) ChangePassword(ctx context.Context, me chat.Account, keepSession, current, next string) error {
	if err := chat.ValidatePassword(next); err != nil {
		return err
	}
	if err := a.checkPassword(ctx, me, current); err != nil {
		return err
	}
	hash, err := a.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if err := a.Store.SetPassword(ctx, me.Name, hash, keepSession); err != nil {
		return err
	}
	a.Closer.CloseUser(me.ID, keepSession)
	a.Logger.Info("password changed", "user", me.Name)
	return nil
}

// IssueResetLink stores a single-use password-reset token for the account named user, valid
// for expires, sends the account a system DM that a reset was requested, and returns the
// link built on baseURL ("" for the server's public URL) and when it expires.
func (a *App) IssueResetLink(ctx context.Context, user string, expires time.Duration, baseURL string) (string, int64, error) {
	if expires < time.Minute || expires > 30*24*time.Hour {
		return "", 0, chat.Errorf(chat.EInvalid, "expiry must be between 1 minute and 30 days")
	}
	if baseURL == "" {
		baseURL = a.PublicURL()
	}
	if !strings.HasPrefix(baseURL, "https://") && !strings.HasPrefix(baseURL, "http://") {
		return "", 0, chat.Errorf(chat.EInvalid, "base URL must start with https:// or http://")
	}
	if u, err := a.Store.GetUser(ctx, user); err == nil && u.Bot {
		return "", 0, chat.Errorf(chat.EInvalid, "%s is a bot account: it has no password; give it an access token (minimostctl tokens create)", user)
	}
	token, hash := auth.NewResetToken()
	exp := a.Now().Add(expires).Unix()
	acct, err := a.Store.CreateResetToken(ctx, hash, user, exp)
	if err != nil {
		return "", 0, err
	}
	notice := "A password reset was requested for your account by an administrator. " +
		"If you did not ask for one, tell your administrator. The reset link expires at " +
		time.Unix(exp, 0).UTC().Format("2006-01-02 15:04 UTC") + "."
	if err := a.systemDM(ctx, acct, notice); err != nil {
		return "", 0, err
	}
	a.Logger.Info("password reset link issued", "user", user, "expires_ts", exp)
	return strings.TrimRight(baseURL, "/") + "/reset?token=" + token, exp, nil
}

// ErrBadResetToken is the one answer for an unknown, used or expired reset token.
var ErrBadResetToken = chat.Errorf(chat.EInvalid, "this reset link is invalid, expired or already used; ask your administrator for a new one")

// ResetPassword sets a new password with a reset token, ending every session of the account.
func (a *App) ResetPassword(ctx context.Context, token, password string) error {
	if err := chat.ValidatePassword(password); err != nil {
		return err
	}
	if len(token) < 20 || len(token) > 100 {
		return ErrBadResetToken
	}
	th := auth.HashToken(token)
	if !a.Store.CheckResetToken(ctx, th) {
		return ErrBadResetToken
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	acct, err := a.Store.ConsumeResetToken(ctx, th, hash)
	if err != nil {
		return err
	}
	a.Closer.CloseUser(acct.ID, "")
	a.Logger.Info("password reset with a token", "user", acct.Name)
	return nil
}

// DeleteAccount deletes the account named user (mode "soft" or "hard"): the admin's
// `users delete` and the Danger Zone both come here. Its connections end at once and every
// other account is told.
func (a *App) DeleteAccount(ctx context.Context, user, mode string) error {
	if mode != "soft" && mode != "hard" {
		return chat.Errorf(chat.EInvalid, "mode must be soft or hard")
	}
	u, err := a.Store.GetUser(ctx, user)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteUser(ctx, user, mode); err != nil {
		return err
	}
	a.Closer.CloseUser(u.ID, "")
	a.Closer.Forget(u.ID)
	return a.publishAll(ctx, chat.UserDeleted{Username: user, Mode: mode})
}

// DeleteOwnAccount is the Danger Zone: me deletes their own account with their password.
func (a *App) DeleteOwnAccount(ctx context.Context, me chat.Account, password, mode string) error {
	if mode != "soft" && mode != "hard" {
		return chat.Errorf(chat.EInvalid, "mode must be soft or hard")
	}
	if err := a.checkPassword(ctx, me, password); err != nil {
		return err
	}
	return a.DeleteAccount(ctx, me.Name, mode)
}

func validDisplayName(n string) error {
	if utf8.RuneCountInString(n) > 64 {
		return chat.Errorf(chat.EInvalid, "display name must be at most 64 characters")
	}
	for _, r := range n {
		// Format characters (bidi overrides such as U+202E, zero-width ones) would let a name
		// pass for another, as they are refused in file names.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return chat.Errorf(chat.EInvalid, "display name may not contain control or invisible formatting characters")
		}
	}
	return nil
}

// UpdateProfile sets me's display name and theme (nil leaves one unchanged).
func (a *App) UpdateProfile(ctx context.Context, me chat.Account, displayName, theme *string) (chat.User, error) {
	if _, err := a.account(ctx, me); err != nil {
		return chat.User{}, err
	}
	if displayName != nil {
		t := strings.TrimSpace(*displayName)
		if err := validDisplayName(t); err != nil {
			return chat.User{}, err
		}
		displayName = &t
	}
	if theme != nil && *theme != "light" && *theme != "dark" {
		return chat.User{}, chat.Errorf(chat.EInvalid, "theme must be light or dark")
	}
	if err := a.Store.UpdateProfile(ctx, me.Name, displayName, theme); err != nil {
		return chat.User{}, err
	}
	return a.profileChanged(ctx, me)
}

func (a *App) profileChanged(ctx context.Context, me chat.Account) (chat.User, error) {
	u, err := a.account(ctx, me)
	if err != nil {
		return chat.User{}, err
	}
	v := UserView(u)
	if err := a.publishAll(ctx, chat.UserChanged{User: v}); err != nil {
		return chat.User{}, err
	}
	return v, nil
}

// SetAvatar stores data (a PNG, JPEG, GIF or WebP image) as me's avatar, re-encoded as a
// PNG of at most AvatarSide pixels a side.
func (a *App) SetAvatar(ctx context.Context, me chat.Account, data []byte) (chat.User, error) {
	if _, err := a.account(ctx, me); err != nil {
		return chat.User{}, err
	}
	if _, ok := RasterTypes[http.DetectContentType(data)]; !ok {
		return chat.User{}, chat.Errorf(chat.EInvalid, "an avatar must be a PNG, JPEG, GIF or WebP image")
	}
	img, err := avatarPNG(data)
	if err != nil {
		return chat.User{}, err
	}
	name := randomName(".png")
	path := a.AvatarPath(name)
	if err := writeFileSync(path, img); err != nil {
		return chat.User{}, err
	}
	old, err := a.Store.SetAvatar(ctx, me.Name, name)
	if err != nil {
		os.Remove(path)
		return chat.User{}, err
	}
	a.removeAvatar(old)
	return a.profileChanged(ctx, me)
}

// RemoveAvatar removes me's avatar.
func (a *App) RemoveAvatar(ctx context.Context, me chat.Account) (chat.User, error) {
	if _, err := a.account(ctx, me); err != nil {
		return chat.User{}, err
	}
	old, err := a.Store.SetAvatar(ctx, me.Name, "")
	if err != nil {
		return chat.User{}, err
	}
	a.removeAvatar(old)
	return a.profileChanged(ctx, me)
}

func (a *App) removeAvatar(file string) {
	if file != "" && filepath.Base(file) == file {
		if err := os.Remove(a.AvatarPath(file)); err != nil && !os.IsNotExist(err) {
			a.Logger.Warn("remove old avatar", "file", file, "err", err)
		}
	}
}

// Avatar returns the path and content type of an avatar file, for any logged-in account.
func (a *App) Avatar(ctx context.Context, me chat.Account, file string) (path, ctype string, err error) {
	if _, err := a.caller(ctx, me); err != nil {
		return "", "", err
	}
	if filepath.Base(file) != file || strings.HasPrefix(file, ".") {
		return "", "", chat.Errorf(chat.ENotFound, "not found")
	}
	if _, err := a.Store.AvatarOwner(ctx, file); err != nil {
		return "", "", err
	}
	ext := strings.ToLower(filepath.Ext(file))
	for t, e := range RasterTypes {
		if e == ext {
			ctype = t
		}
	}
	if ctype == "" {
		return "", "", chat.Errorf(chat.ENotFound, "not found")
	}
	return a.AvatarPath(file), ctype, nil
}

// UserPresence is an account's profile with its presence.
type UserPresence struct {
	chat.User
	Presence string `json:"presence"`
}

// Users lists every account with its presence ("offline" unless connected).
func (a *App) Users(ctx context.Context, me chat.Account) ([]UserPresence, error) {
	if _, err := a.caller(ctx, me); err != nil {
		return nil, err
	}
	us, err := a.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	pres, err := a.presences(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UserPresence, 0, len(us))
	for _, u := range us {
		p := pres[u.Username]
		if p == "" || a.Conns.Connections(u.ID) == 0 {
			p = "offline"
		}
		out = append(out, UserPresence{UserView(u), p})
	}
	return out, nil
}
