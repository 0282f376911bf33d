package webserver

import (
	"net/http"

	"github.com/minimost/minimost/pkg/chat"
)

func (s *Server) handleGetNotifications(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	p, err := s.App.NotificationPrefs(r.Context(), me)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"prefs": p})
	return nil
}

func (s *Server) handlePatchNotifications(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		DND *bool `json:"dnd"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.DND == nil {
		return chat.Errorf(chat.EInvalid, "dnd (true or false) is required")
	}
	p, err := s.App.SetDND(r.Context(), me, *req.DND)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"prefs": p})
	return nil
}

func (s *Server) handlePutConversationNotifications(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req chat.ConversationPrefs
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, err := s.App.SetConversationPrefs(r.Context(), me, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"prefs": p})
	return nil
}
