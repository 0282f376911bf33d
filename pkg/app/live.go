package app

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// SetPresence records me's presence ("online", "away" or "offline") and queues its
// announcement (see presenceBatch).
func (a *App) SetPresence(ctx context.Context, me chat.Account, status string) error {
	switch status {
	case "online", "away", "offline":
	default:
		return chat.Errorf(chat.EInvalid, "presence must be online or away")
	}
	if _, err := a.caller(ctx, me); err != nil {
		return err
	}
	if err := a.Store.SetPresence(ctx, me.Name, status); err != nil {
		return err
	}
	a.queuePresence(me.Name, status)
	return nil
}

// presenceBatch holds the presence changes not yet announced. A change starts a timer of
// PresenceInterval; when it fires, every change of that time goes out in one event to every
// account. Connecting N users therefore costs each connected client about one frame a second,
// not one per user, and a reconnect storm cannot flood the slower clients.
type presenceBatch struct {
	mu      sync.Mutex
	pending map[string]string // username → latest presence
	order   []string          // usernames in the order of their first change
	timer   *time.Timer
	last    time.Time // when the last event went out
}

func (a *App) queuePresence(user, status string) {
	b := &a.presence
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[string]string{}
	}
	if _, ok := b.pending[user]; !ok {
		b.order = append(b.order, user)
	}
	b.pending[user] = status
	if b.timer != nil {
		return
	}
	// The first change after a quiet interval goes out at once; later ones wait for the
	// interval to end.
	wait := max(a.PresenceInterval-time.Since(b.last), 0)
	b.timer = time.AfterFunc(wait, func() { a.FlushPresence(context.Background()) })
}

// FlushPresence announces the pending presence changes now, in one event to every account.
func (a *App) FlushPresence(ctx context.Context) {
	b := &a.presence
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	changes := make([]chat.PresenceChange, 0, len(b.order))
	for _, u := range b.order {
		changes = append(changes, chat.PresenceChange{User: u, Presence: b.pending[u]})
	}
	b.pending, b.order = nil, nil
	if len(changes) > 0 {
		b.last = time.Now()
	}
	b.mu.Unlock()
	if len(changes) == 0 {
		return
	}
	d, err := a.Store.Accounts(ctx)
	if err != nil {
		a.Logger.Warn("announce presence", "changes", len(changes), "err", err)
		return
	}
	a.publish(d.All(), chat.PresenceChanged{Changes: changes})
}

// Disconnected is called when me's last connection closed: me stops typing, leaves every
// call and goes offline. A deleted account's rows are gone and stay gone.
func (a *App) Disconnected(ctx context.Context, me chat.Account) {
	d, err := a.Store.Accounts(ctx)
	if err != nil || !d.Exists(me) {
		return
	}
	if err := a.Store.ClearTyping(ctx, me.Name); err != nil {
		a.Logger.Warn("clear typing", "user", me.Name, "err", err)
	}
	a.leaveCalls(ctx, d, me)
	if err := a.SetPresence(ctx, me, "offline"); err != nil {
		a.Logger.Warn("record presence", "user", me.Name, "err", err)
	}
}

// MaxCallData is the largest signalling payload relayed in a call.
const MaxCallData = 32 << 10

// CallSignal relays WebRTC signalling among a conversation's members and records who is in
// the call in call_participants. With to set, the signal goes to that member only.
func (a *App) CallSignal(ctx context.Context, me chat.Account, id, signal string, data json.RawMessage, to string) error {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return err
	}
	if len(data) > MaxCallData {
		return chat.Errorf(chat.ETooLarge, "call data too large")
	}
	switch signal {
	case "join":
		if err := a.Store.JoinCall(ctx, c.ID, me.Name); err != nil {
			return err
		}
	case "leave":
		if err := a.Store.LeaveCall(ctx, c.ID, me.Name); err != nil {
			return err
		}
	case "offer", "answer", "candidate":
	default:
		return chat.Errorf(chat.EInvalid, "unknown call signal %q", signal)
	}
	ev := chat.CallSignal{Conversation: c.ID, From: me.Name, Signal: signal, Data: data, To: to}
	if to != "" {
		i := slices.IndexFunc(c.Recipients, func(x chat.Account) bool { return x.Name == to })
		if i < 0 {
			return chat.Errorf(chat.ENotFound, "no such member %q", to)
		}
		a.publish([]chat.Account{c.Recipients[i]}, ev)
		return nil
	}
	ps, err := a.Store.CallParticipants(ctx, c.ID)
	if err != nil {
		return err
	}
	ev.Participants = nonNil(ps)
	a.publish(without(c.Recipients, me), ev)
	return nil
}

// leaveCalls removes me from every call and tells the other members, as if me had sent a
// "leave" signal.
func (a *App) leaveCalls(ctx context.Context, d *chat.Directory, me chat.Account) {
	convs, err := a.Store.UserCalls(ctx, me.Name)
	if err != nil {
		a.Logger.Warn("list calls", "user", me.Name, "err", err)
	}
	if err := a.Store.LeaveCall(ctx, "", me.Name); err != nil {
		a.Logger.Warn("leave calls", "user", me.Name, "err", err)
	}
	for _, id := range convs {
		c, err := a.resolve(ctx, d, me, id)
		if err != nil {
			continue
		}
		ps, err := a.Store.CallParticipants(ctx, id)
		if err != nil {
			a.Logger.Warn("list call participants", "conversation", id, "err", err)
		}
		a.publish(without(c.Recipients, me), chat.CallSignal{Conversation: id, From: me.Name, Signal: "leave", Participants: nonNil(ps)})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CallConfig returns the STUN and TURN servers calls use (settings.json's ice_servers), for
// a signed-in caller only: a TURN server's credential is not for the world.
func (a *App) CallConfig(ctx context.Context, me chat.Account) ([]chat.ICEServer, error) {
	if _, err := a.caller(ctx, me); err != nil {
		return nil, err
	}
	out := a.Settings.Get().ICEServers
	if out == nil {
		out = []chat.ICEServer{}
	}
	return out, nil
}
