package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/markdown"
)

// Conv is a conversation as one caller sees it, with every account that receives its
// messages.
type Conv struct {
	chat.Conversation
	// Recipients are the accounts that receive what is sent there: every account for a
	// public channel, the members that still exist otherwise (the caller included).
	Recipients []chat.Account
}

func notFound() error { return chat.Errorf(chat.ENotFound, "conversation not found") }

// caller checks that a is an account that exists now and returns the directory it is in.
// Anonymous callers are EUnauthorized; an account deleted meanwhile (even by hand) belongs
// to nothing, so everything it asks for is ENotFound.
func (a *App) caller(ctx context.Context, me chat.Account) (*chat.Directory, error) {
	if me.IsZero() {
		return nil, chat.Errorf(chat.EUnauthorized, "not logged in")
	}
	d, err := a.Store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	if !d.Exists(me) {
		return nil, notFound()
	}
	return d, nil
}

// Resolve returns conversation id if me belongs to it; anything else is ENotFound, whether
// the conversation exists or not.
func (a *App) Resolve(ctx context.Context, me chat.Account, id string) (Conv, error) {
	d, err := a.caller(ctx, me)
	if err != nil {
		return Conv{}, err
	}
	return a.resolve(ctx, d, me, id)
}

func (a *App) resolve(ctx context.Context, d *chat.Directory, me chat.Account, id string) (Conv, error) {
	kind, key, members, err := chat.ParseConversationID(id)
	if err != nil {
		return Conv{}, err
	}
	switch kind {
	case chat.KindChannel:
		if !slices.Contains(a.Settings.Get().Channels, key) {
			return Conv{}, notFound()
		}
		return Conv{chat.Conversation{ID: id, Kind: kind, Name: key}, d.All()}, nil
	case chat.KindPrivate:
		pc, err := a.Store.GetPrivateChannel(ctx, me, id)
		if err != nil {
			return Conv{}, err
		}
		ms, err := a.Store.PrivateMembers(ctx, id)
		if err != nil {
			return Conv{}, err
		}
		c := Conv{Conversation: chat.Conversation{ID: id, Kind: kind, Name: pc.Name, Creator: pc.Creator}}
		for _, m := range ms {
			if d.Exists(m) {
				c.Recipients = append(c.Recipients, m)
				c.Members = append(c.Members, m.Name)
			} else {
				c.Departed++
			}
		}
		return c, nil
	case chat.KindDM:
		// Members are account ids: a later account of a member's name is not a member.
		if !slices.Contains(members, me.ID) {
			return Conv{}, notFound()
		}
		c := Conv{Conversation: chat.Conversation{ID: id, Kind: kind}}
		var others []string
		live := 0
		for _, m := range members {
			if m == chat.SystemUser {
				others = append(others, chat.SystemUser)
				c.Members = append(c.Members, chat.SystemUser)
				continue
			}
			acct, ok := d.ByID(m)
			if !ok {
				c.Departed++
				others = append(others, chat.DeletedUser)
				c.Members = append(c.Members, chat.DeletedUser)
				continue
			}
			c.Recipients = append(c.Recipients, acct)
			c.Members = append(c.Members, acct.Name)
			if acct.ID != me.ID {
				others = append(others, acct.Name)
				live++
			}
		}
		c.Name = strings.Join(others, ", ")
		// Nobody is left to read a reply: the conversation with the system user, or one whose
		// other members all deleted their accounts.
		c.ReadOnly = live == 0
		return c, nil
	}
	return Conv{}, notFound()
}

// Conversations lists what me's sidebar shows, with unread and mention counts.
func (a *App) Conversations(ctx context.Context, me chat.Account) ([]chat.Conversation, error) {
	d, err := a.caller(ctx, me)
	if err != nil {
		return nil, err
	}
	out := []chat.Conversation{}
	for _, ch := range a.Settings.Get().Channels {
		out = append(out, chat.Conversation{ID: chat.ChannelID(ch), Kind: chat.KindChannel, Name: ch})
	}
	pcs, err := a.Store.UserPrivateChannels(ctx, me)
	if err != nil {
		return nil, err
	}
	for _, pc := range pcs {
		c, err := a.resolve(ctx, d, me, pc.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, c.Conversation)
	}
	ids, err := a.Store.UserConversations(ctx, me.Name)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "d:") {
			continue
		}
		c, err := a.resolve(ctx, d, me, id)
		if err != nil {
			continue // not a conversation of this account (any more)
		}
		out = append(out, c.Conversation)
	}
	if err := a.addStats(ctx, me, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Conversation returns one conversation of me with its unread counts.
func (a *App) Conversation(ctx context.Context, me chat.Account, id string) (chat.Conversation, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return chat.Conversation{}, err
	}
	cs := []chat.Conversation{c.Conversation}
	if err := a.addStats(ctx, me, cs); err != nil {
		return chat.Conversation{}, err
	}
	return cs[0], nil
}

func (a *App) addStats(ctx context.Context, me chat.Account, cs []chat.Conversation) error {
	lastRead, err := a.Store.LastRead(ctx, me.Name)
	if err != nil {
		return err
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	stats, err := a.Store.ConversationStats(ctx, me.Name, ids, lastRead)
	if err != nil {
		return err
	}
	for i := range cs {
		st := stats[cs[i].ID]
		cs[i].Unread, cs[i].Mentions, cs[i].LastID = st.Unread, st.Mentions, st.LastID
		cs[i].LastRead = lastRead[cs[i].ID]
	}
	return nil
}

// Members lists the usernames of a conversation's members: every account for a public
// channel.
func (a *App) Members(ctx context.Context, me chat.Account, id string) ([]string, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return nil, err
	}
	if c.Kind == chat.KindDM {
		return c.Members, nil
	}
	return names(c.Recipients), nil
}

// MaxPrivateMembers is the most members a private channel can be created with.
const MaxPrivateMembers = 1000

// accountsNamed returns the accounts that hold names now; an unknown name is EInvalid.
func accountsNamed(d *chat.Directory, list []string) ([]chat.Account, error) {
	out := make([]chat.Account, 0, len(list))
	for _, n := range list {
		acct, ok := d.ByName(n)
		if !ok {
			return nil, chat.Errorf(chat.EInvalid, "no such user %q", n)
		}
		out = append(out, acct)
	}
	return out, nil
}

// CreatePrivateChannel creates a private channel of me and the named members and tells them.
func (a *App) CreatePrivateChannel(ctx context.Context, me chat.Account, name string, members []string) (chat.Conversation, error) {
	d, err := a.caller(ctx, me)
	if err != nil {
		return chat.Conversation{}, err
	}
	if len(members) > MaxPrivateMembers {
		return chat.Conversation{}, chat.Errorf(chat.EInvalid, "too many members (at most %d)", MaxPrivateMembers)
	}
	if err := chat.ValidateChannelName(name); err != nil {
		return chat.Conversation{}, err
	}
	accts, err := accountsNamed(d, members)
	if err != nil {
		return chat.Conversation{}, err
	}
	limits := a.Settings.Get().Limits
	if err := a.allow("private channels", limits.PrivateChannelsPerHour, time.Hour, me); err != nil {
		return chat.Conversation{}, err
	}
	for _, m := range accts {
		if m.ID == me.ID {
			continue
		}
		if err := a.allow("invitations", limits.InvitationsPerHour, time.Hour, me); err != nil {
			return chat.Conversation{}, err
		}
	}
	pc, err := a.Store.CreatePrivateChannel(ctx, name, me, accts)
	if err != nil {
		return chat.Conversation{}, err
	}
	c, err := a.resolve(ctx, d, me, pc.ID)
	if err != nil {
		return chat.Conversation{}, err
	}
	a.publish(c.Recipients, chat.ConversationChanged{Conversation: c.Conversation})
	return c.Conversation, nil
}

// privateChannel resolves private channel id for me; another kind of conversation is
// EInvalid with the message notPrivate.
func (a *App) privateChannel(ctx context.Context, me chat.Account, id, notPrivate string) (*chat.Directory, Conv, error) {
	d, err := a.caller(ctx, me)
	if err != nil {
		return nil, Conv{}, err
	}
	c, err := a.resolve(ctx, d, me, id)
	if err != nil {
		return nil, Conv{}, err
	}
	if c.Kind != chat.KindPrivate {
		return nil, Conv{}, chat.Errorf(chat.EInvalid, "%s", notPrivate)
	}
	return d, c, nil
}

// Invite adds the account named user to private channel id, of which me is a member.
func (a *App) Invite(ctx context.Context, me chat.Account, id, user string) error {
	d, c, err := a.privateChannel(ctx, me, id, "members can be added to private channels only")
	if err != nil {
		return err
	}
	acct, ok := d.ByName(user)
	if !ok {
		return chat.Errorf(chat.EInvalid, "no such user %q", user)
	}
	if err := a.allow("invitations", a.Settings.Get().InvitationsPerHour, time.Hour, me); err != nil {
		return err
	}
	if err := a.Store.AddPrivateMember(ctx, me, c.ID, acct); err != nil {
		return err
	}
	// The new member reads what was said before, as a new account does in public channels;
	// the inviter has all of it.
	if _, err := a.Store.CopyHistory(ctx, me.Name, acct.Name, c.ID, InviteHistory); err != nil {
		a.Logger.Warn("copy history to an invited member", "conversation", c.ID, "user", acct.Name, "err", err)
	}
	if c, err = a.resolve(ctx, d, me, c.ID); err != nil {
		return err
	}
	a.publish(c.Recipients, chat.ConversationChanged{Conversation: c.Conversation})
	a.systemLine(ctx, c, me.Name+" added "+acct.Name)
	return nil
}

// InviteHistory is how many of a private channel's newest messages a member added to it
// receives.
const InviteHistory = 200

// systemLine posts text from the system user into conversation c, to its members: "alice
// added carol", "carol left". A failure is logged: the change it tells of is done.
func (a *App) systemLine(ctx context.Context, c Conv, text string) {
	html, _ := markdown.Render(text)
	m := chat.Message{Conversation: c.ID, Sender: chat.SystemUser, Body: text, HTML: html}
	if err := a.Store.PostMessage(ctx, &m, names(c.Recipients)); err != nil {
		a.Logger.Warn("post a system line", "conversation", c.ID, "err", err)
		return
	}
	a.publish(c.Recipients, chat.MessageNew{Message: m})
}

// Leave takes me out of private channel id and tells the members who stay.
func (a *App) Leave(ctx context.Context, me chat.Account, id string) error {
	d, c, err := a.privateChannel(ctx, me, id, "only private channels can be left")
	if err != nil {
		return err
	}
	if err := a.Store.LeavePrivateChannel(ctx, me, c.ID); err != nil {
		return err
	}
	a.publish([]chat.Account{me}, chat.ConversationRemoved{ID: c.ID})
	// The channel as any member who stays sees it (everyone sees the same).
	if rest := without(c.Recipients, me); len(rest) > 0 {
		if c2, err := a.resolve(ctx, d, rest[0], c.ID); err == nil {
			a.publish(c2.Recipients, chat.ConversationChanged{Conversation: c2.Conversation})
			a.systemLine(ctx, c2, me.Name+" left")
		}
	}
	return nil
}

// OpenDM opens (or returns) the direct conversation of me with the named accounts, and shows
// it in every member's sidebar.
func (a *App) OpenDM(ctx context.Context, me chat.Account, members []string) (chat.Conversation, error) {
	d, err := a.caller(ctx, me)
	if err != nil {
		return chat.Conversation{}, err
	}
	if len(members) > 8 {
		return chat.Conversation{}, chat.Errorf(chat.EInvalid, "a direct conversation has 2 to 8 distinct members")
	}
	accts, err := accountsNamed(d, members)
	if err != nil {
		return chat.Conversation{}, err
	}
	ids := []string{me.ID}
	for _, x := range accts {
		ids = append(ids, x.ID)
	}
	id, err := chat.DMID(ids)
	if err != nil {
		return chat.Conversation{}, err
	}
	c, err := a.resolve(ctx, d, me, id)
	if err != nil {
		return chat.Conversation{}, err
	}
	if err := a.Store.AddUserConversation(ctx, me.Name, id); err != nil {
		return chat.Conversation{}, err
	}
	// Tell the other members now, so the DM shows in their sidebars (each sees it named by
	// the others).
	for _, m := range without(c.Recipients, me) {
		cm, err := a.resolve(ctx, d, m, id)
		if err != nil {
			continue
		}
		if err := a.Store.AddUserConversation(ctx, m.Name, id); err != nil && chat.ErrorCode(err) != chat.ENotFound {
			return chat.Conversation{}, err
		}
		a.publish([]chat.Account{m}, chat.ConversationChanged{Conversation: cm.Conversation})
	}
	// And me's other tabs and devices.
	a.publish([]chat.Account{me}, chat.ConversationChanged{Conversation: c.Conversation})
	return c.Conversation, nil
}

// SettingsChanged tells every account about public channels that appeared or disappeared in
// settings.json: a conversation event for each new one, conversation.removed for each removed
// one, and the whole list in a channels event.
func (a *App) SettingsChanged(s chat.Settings) {
	a.chanMu.Lock()
	old := a.channels
	a.channels = slices.Clone(s.Channels)
	a.chanMu.Unlock()
	ctx := context.Background()
	d, err := a.Store.Accounts(ctx)
	if err != nil {
		a.Logger.Error("announce channel changes", "err", err)
		return
	}
	for _, c := range old {
		if !slices.Contains(s.Channels, c) {
			a.publish(d.All(), chat.ConversationRemoved{ID: chat.ChannelID(c)})
		}
	}
	for _, c := range s.Channels {
		if !slices.Contains(old, c) {
			a.publish(d.All(), chat.ConversationChanged{Conversation: chat.Conversation{ID: chat.ChannelID(c), Kind: chat.KindChannel, Name: c}})
		}
	}
	a.publish(d.All(), chat.ChannelsChanged{Channels: slices.Clone(s.Channels)})
}
