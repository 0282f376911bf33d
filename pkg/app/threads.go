package app

import (
	"context"

	"github.com/minimost/minimost/pkg/chat"
)

// addThreads fills the thread summary of each message of msgs that has replies.
func (a *App) addThreads(ctx context.Context, me chat.Account, conversation string, msgs []chat.Message) error {
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if m.ThreadRoot == "" && !m.Deleted {
			ids = append(ids, m.ID)
		}
	}
	sums, err := a.Store.ThreadSummaries(ctx, me.Name, conversation, ids)
	if err != nil {
		return err
	}
	for i := range msgs {
		if t, ok := sums[msgs[i].ID]; ok {
			msgs[i].Thread = &t
		}
	}
	return nil
}

// Thread returns a thread of conversation id: its root message (with its summary) and the
// replies, oldest first. root may name the root or any reply of the thread.
func (a *App) Thread(ctx context.Context, me chat.Account, id, root string) (chat.Message, []chat.Message, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return chat.Message{}, nil, err
	}
	if !chat.ValidMessageID(root) {
		return chat.Message{}, nil, chat.Errorf(chat.ENotFound, "message not found")
	}
	m, err := a.Store.GetMessage(ctx, me.Name, c.ID, root)
	if err != nil {
		return chat.Message{}, nil, err
	}
	if m.ThreadRoot != "" {
		if m, err = a.Store.GetMessage(ctx, me.Name, c.ID, m.ThreadRoot); err != nil {
			return chat.Message{}, nil, err
		}
	}
	replies, err := a.Store.Thread(ctx, me.Name, c.ID, m.ID)
	if err != nil {
		return chat.Message{}, nil, err
	}
	all := append([]chat.Message{m}, replies...)
	if err := a.decorate(ctx, all); err != nil {
		return chat.Message{}, nil, err
	}
	if err := a.addThreads(ctx, me, c.ID, all[:1]); err != nil {
		return chat.Message{}, nil, err
	}
	return all[0], all[1:], nil
}

// Threads lists the threads me started, replied in or was mentioned in, newest reply first,
// in conversations me still sees, with the replies me has not read.
func (a *App) Threads(ctx context.Context, me chat.Account, limit int) ([]chat.ThreadItem, error) {
	d, err := a.caller(ctx, me)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > 200 {
		return nil, chat.Errorf(chat.EInvalid, "limit must be 1 to 200")
	}
	items, err := a.Store.UserThreads(ctx, me.Name, limit)
	if err != nil {
		return nil, err
	}
	out := []chat.ThreadItem{}
	for _, it := range items {
		if _, err := a.resolve(ctx, d, me, it.Root.Conversation); err != nil {
			continue // a channel removed or left
		}
		msgs := []chat.Message{it.Root}
		if err := a.decorate(ctx, msgs); err != nil {
			return nil, err
		}
		if err := a.addThreads(ctx, me, it.Root.Conversation, msgs); err != nil {
			return nil, err
		}
		it.Root = msgs[0]
		out = append(out, it)
	}
	return out, nil
}

// MarkThreadRead records that me has read the thread of root in conversation id up to reply
// mid.
func (a *App) MarkThreadRead(ctx context.Context, me chat.Account, id, root, mid string) error {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return err
	}
	if !chat.ValidMessageID(root) || !chat.ValidMessageID(mid) {
		return chat.Errorf(chat.EInvalid, "message ids required")
	}
	m, err := a.Store.GetMessage(ctx, me.Name, c.ID, mid)
	if err != nil {
		return err
	}
	if m.ThreadRoot != root {
		return chat.Errorf(chat.EInvalid, "message_id is not a reply of that thread")
	}
	return a.Store.MarkThreadRead(ctx, me.Name, root, mid)
}
