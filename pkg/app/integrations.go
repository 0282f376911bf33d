package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/minimost/minimost/pkg/auth"
	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/slack"
)

// Integrations is the part of auth.db that holds bots, access tokens, webhooks and slash
// commands (secrets by their hash).
type Integrations interface {
	MarkBot(ctx context.Context, name string) error
	CreateToken(ctx context.Context, t chat.Token, tokenHash string) error
	LookupToken(ctx context.Context, tokenHash string) (chat.Account, string, error)
	ListTokens(ctx context.Context, name string) ([]chat.Token, error)
	RevokeToken(ctx context.Context, id, owner string) (chat.Token, string, error)
	CreateIncomingWebhook(ctx context.Context, h chat.IncomingWebhook, secretHash string) error
	IncomingWebhookBySecret(ctx context.Context, secretHash string) (chat.IncomingWebhook, error)
	IncomingWebhooks(ctx context.Context, conversation string) ([]chat.IncomingWebhook, error)
	IncomingWebhook(ctx context.Context, id string) (chat.IncomingWebhook, error)
	RotateIncomingWebhook(ctx context.Context, id, secretHash string) error
	DeleteIncomingWebhook(ctx context.Context, id string) error
	CreateOutgoingWebhook(ctx context.Context, h chat.OutgoingWebhook) error
	OutgoingWebhooks(ctx context.Context, conversation string) ([]chat.OutgoingWebhook, error)
	DeleteOutgoingWebhook(ctx context.Context, id string) error
	CreateSlashCommand(ctx context.Context, c chat.SlashCommand) error
	SlashCommands(ctx context.Context) ([]chat.SlashCommand, error)
	DeleteSlashCommand(ctx context.Context, trigger string) error
}

// Poster sends the form-encoded requests of outgoing webhooks and slash commands to the URLs
// an administrator configured; pkg/outbound implements it under the address policy.
type Poster interface {
	PostForm(ctx context.Context, rawURL string, form url.Values) (status int, body []byte, err error)
}

// TokenPrefix starts every personal access token, so a leaked one is easy to recognise.
const TokenPrefix = "mmt_"

// maxTokensPerAccount bounds the tokens one account may hold.
const maxTokensPerAccount = 50

// CreateBot makes a bot account: it joins the public channels like anyone, signs in only
// with access tokens, and is shown with a "bot" tag.
func (a *App) CreateBot(ctx context.Context, name, displayName string) (chat.UserRecord, error) {
	if err := chat.ValidateUsername(name); err != nil {
		return chat.UserRecord{}, err
	}
	if err := validDisplayName(displayName); err != nil {
		return chat.UserRecord{}, err
	}
	if err := a.nameFree(ctx, name); err != nil {
		return chat.UserRecord{}, err
	}
	// No password hash: no password ever matches an empty one.
	return a.newAccount(ctx, name, "", func() error {
		if err := a.Store.MarkBot(ctx, name); err != nil {
			return err
		}
		if displayName == "" {
			return nil
		}
		return a.Store.UpdateProfile(ctx, name, &displayName, nil)
	})
}

// CreateToken makes a personal access token of the account that holds user (for the
// administrator) and returns the token, shown this once: only its hash is kept. expires 0 is
// a token that never expires.
func (a *App) CreateToken(ctx context.Context, user, name string, expires time.Duration) (string, chat.Token, error) {
	u, err := a.Store.GetUser(ctx, user)
	if err != nil {
		return "", chat.Token{}, err
	}
	return a.createToken(ctx, u.Account(), name, expires)
}

// CreateOwnToken makes a personal access token of me.
func (a *App) CreateOwnToken(ctx context.Context, me chat.Account, name string, expires time.Duration) (string, chat.Token, error) {
	if _, err := a.caller(ctx, me); err != nil {
		return "", chat.Token{}, err
	}
	return a.createToken(ctx, me, name, expires)
}

func (a *App) createToken(ctx context.Context, owner chat.Account, name string, expires time.Duration) (string, chat.Token, error) {
	name = strings.TrimSpace(name)
	if len(name) > 64 {
		return "", chat.Token{}, chat.Errorf(chat.EInvalid, "token name must be at most 64 bytes")
	}
	if err := validDisplayName(name); err != nil {
		return "", chat.Token{}, chat.Errorf(chat.EInvalid, "token name contains a control character")
	}
	if expires < 0 || expires > 10*365*24*time.Hour {
		return "", chat.Token{}, chat.Errorf(chat.EInvalid, "expiry must be between 0 (never) and 10 years")
	}
	have, err := a.Store.ListTokens(ctx, owner.Name)
	if err != nil {
		return "", chat.Token{}, err
	}
	if len(have) >= maxTokensPerAccount {
		return "", chat.Token{}, chat.Errorf(chat.ETooMany, "%s has %d tokens already; revoke one first", owner.Name, len(have))
	}
	id := strings.ToLower(rand.Text()[:12])
	secret := TokenPrefix + id + "_" + rand.Text()
	now := a.Now()
	t := chat.Token{ID: id, Name: name, UserID: owner.ID, Username: owner.Name, CreatedTS: now.Unix()}
	if expires > 0 {
		t.ExpiresTS = now.Add(expires).Unix()
	}
	if err := a.Store.CreateToken(ctx, t, auth.HashToken(secret)); err != nil {
		return "", chat.Token{}, err
	}
	a.Logger.Info("access token created", "user", owner.Name, "token", id, "name", name)
	return secret, t, nil
}

// AuthenticateToken returns the account of a bearer token and the hash that names its
// connections (so revoking the token closes them). Each token has its own rate limit.
func (a *App) AuthenticateToken(ctx context.Context, token string) (chat.Account, string, error) {
	bad := chat.Errorf(chat.EUnauthorized, "invalid, expired or revoked access token")
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return chat.Account{}, "", bad
	}
	hash := auth.HashToken(token)
	acct, id, err := a.Store.LookupToken(ctx, hash)
	if err != nil {
		return chat.Account{}, "", err
	}
	if err := a.allow("token", a.Settings.Get().TokenRequestsPerMinute, time.Minute, chat.Account{ID: "token:" + id}); err != nil {
		return chat.Account{}, "", err
	}
	return acct, hash, nil
}

// Tokens lists the tokens of user ("" for every account's).
func (a *App) Tokens(ctx context.Context, user string) ([]chat.Token, error) {
	return a.Store.ListTokens(ctx, user)
}

// OwnTokens lists me's tokens.
func (a *App) OwnTokens(ctx context.Context, me chat.Account) ([]chat.Token, error) {
	if _, err := a.caller(ctx, me); err != nil {
		return nil, err
	}
	return a.Store.ListTokens(ctx, me.Name)
}

// RevokeToken deletes a token (the administrator's) and closes its connections at once.
func (a *App) RevokeToken(ctx context.Context, id string) (chat.Token, error) {
	return a.revokeToken(ctx, id, "")
}

// RevokeOwnToken deletes one of me's tokens and closes its connections.
func (a *App) RevokeOwnToken(ctx context.Context, me chat.Account, id string) error {
	if _, err := a.caller(ctx, me); err != nil {
		return err
	}
	_, err := a.revokeToken(ctx, id, me.Name)
	return err
}

func (a *App) revokeToken(ctx context.Context, id, owner string) (chat.Token, error) {
	t, hash, err := a.Store.RevokeToken(ctx, id, owner)
	if err != nil {
		return t, err
	}
	a.Closer.CloseSession(hash)
	a.Logger.Info("access token revoked", "user", t.Username, "token", id)
	return t, nil
}

// conversationRef turns what a person writes for a channel ("general", "#general", or a
// conversation id) into a conversation id.
func conversationRef(ref string) string {
	ref = strings.TrimSpace(ref)
	if strings.Contains(ref, ":") {
		return ref
	}
	return chat.ChannelID(strings.TrimPrefix(ref, "#"))
}

func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "")
	}
	return s
}

func checkIconURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 2048 {
		return chat.Errorf(chat.EInvalid, "icon URL must be an http or https URL")
	}
	return nil
}

// webhookConv resolves a conversation a webhook posts to: as its creator (who must still be
// a member), or, for the administrator's hooks, as a public channel.
func (a *App) webhookConv(ctx context.Context, creatorID, id string) (Conv, error) {
	d, err := a.Store.Accounts(ctx)
	if err != nil {
		return Conv{}, err
	}
	if creatorID == "" {
		kind, _, _, err := chat.ParseConversationID(id)
		if err != nil {
			return Conv{}, err
		}
		if kind != chat.KindChannel {
			return Conv{}, chat.Errorf(chat.EInvalid, "the administrator's webhooks post to public channels only")
		}
		return a.resolve(ctx, d, chat.Account{}, id)
	}
	creator, ok := d.ByID(creatorID)
	if !ok {
		return Conv{}, chat.Errorf(chat.ENotFound, "the webhook's creator no longer exists")
	}
	return a.resolve(ctx, d, creator, id)
}

// CreateIncomingWebhook makes a webhook that posts into channels (the first is its default)
// and returns it with its secret URL, shown this once. me is the member who makes it, or the
// zero account for the administrator (public channels only).
func (a *App) CreateIncomingWebhook(ctx context.Context, me chat.Account, channels []string, username, iconURL string) (chat.IncomingWebhook, string, error) {
	if !me.IsZero() {
		if _, err := a.caller(ctx, me); err != nil {
			return chat.IncomingWebhook{}, "", err
		}
	}
	if len(channels) == 0 || len(channels) > 20 {
		return chat.IncomingWebhook{}, "", chat.Errorf(chat.EInvalid, "a webhook needs 1 to 20 channels")
	}
	h := chat.IncomingWebhook{ID: strings.ToLower(rand.Text()[:12]), Username: cleanName(username), IconURL: iconURL,
		CreatorID: me.ID, CreatorName: me.Name, CreatedTS: a.Now().Unix()}
	if err := checkIconURL(iconURL); err != nil {
		return h, "", err
	}
	for _, ref := range channels {
		id := conversationRef(ref)
		if _, err := a.webhookConv(ctx, me.ID, id); err != nil {
			if chat.ErrorCode(err) == chat.ENotFound {
				return h, "", chat.Errorf(chat.ENotFound, "no channel %q that you can post to", ref)
			}
			return h, "", err
		}
		if !slices.Contains(h.Channels, id) {
			h.Channels = append(h.Channels, id)
		}
	}
	if kind, _, _, _ := chat.ParseConversationID(h.Channels[0]); kind == chat.KindDM {
		return h, "", chat.Errorf(chat.EInvalid, "webhooks post to channels, not direct conversations")
	}
	secret := rand.Text()
	if err := a.Store.CreateIncomingWebhook(ctx, h, auth.HashToken(secret)); err != nil {
		return h, "", err
	}
	a.Logger.Info("incoming webhook created", "id", h.ID, "channels", h.Channels, "by", me.Name)
	return h, a.hookURL(secret), nil
}

func (a *App) hookURL(secret string) string {
	return strings.TrimRight(a.PublicURL(), "/") + "/hooks/" + secret
}

// IncomingWebhooks lists the webhooks of a conversation me belongs to.
func (a *App) IncomingWebhooks(ctx context.Context, me chat.Account, id string) ([]chat.IncomingWebhook, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return nil, err
	}
	return a.Store.IncomingWebhooks(ctx, c.ID)
}

// AllIncomingWebhooks lists every webhook (the administrator's view).
func (a *App) AllIncomingWebhooks(ctx context.Context) ([]chat.IncomingWebhook, error) {
	return a.Store.IncomingWebhooks(ctx, "")
}

// hookFor returns hook id if me may manage it: a member of its default channel (any hook for
// the zero account, the administrator).
func (a *App) hookFor(ctx context.Context, me chat.Account, id string) (chat.IncomingWebhook, error) {
	h, err := a.Store.IncomingWebhook(ctx, id)
	if err != nil {
		return h, err
	}
	if me.IsZero() {
		return h, nil
	}
	if _, err := a.Resolve(ctx, me, h.Channels[0]); err != nil {
		return h, chat.Errorf(chat.ENotFound, "no such webhook %q", id)
	}
	return h, nil
}

// RotateIncomingWebhook gives hook id a new secret URL; the old one stops working at once.
func (a *App) RotateIncomingWebhook(ctx context.Context, me chat.Account, id string) (string, error) {
	if _, err := a.hookFor(ctx, me, id); err != nil {
		return "", err
	}
	secret := rand.Text()
	if err := a.Store.RotateIncomingWebhook(ctx, id, auth.HashToken(secret)); err != nil {
		return "", err
	}
	a.Logger.Info("incoming webhook rotated", "id", id, "by", me.Name)
	return a.hookURL(secret), nil
}

// RevokeIncomingWebhook deletes hook id.
func (a *App) RevokeIncomingWebhook(ctx context.Context, me chat.Account, id string) error {
	if _, err := a.hookFor(ctx, me, id); err != nil {
		return err
	}
	a.Logger.Info("incoming webhook revoked", "id", id, "by", me.Name)
	return a.Store.DeleteIncomingWebhook(ctx, id)
}

// PostWebhook posts a Slack-format payload through the webhook whose secret is secret.
func (a *App) PostWebhook(ctx context.Context, secret, contentType string, body []byte) (chat.Message, error) {
	if secret == "" || len(secret) > 64 {
		return chat.Message{}, chat.Errorf(chat.ENotFound, "no such webhook")
	}
	h, err := a.Store.IncomingWebhookBySecret(ctx, auth.HashToken(secret))
	if err != nil {
		return chat.Message{}, err
	}
	if err := a.allow("hook", a.Settings.Get().HookPostsPerMinute, time.Minute, chat.Account{ID: "hook:" + h.ID}); err != nil {
		return chat.Message{}, err
	}
	p, err := slack.Parse(contentType, body)
	if err != nil {
		return chat.Message{}, payloadError(err)
	}
	target := h.Channels[0]
	if ch := strings.TrimSpace(p.Channel); ch != "" {
		target = conversationRef(ch)
		if !slices.Contains(h.Channels, target) {
			return chat.Message{}, chat.Errorf(chat.EForbidden, "this webhook may not post to %q", ch)
		}
	}
	c, err := a.webhookConv(ctx, h.CreatorID, target)
	if err != nil {
		return chat.Message{}, err
	}
	username := cmp.Or(cleanName(p.Username), h.Username, "webhook")
	icon := h.IconURL
	if p.IconURL != "" && checkIconURL(p.IconURL) == nil {
		icon = p.IconURL
	}
	return a.postIntegration(ctx, c, p, username, icon)
}

func payloadError(err error) error {
	var pe *slack.Error
	if errors.As(err, &pe) {
		return chat.Errorf(chat.EInvalid, "%s", pe.Reason)
	}
	return err
}

// postIntegration posts a payload into c from the webhook user, shown as username.
func (a *App) postIntegration(ctx context.Context, c Conv, p slack.Payload, username, icon string) (chat.Message, error) {
	r := slack.Render(p)
	m := chat.Message{Conversation: c.ID, Sender: chat.WebhookUser, Body: r.Body, HTML: r.HTML, Mentions: r.Mentions,
		Props: &chat.MessageProps{FromWebhook: true, Username: username, IconURL: icon}}
	if err := a.Store.PostMessage(ctx, &m, names(c.Recipients)); err != nil {
		return chat.Message{}, err
	}
	a.publish(c.Recipients, chat.MessageNew{Message: m})
	return m, nil
}

// CreateOutgoingWebhook makes an outgoing webhook: a message in channel whose first word is
// one of triggerWords is sent to rawURL. It returns the hook with the token the receiver
// checks.
func (a *App) CreateOutgoingWebhook(ctx context.Context, channel string, triggerWords []string, rawURL, username string) (chat.OutgoingWebhook, error) {
	h := chat.OutgoingWebhook{ID: strings.ToLower(rand.Text()[:12]), Channel: conversationRef(channel), URL: rawURL,
		Token: rand.Text(), Username: cleanName(username), CreatedTS: a.Now().Unix()}
	if _, err := a.webhookConv(ctx, "", h.Channel); err != nil {
		return h, chat.Errorf(chat.ENotFound, "no public channel %q", channel)
	}
	if err := checkTargetURL(rawURL); err != nil {
		return h, err
	}
	for _, w := range triggerWords {
		for _, f := range strings.Fields(w) {
			if len(f) > 64 {
				return h, chat.Errorf(chat.EInvalid, "trigger word %q is longer than 64 bytes", f)
			}
			h.TriggerWords = append(h.TriggerWords, f)
		}
	}
	if len(h.TriggerWords) == 0 || len(h.TriggerWords) > 20 {
		return h, chat.Errorf(chat.EInvalid, "an outgoing webhook needs 1 to 20 trigger words")
	}
	if err := a.Store.CreateOutgoingWebhook(ctx, h); err != nil {
		return h, err
	}
	a.Logger.Info("outgoing webhook created", "id", h.ID, "channel", h.Channel, "url", rawURL)
	return h, nil
}

func checkTargetURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(rawURL) > 2048 {
		return chat.Errorf(chat.EInvalid, "URL must be an http or https URL without a user name or password")
	}
	return nil
}

// OutgoingWebhooks lists every outgoing webhook.
func (a *App) OutgoingWebhooks(ctx context.Context) ([]chat.OutgoingWebhook, error) {
	return a.Store.OutgoingWebhooks(ctx, "")
}

// DeleteOutgoingWebhook removes outgoing webhook id.
func (a *App) DeleteOutgoingWebhook(ctx context.Context, id string) error {
	return a.Store.DeleteOutgoingWebhook(ctx, id)
}

// triggerOutgoing sends a channel message that starts with a trigger word to the outgoing
// webhooks that listen for it, and posts their answers. It runs after the message is
// acknowledged, in the background: a slow receiver never delays the sender.
func (a *App) triggerOutgoing(c Conv, me chat.Account, m chat.Message) {
	if c.Kind == chat.KindDM || a.Poster == nil {
		return
	}
	hooks, err := a.Store.OutgoingWebhooks(context.Background(), c.ID)
	if err != nil || len(hooks) == 0 {
		return
	}
	first, _, _ := strings.Cut(strings.TrimSpace(m.Body), " ")
	for _, h := range hooks {
		for _, w := range h.TriggerWords {
			if first != w {
				continue
			}
			form := url.Values{"token": {h.Token}, "team_id": {"minimost"}, "team_domain": {"minimost"},
				"channel_id": {c.ID}, "channel_name": {c.Name}, "timestamp": {fmt.Sprint(m.SentTS)},
				"user_id": {me.ID}, "user_name": {me.Name}, "post_id": {m.ID}, "text": {m.Body}, "trigger_word": {w}}
			a.background(func(ctx context.Context) {
				p, err := a.call(ctx, h.URL, form)
				if err != nil {
					a.Logger.Warn("outgoing webhook", "id", h.ID, "url", h.URL, "err", err)
					return
				}
				if p == nil {
					return
				}
				conv, err := a.webhookConv(ctx, "", c.ID)
				if err != nil {
					return
				}
				if _, err := a.postIntegration(ctx, conv, *p, cmp.Or(cleanName(p.Username), h.Username, "webhook"), ""); err != nil {
					a.Logger.Warn("outgoing webhook answer", "id", h.ID, "err", err)
				}
			})
			break
		}
	}
}

// background runs fn with a bounded context, counted so tests and shutdown can wait.
func (a *App) background(fn func(ctx context.Context)) {
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		fn(ctx)
	}()
}

// Wait waits for the background work of integrations to end.
func (a *App) Wait() { a.bg.Wait() }

// call sends form to rawURL and reads a Slack-format answer: nil for an empty answer, a
// plain-text answer as its text.
func (a *App) call(ctx context.Context, rawURL string, form url.Values) (*slack.Payload, error) {
	status, body, err := a.Poster.PostForm(ctx, rawURL, form)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		return nil, fmt.Errorf("%s answered %d", rawURL, status)
	}
	text := strings.TrimSpace(string(body))
	if text == "" {
		return nil, nil
	}
	if !strings.HasPrefix(text, "{") {
		p := slack.Payload{Text: slackEscape(text)}
		if err := p.Check(); err != nil {
			return nil, err
		}
		return &p, nil
	}
	p, err := slack.Parse("application/json", body)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// slackEscape escapes the three characters Slack's text escapes.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// CreateSlashCommand makes a server-wide "/trigger" that sends its text to rawURL, and
// returns it with the token the receiver checks.
func (a *App) CreateSlashCommand(ctx context.Context, trigger, rawURL, description, hint, username string) (chat.SlashCommand, error) {
	c := chat.SlashCommand{Trigger: strings.TrimPrefix(trigger, "/"), URL: rawURL, Token: rand.Text(),
		Description: cleanName(description), Hint: cleanName(hint), Username: cleanName(username), CreatedTS: a.Now().Unix()}
	if err := chat.ValidateTrigger(c.Trigger); err != nil {
		return c, err
	}
	if _, ok := builtinCommands[c.Trigger]; ok {
		return c, chat.Errorf(chat.EConflict, "/%s is a built-in command", c.Trigger)
	}
	if err := checkTargetURL(rawURL); err != nil {
		return c, err
	}
	if err := a.Store.CreateSlashCommand(ctx, c); err != nil {
		return c, err
	}
	a.Logger.Info("slash command created", "trigger", c.Trigger, "url", rawURL)
	return c, nil
}

// SlashCommands lists the server's own slash commands (with their URLs and tokens: the
// administrator's view).
func (a *App) SlashCommands(ctx context.Context) ([]chat.SlashCommand, error) {
	return a.Store.SlashCommands(ctx)
}

// DeleteSlashCommand removes /trigger.
func (a *App) DeleteSlashCommand(ctx context.Context, trigger string) error {
	return a.Store.DeleteSlashCommand(ctx, strings.TrimPrefix(trigger, "/"))
}

// CommandInfo is a slash command as the composer offers it.
type CommandInfo struct {
	Trigger     string `json:"trigger"`
	Hint        string `json:"hint,omitempty"`
	Description string `json:"description"`
	Builtin     bool   `json:"builtin,omitempty"`
}

var builtinCommands = map[string]CommandInfo{
	"me":     {Trigger: "me", Hint: "text", Description: "Say what you are doing", Builtin: true},
	"shrug":  {Trigger: "shrug", Hint: "[text]", Description: `Append ¯\_(ツ)_/¯ to your message`, Builtin: true},
	"invite": {Trigger: "invite", Hint: "@user", Description: "Add someone to this private channel", Builtin: true},
	"leave":  {Trigger: "leave", Description: "Leave this private channel", Builtin: true},
	"call":   {Trigger: "call", Description: "Start a call here", Builtin: true},
	"mute":   {Trigger: "mute", Description: "Mute or unmute this conversation", Builtin: true},
}

// Commands lists the slash commands me can use, built-in first.
func (a *App) Commands(ctx context.Context, me chat.Account) ([]CommandInfo, error) {
	if _, err := a.caller(ctx, me); err != nil {
		return nil, err
	}
	out := []CommandInfo{}
	for _, t := range []string{"me", "shrug", "invite", "leave", "mute", "call"} {
		out = append(out, builtinCommands[t])
	}
	cs, err := a.Store.SlashCommands(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		out = append(out, CommandInfo{Trigger: c.Trigger, Hint: c.Hint, Description: c.Description})
	}
	return out, nil
}

// CommandResult is what a slash command did: posted a message, answered only the caller
// (Ephemeral, rendered HTML), or asks the client to act (Action "call").
type CommandResult struct {
	Message   *chat.Message `json:"message,omitempty"`
	Ephemeral string        `json:"ephemeral,omitempty"`
	Action    string        `json:"action,omitempty"`
}

// Command runs the slash command text ("/trigger args") of me in conversation id.
func (a *App) Command(ctx context.Context, me chat.Account, id, text string) (CommandResult, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return CommandResult{}, err
	}
	text, err = validBody(text, false)
	if err != nil {
		return CommandResult{}, err
	}
	if !strings.HasPrefix(text, "/") {
		return CommandResult{}, chat.Errorf(chat.EInvalid, "a command starts with /")
	}
	trigger, args, _ := strings.Cut(strings.TrimPrefix(text, "/"), " ")
	trigger = strings.ToLower(trigger)
	args = strings.TrimSpace(args)
	switch trigger {
	case "me":
		if args == "" {
			return CommandResult{}, chat.Errorf(chat.EInvalid, "usage: /me text")
		}
		m, err := a.postAs(ctx, me, c.ID, args, "", nil, &chat.MessageProps{Emote: true})
		return CommandResult{Message: &m}, err
	case "shrug":
		body := `¯\\\_(ツ)\_/¯`
		if args != "" {
			body = args + " " + body
		}
		m, err := a.Post(ctx, me, c.ID, body, "", nil)
		return CommandResult{Message: &m}, err
	case "invite":
		user := strings.TrimPrefix(args, "@")
		if user == "" {
			return CommandResult{}, chat.Errorf(chat.EInvalid, "usage: /invite @user")
		}
		if c.Kind != chat.KindPrivate {
			return CommandResult{}, chat.Errorf(chat.EInvalid, "/invite works in private channels: everyone is in the public channels")
		}
		if err := a.Invite(ctx, me, c.ID, user); err != nil {
			return CommandResult{}, err
		}
		return CommandResult{Ephemeral: "<p>" + html.EscapeString(user) + " was added to this channel.</p>"}, nil
	case "leave":
		if c.Kind != chat.KindPrivate {
			return CommandResult{}, chat.Errorf(chat.EInvalid, "/leave works in private channels only")
		}
		return CommandResult{Action: "left"}, a.Leave(ctx, me, c.ID)
	case "call":
		return CommandResult{Action: "call"}, nil
	case "mute":
		prefs, err := a.Store.NotificationPrefs(ctx, me.Name)
		if err != nil {
			return CommandResult{}, err
		}
		p := prefs.Conversations[c.ID]
		p.Muted = !p.Muted
		if _, err := a.SetConversationPrefs(ctx, me, c.ID, p); err != nil {
			return CommandResult{}, err
		}
		if p.Muted {
			return CommandResult{Ephemeral: "<p>This conversation is muted: it notifies you of nothing, @here and @channel included. /mute again to unmute.</p>"}, nil
		}
		return CommandResult{Ephemeral: "<p>This conversation is no longer muted.</p>"}, nil
	}
	cmds, err := a.Store.SlashCommands(ctx)
	if err != nil {
		return CommandResult{}, err
	}
	for _, cmd := range cmds {
		if cmd.Trigger == trigger {
			// Each call makes the server send a request: it counts as a message sent.
			if err := a.allow("messages", a.Settings.Get().PostsPerMinute, time.Minute, me); err != nil {
				return CommandResult{}, err
			}
			return a.runCommand(ctx, me, c, cmd, args)
		}
	}
	return CommandResult{}, chat.Errorf(chat.ENotFound, "no command /%s; type / to see the commands", trigger)
}

// runCommand sends a custom command to its URL and acts on the answer.
func (a *App) runCommand(ctx context.Context, me chat.Account, c Conv, cmd chat.SlashCommand, args string) (CommandResult, error) {
	if a.Poster == nil {
		return CommandResult{}, chat.Errorf(chat.EUnavailable, "integrations are not available on this server")
	}
	respSecret := a.responses.add(me, c.ID, cmd, a.Now())
	form := url.Values{"token": {cmd.Token}, "team_id": {"minimost"}, "team_domain": {"minimost"},
		"channel_id": {c.ID}, "channel_name": {c.Name}, "user_id": {me.ID}, "user_name": {me.Name},
		"command": {"/" + cmd.Trigger}, "text": {args}, "response_url": {strings.TrimRight(a.PublicURL(), "/") + "/hooks/responses/" + respSecret},
		"trigger_id": {strings.ToLower(rand.Text())}}
	p, err := a.call(ctx, cmd.URL, form)
	if err != nil {
		a.Logger.Warn("slash command", "trigger", cmd.Trigger, "url", cmd.URL, "err", err)
		return CommandResult{}, chat.Errorf(chat.EUnavailable, "/%s did not answer: %v", cmd.Trigger, err)
	}
	if p == nil {
		return CommandResult{}, nil
	}
	return a.commandAnswer(ctx, me, c, cmd, *p)
}

func (a *App) commandAnswer(ctx context.Context, me chat.Account, c Conv, cmd chat.SlashCommand, p slack.Payload) (CommandResult, error) {
	if p.ResponseType == "in_channel" {
		m, err := a.postIntegration(ctx, c, p, cmp.Or(cleanName(p.Username), cmd.Username, cmd.Trigger), "")
		if err != nil {
			return CommandResult{}, err
		}
		return CommandResult{Message: &m}, nil
	}
	return CommandResult{Ephemeral: slack.Render(p).HTML}, nil
}

// PostResponse takes a delayed answer of a slash command at its response_url: up to five
// within 30 minutes, as Slack allows. An ephemeral one reaches the caller's open apps only.
func (a *App) PostResponse(ctx context.Context, secret, contentType string, body []byte) error {
	r, ok := a.responses.use(secret, a.Now())
	if !ok {
		return chat.Errorf(chat.ENotFound, "this response URL is unknown, expired or used up")
	}
	p, err := slack.Parse(contentType, body)
	if err != nil {
		return payloadError(err)
	}
	c, err := a.Resolve(ctx, r.me, r.conv)
	if err != nil {
		return err
	}
	res, err := a.commandAnswer(ctx, r.me, c, r.cmd, p)
	if err != nil {
		return err
	}
	if res.Ephemeral != "" {
		a.publish([]chat.Account{r.me}, chat.Ephemeral{Conversation: c.ID, HTML: res.Ephemeral})
	}
	return nil
}

// responses are the response URLs of recent slash commands, kept in memory: a restart ends
// them, as it would end the conversation they answer.
type responses struct {
	mu sync.Mutex
	by map[string]*response
}

type response struct {
	me      chat.Account
	conv    string
	cmd     chat.SlashCommand
	expires time.Time
	left    int
}

func (rs *responses) add(me chat.Account, conv string, cmd chat.SlashCommand, now time.Time) string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.by == nil {
		rs.by = map[string]*response{}
	}
	for k, r := range rs.by {
		if now.After(r.expires) {
			delete(rs.by, k)
		}
	}
	secret := rand.Text()
	rs.by[auth.HashToken(secret)] = &response{me: me, conv: conv, cmd: cmd, expires: now.Add(30 * time.Minute), left: 5}
	return secret
}

func (rs *responses) use(secret string, now time.Time) (response, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	k := auth.HashToken(secret)
	r, ok := rs.by[k]
	if !ok || now.After(r.expires) || r.left <= 0 {
		delete(rs.by, k)
		return response{}, false
	}
	r.left--
	return *r, true
}
