package app

import (
	"context"

	"github.com/minimost/minimost/pkg/chat"
)

// NotificationPrefs returns me's notification settings.
func (a *App) NotificationPrefs(ctx context.Context, me chat.Account) (chat.NotificationPrefs, error) {
	if _, err := a.caller(ctx, me); err != nil {
		return chat.NotificationPrefs{}, err
	}
	return a.Store.NotificationPrefs(ctx, me.Name)
}

// SetConversationPrefs sets how me is notified of conversation id (a level of
// chat.NotifyAll, NotifyMentions, NotifyNone or "" for the default, and mute), and tells me's
// other connections.
func (a *App) SetConversationPrefs(ctx context.Context, me chat.Account, id string, p chat.ConversationPrefs) (chat.NotificationPrefs, error) {
	switch p.Level {
	case "", chat.NotifyAll, chat.NotifyMentions, chat.NotifyNone:
	default:
		return chat.NotificationPrefs{}, chat.Errorf(chat.EInvalid, "level must be all, mentions, none or empty (the default)")
	}
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return chat.NotificationPrefs{}, err
	}
	if err := a.Store.SetConversationPrefs(ctx, me.Name, c.ID, p); err != nil {
		return chat.NotificationPrefs{}, err
	}
	return a.notificationsChanged(ctx, me)
}

// SetDND turns me's do-not-disturb on or off, and tells me's other connections.
func (a *App) SetDND(ctx context.Context, me chat.Account, on bool) (chat.NotificationPrefs, error) {
	if _, err := a.caller(ctx, me); err != nil {
		return chat.NotificationPrefs{}, err
	}
	if err := a.Store.SetDND(ctx, me.Name, on); err != nil {
		return chat.NotificationPrefs{}, err
	}
	return a.notificationsChanged(ctx, me)
}

func (a *App) notificationsChanged(ctx context.Context, me chat.Account) (chat.NotificationPrefs, error) {
	p, err := a.Store.NotificationPrefs(ctx, me.Name)
	if err != nil {
		return chat.NotificationPrefs{}, err
	}
	a.publish([]chat.Account{me}, chat.NotificationsChanged{Prefs: p})
	return p, nil
}
