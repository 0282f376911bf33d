package webserver

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/minimost/minimost/pkg/chat"
)

// conv is a conversation the caller belongs to, with everyone who receives its messages.
type conv struct {
	chat.Conversation
	recipients []string
}

func (s *Server) allUsers(ctx context.Context) []string {
	us, err := s.Store.Usernames(ctx)
	if err != nil {
		s.Logger.Error("list users", "err", err)
	}
	return us
}

// resolve returns conversation id if user belongs to it; anything else is ENotFound, whether
// the conversation exists or not.
func (s *Server) resolve(ctx context.Context, user, id string) (conv, error) {
	kind, key, members, err := chat.ParseConversationID(id)
	if err != nil {
		return conv{}, err
	}
	notFound := chat.Errorf(chat.ENotFound, "conversation not found")
	switch kind {
	case chat.KindChannel:
		if !slices.Contains(s.Settings.Get().Channels, key) {
			return conv{}, notFound
		}
		all := s.allUsers(ctx)
		if !slices.Contains(all, user) {
			// The account is gone (deleted, even by hand): it belongs to nothing.
			return conv{}, notFound
		}
		return conv{chat.Conversation{ID: id, Kind: kind, Name: key}, all}, nil
	case chat.KindPrivate:
		pc, err := s.Store.GetPrivateChannel(ctx, user, id)
		if err != nil {
			return conv{}, err
		}
		ms, err := s.Store.PrivateMembers(ctx, id)
		if err != nil {
			return conv{}, err
		}
		return conv{chat.Conversation{ID: id, Kind: kind, Name: pc.Name, Members: ms, Creator: pc.Creator}, ms}, nil
	case chat.KindDM:
		if !slices.Contains(members, user) {
			return conv{}, notFound
		}
		var others []string
		for _, m := range members {
			if m != user {
				others = append(others, m)
			}
		}
		if len(others) == 0 {
			others = []string{user}
		}
		// Only members whose account exists receive anything.
		var rcpt []string
		all := s.allUsers(ctx)
		for _, m := range members {
			if slices.Contains(all, m) {
				rcpt = append(rcpt, m)
			}
		}
		return conv{chat.Conversation{ID: id, Kind: kind, Name: strings.Join(others, ", "), Members: members}, rcpt}, nil
	}
	return conv{}, notFound
}

// conversations lists what user's sidebar shows.
func (s *Server) conversations(ctx context.Context, user string) ([]chat.Conversation, error) {
	var out []chat.Conversation
	for _, ch := range s.Settings.Get().Channels {
		out = append(out, chat.Conversation{ID: chat.ChannelID(ch), Kind: chat.KindChannel, Name: ch})
	}
	pcs, err := s.Store.UserPrivateChannels(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, pc := range pcs {
		ms, err := s.Store.PrivateMembers(ctx, pc.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, chat.Conversation{ID: pc.ID, Kind: chat.KindPrivate, Name: pc.Name, Members: ms, Creator: pc.Creator})
	}
	ids, err := s.Store.UserConversations(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "d:") {
			continue
		}
		c, err := s.resolve(ctx, user, id)
		if err != nil {
			continue
		}
		out = append(out, c.Conversation)
	}
	lastRead, err := s.Store.LastRead(ctx, user)
	if err != nil {
		return nil, err
	}
	ids = ids[:0]
	for _, c := range out {
		ids = append(ids, c.ID)
	}
	stats, err := s.Store.ConversationStats(ctx, user, ids, lastRead)
	if err != nil {
		return nil, err
	}
	for i := range out {
		st := stats[out[i].ID]
		out[i].Unread, out[i].Mentions, out[i].LastID = st.Unread, st.Mentions, st.LastID
	}
	return out, nil
}

func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request, user string) error {
	cs, err := s.conversations(r.Context(), user)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []chat.Conversation{}
	}
	writeJSON(w, 200, map[string]any{"conversations": cs})
	return nil
}

func (s *Server) handleConversation(w http.ResponseWriter, r *http.Request, user string) error {
	c, err := s.resolve(r.Context(), user, r.PathValue("id"))
	if err != nil {
		return err
	}
	lastRead, _ := s.Store.LastRead(r.Context(), user)
	if st, err := s.Store.ConversationStats(r.Context(), user, []string{c.ID}, lastRead); err == nil {
		c.Unread, c.Mentions, c.LastID = st[c.ID].Unread, st[c.ID].Mentions, st[c.ID].LastID
	}
	writeJSON(w, 200, map[string]any{"conversation": c.Conversation})
	return nil
}

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request, user string) error {
	c, err := s.resolve(r.Context(), user, r.PathValue("id"))
	if err != nil {
		return err
	}
	ms := c.recipients
	if c.Kind == chat.KindDM {
		ms = c.Members
	}
	if ms == nil {
		ms = []string{}
	}
	writeJSON(w, 200, map[string]any{"members": ms})
	return nil
}

func (s *Server) handleCreatePrivate(w http.ResponseWriter, r *http.Request, user string) error {
	var req struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Members) > 1000 {
		return chat.Errorf(chat.EInvalid, "too many members")
	}
	for _, m := range req.Members {
		if chat.ValidateUsername(m) != nil {
			return chat.Errorf(chat.EInvalid, "no such user %q", m)
		}
	}
	pc, err := s.Store.CreatePrivateChannel(r.Context(), req.Name, user, req.Members)
	if err != nil {
		return err
	}
	c, err := s.resolve(r.Context(), user, pc.ID)
	if err != nil {
		return err
	}
	s.Hub.Publish(c.recipients, map[string]any{"type": "conversation", "conversation": c.Conversation})
	writeJSON(w, http.StatusCreated, map[string]any{"conversation": c.Conversation})
	return nil
}

func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request, user string) error {
	var req struct {
		Username string `json:"username"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	c, err := s.resolve(r.Context(), user, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.Kind != chat.KindPrivate {
		return chat.Errorf(chat.EInvalid, "members can be added to private channels only")
	}
	if chat.ValidateUsername(req.Username) != nil {
		return chat.Errorf(chat.EInvalid, "no such user %q", req.Username)
	}
	if err := s.Store.AddPrivateMember(r.Context(), user, c.ID, req.Username); err != nil {
		return err
	}
	c, err = s.resolve(r.Context(), user, c.ID)
	if err != nil {
		return err
	}
	s.Hub.Publish(c.recipients, map[string]any{"type": "conversation", "conversation": c.Conversation})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request, user string) error {
	c, err := s.resolve(r.Context(), user, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.Kind != chat.KindPrivate {
		return chat.Errorf(chat.EInvalid, "only private channels can be left")
	}
	if err := s.Store.LeavePrivateChannel(r.Context(), user, c.ID); err != nil {
		return err
	}
	s.Hub.Publish([]string{user}, map[string]any{"type": "conversation.removed", "id": c.ID})
	if c2, err := s.resolveAny(r.Context(), c.ID); err == nil {
		s.Hub.Publish(c2.recipients, map[string]any{"type": "conversation", "conversation": c2.Conversation})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resolveAny resolves a private channel as any of its members sees it.
func (s *Server) resolveAny(ctx context.Context, id string) (conv, error) {
	ms, err := s.Store.PrivateMembers(ctx, id)
	if err != nil || len(ms) == 0 {
		return conv{}, chat.Errorf(chat.ENotFound, "conversation not found")
	}
	return s.resolve(ctx, ms[0], id)
}

func (s *Server) handleCreateDM(w http.ResponseWriter, r *http.Request, user string) error {
	var req struct {
		Members []string `json:"members"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	all := s.allUsers(r.Context())
	for _, m := range req.Members {
		if !slices.Contains(all, m) {
			return chat.Errorf(chat.EInvalid, "no such user %q", m)
		}
	}
	id, err := chat.DMID(append(req.Members, user))
	if err != nil {
		return err
	}
	c, err := s.resolve(r.Context(), user, id)
	if err != nil {
		return err
	}
	if err := s.Store.AddUserConversation(r.Context(), user, id); err != nil {
		return err
	}
	// Tell the other members now, so the DM shows in their sidebars (each sees it named by
	// the others).
	for _, m := range c.recipients {
		if m == user {
			continue
		}
		if cm, err := s.resolve(r.Context(), m, id); err == nil {
			s.Store.AddUserConversation(r.Context(), m, id)
			s.Hub.Publish([]string{m}, map[string]any{"type": "conversation", "conversation": cm.Conversation})
		}
	}
	writeJSON(w, 200, map[string]any{"conversation": c.Conversation})
	return nil
}
