package webserver

import (
	"net/http"

	"github.com/minimost/minimost/pkg/chat"
)

func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	cs, err := s.App.Conversations(r.Context(), me)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"conversations": cs})
	return nil
}

func (s *Server) handleConversation(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	c, err := s.App.Conversation(r.Context(), me, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"conversation": c})
	return nil
}

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	ms, err := s.App.Members(r.Context(), me, r.PathValue("id"))
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []string{}
	}
	writeJSON(w, 200, map[string]any{"members": ms})
	return nil
}

func (s *Server) handleCreatePrivate(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	c, err := s.App.CreatePrivateChannel(r.Context(), me, req.Name, req.Members)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"conversation": c})
	return nil
}

func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Username string `json:"username"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.App.Invite(r.Context(), me, r.PathValue("id"), req.Username); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	if err := s.App.Leave(r.Context(), me, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleCreateDM(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Members []string `json:"members"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	c, err := s.App.OpenDM(r.Context(), me, req.Members)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"conversation": c})
	return nil
}
