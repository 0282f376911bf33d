package app

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// SetPresence sets me's presence ("online", "away" or "offline"): it is announced and
// written to the store with the other changes of its interval (see presenceBatch), and Users
// shows it at once.
func (a *App) SetPresence(ctx context.Context, me chat.Account, status string) error {
	switch status {
	case "online", "away", "offline":
	default:
		return chat.Errorf(chat.EInvalid, "presence must be online or away")
	}
	if _, err := a.caller(ctx, me); err != nil {
		return err
	}
	a.queuePresence(me, status)
	return nil
}

// presenceBatch holds the presence changes not yet announced nor stored. A change starts a
// timer of PresenceInterval; when it fires, every change of that time goes out in one event
// to every account and into the store in one transaction. Connecting N users therefore
// costs each connected client about one frame a second, not one per user, a reconnect storm
// cannot flood the slower clients, and presence.db's writer (which the message journal
// waits for) commits once a second rather than once per connection. A crash loses at most
// the last interval's rows, which do not matter: every presence is reset to offline at start.
type presenceBatch struct {
	flushMu sync.Mutex // one flush at a time: rows are stored in the order of the changes

	mu       sync.Mutex
	pending  map[string]pendingPresence // username → latest presence
	order    []string                   // usernames in the order of their first change
	flushing map[string]string          // username → presence, being stored by FlushPresence
	timer    *time.Timer
	last     time.Time // when the last event went out
}

type pendingPresence struct {
	account chat.Account
	status  string
}

func (a *App) queuePresence(me chat.Account, status string) {
	b := &a.presence
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[string]pendingPresence{}
	}
	if _, ok := b.pending[me.Name]; !ok {
		b.order = append(b.order, me.Name)
	}
	b.pending[me.Name] = pendingPresence{me, status}
	if b.timer != nil {
		return
	}
	// The first change after a quiet interval goes out at once; later ones wait for the
	// interval to end.
	wait := max(a.PresenceInterval-time.Since(b.last), 0)
	b.timer = time.AfterFunc(wait, func() { a.FlushPresence(context.Background()) })
}

// FlushPresence stores the pending presence changes in one transaction and announces them
// in one event to every account, now. A change of an account deleted meanwhile is dropped:
// a deleted account's rows are gone and stay gone.
func (a *App) FlushPresence(ctx context.Context) {
	b := &a.presence
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	taken := make([]pendingPresence, 0, len(b.order))
	b.flushing = make(map[string]string, len(b.order))
	for _, u := range b.order {
		taken = append(taken, b.pending[u])
		b.flushing[u] = b.pending[u].status
	}
	b.pending, b.order = nil, nil
	if len(taken) > 0 {
		b.last = time.Now()
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.flushing = nil
		b.mu.Unlock()
	}()
	if len(taken) == 0 {
		return
	}
	d, err := a.Store.Accounts(ctx)
	if err != nil {
		a.Logger.Warn("announce presence", "changes", len(taken), "err", err)
		return
	}
	changes := make([]chat.PresenceChange, 0, len(taken))
	for _, p := range taken {
		if d.Exists(p.account) {
			changes = append(changes, chat.PresenceChange{User: p.account.Name, Presence: p.status})
		}
	}
	if len(changes) == 0 {
		return
	}
	if err := a.Store.SetPresences(ctx, changes); err != nil {
		a.Logger.Warn("record presence", "changes", len(changes), "err", err)
	}
	a.publish(d.All(), chat.PresenceChanged{Changes: changes})
}

// presences returns every account's recorded presence, with the changes not yet stored
// over it: a user whose socket just opened is online at once. The batch is read before the
// store so that a change cannot be missed by moving from one to the other in between.
func (a *App) presences(ctx context.Context) (map[string]string, error) {
	b := &a.presence
	b.mu.Lock()
	newer := make(map[string]string, len(b.flushing)+len(b.pending))
	for u, st := range b.flushing {
		newer[u] = st
	}
	for u, p := range b.pending {
		newer[u] = p.status
	}
	b.mu.Unlock()
	pres, err := a.Store.Presences(ctx)
	if err != nil {
		return nil, err
	}
	for u, st := range newer {
		pres[u] = st
	}
	return pres, nil
}

// Disconnected is called when me's last connection closed: me stops typing and goes
// offline. (Each connection leaves its calls as it closes: see ConnectionClosed.) A deleted
// account's rows are gone and stay gone.
func (a *App) Disconnected(ctx context.Context, me chat.Account) {
	d, err := a.Store.Accounts(ctx)
	if err != nil || !d.Exists(me) {
		return
	}
	if err := a.Store.ClearTyping(ctx, me.Name); err != nil {
		a.Logger.Warn("clear typing", "user", me.Name, "err", err)
	}
	if err := a.SetPresence(ctx, me, "offline"); err != nil {
		a.Logger.Warn("record presence", "user", me.Name, "err", err)
	}
}

// MaxCallData is the largest signalling payload relayed in a call.
const MaxCallData = 32 << 10

// CallSignal relays WebRTC signalling among the connections in a conversation's call and
// records who is in it in call_participants. A participant is one connection (conn, from
// its hello), not an account: me in two tabs is two participants, each a peer of the other.
// A signal with to (a member's username) and toConn (one of that member's connections) goes
// to that connection only, and to nobody if it has closed (its leave is on its way); with to
// alone, to every connection of that member; without to, to every connection of every
// member, the sender's own included (each client ignores its own signals).
func (a *App) CallSignal(ctx context.Context, me chat.Account, conn, id, signal string, data json.RawMessage, to, toConn string) error {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return err
	}
	if len(data) > MaxCallData {
		return chat.Errorf(chat.ETooLarge, "call data too large")
	}
	if conn == "" {
		return chat.Errorf(chat.EInvalid, "call signals come from a connection")
	}
	if toConn != "" && to == "" {
		return chat.Errorf(chat.EInvalid, "to_conn needs to (the connection's username)")
	}
	switch signal {
	case "join":
		if err := a.Store.JoinCall(ctx, c.ID, me.Name, conn); err != nil {
			return err
		}
	case "leave":
		if err := a.Store.LeaveCall(ctx, c.ID, conn); err != nil {
			return err
		}
	case "offer", "answer", "candidate":
	default:
		return chat.Errorf(chat.EInvalid, "unknown call signal %q", signal)
	}
	ev := chat.CallSignal{Conversation: c.ID, From: me.Name, FromConn: conn, Signal: signal, Data: data, To: to, ToConn: toConn}
	if to != "" {
		i := slices.IndexFunc(c.Recipients, func(x chat.Account) bool { return x.Name == to })
		if i < 0 {
			return chat.Errorf(chat.ENotFound, "no such member %q", to)
		}
		if toConn == "" {
			a.publish(c.Recipients[i:i+1], ev)
			return nil
		}
		if _, err := a.Events.PublishConn(c.Recipients[i].ID, toConn, ev); err != nil {
			a.Logger.Error("publish event", "type", ev.EventType(), "err", err)
		}
		return nil
	}
	if ev.Participants, err = a.Store.CallParticipants(ctx, c.ID); err != nil {
		return err
	}
	a.publish(c.Recipients, ev)
	return nil
}

// ConnectionClosed is called when connection conn of me closed: it leaves every call it was
// in, and the call's members (me's other connections included) get a "leave" from it, as if
// it had sent one. me's other connections stay in their calls.
func (a *App) ConnectionClosed(ctx context.Context, me chat.Account, conn string) {
	convs, err := a.Store.LeaveCalls(ctx, conn)
	if err != nil {
		a.Logger.Warn("leave calls", "user", me.Name, "err", err)
		return
	}
	if len(convs) == 0 {
		return
	}
	d, err := a.Store.Accounts(ctx)
	if err != nil || !d.Exists(me) {
		return
	}
	for _, id := range convs {
		c, err := a.resolve(ctx, d, me, id)
		if err != nil {
			continue
		}
		ps, err := a.Store.CallParticipants(ctx, id)
		if err != nil {
			a.Logger.Warn("list call participants", "conversation", id, "err", err)
			ps = []chat.CallParticipant{}
		}
		a.publish(c.Recipients, chat.CallSignal{Conversation: id, From: me.Name, FromConn: conn, Signal: "leave", Participants: ps})
	}
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
