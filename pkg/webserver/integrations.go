package webserver

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/slack"
)

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

func (s *Server) integrationRoutes(mux *http.ServeMux, user func(string, func(http.ResponseWriter, *http.Request, chat.Account) error)) {
	mux.HandleFunc("POST /hooks/responses/{secret}", s.handleHookResponse)
	mux.HandleFunc("POST /hooks/{secret}", s.handleHook)
	mux.HandleFunc("/hooks/", func(w http.ResponseWriter, r *http.Request) {
		s.hookError(w, chat.Errorf(chat.ENotFound, "no such webhook; POST a Slack-format payload to the URL you were given"))
	})
	user("GET /api/calls/config", s.handleCallConfig)
	user("GET /api/commands", s.handleCommands)
	user("POST /api/conversations/{id}/commands", s.handleCommand)
	user("GET /api/conversations/{id}/webhooks", s.handleListHooks)
	user("POST /api/conversations/{id}/webhooks", s.handleCreateHook)
	user("POST /api/webhooks/{hid}/rotate", s.handleRotateHook)
	user("DELETE /api/webhooks/{hid}", s.handleRevokeHook)
	user("GET /api/me/tokens", s.browserOnly(s.handleListTokens))
	user("POST /api/me/tokens", s.browserOnly(s.handleCreateToken))
	user("DELETE /api/me/tokens/{tid}", s.browserOnly(s.handleRevokeToken))
}

// browserOnly refuses a request made with an access token: tokens are managed from a signed-in
// browser, so a leaked token cannot make itself a longer-lived one.
func (s *Server) browserOnly(h func(http.ResponseWriter, *http.Request, chat.Account) error) func(http.ResponseWriter, *http.Request, chat.Account) error {
	return func(w http.ResponseWriter, r *http.Request, me chat.Account) error {
		if _, bearer := bearerToken(r); bearer {
			return chat.Errorf(chat.EForbidden, "access tokens are managed from a signed-in browser, not with a token")
		}
		return h(w, r, me)
	}
}

// hookError answers a webhook sender in plain text, as Slack does.
func (s *Server) hookError(w http.ResponseWriter, err error) {
	code := chat.ErrorCode(err)
	var ce *chat.Error
	if errors.As(err, &ce) && ce.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ce.RetryAfter))
	}
	msg := chat.ErrorMessage(err)
	if code == chat.EInternal {
		s.Logger.Error("webhook", "err", err)
		msg = "internal error"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(statusOf(code))
	io.WriteString(w, msg+"\n")
}

// readHookBody reads a webhook request body: at most slack.MaxPayloadBytes, quickly.
func (s *Server) readHookBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	bodyDeadline(w, s.JSONBodyDeadline)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, slack.MaxPayloadBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, chat.Errorf(chat.ETooLarge, "payload is larger than %d bytes", slack.MaxPayloadBytes)
		}
		return nil, chat.Errorf(chat.EInvalid, "cannot read the request body")
	}
	return body, nil
}

// handleHook takes a Slack-format payload for an incoming webhook and answers "ok" as Slack.
func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	body, err := s.readHookBody(w, r)
	if err == nil {
		_, err = s.App.PostWebhook(r.Context(), r.PathValue("secret"), r.Header.Get("Content-Type"), body)
	}
	if err != nil {
		s.hookError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok")
}

// handleHookResponse takes a slash command's delayed answer at its response_url.
func (s *Server) handleHookResponse(w http.ResponseWriter, r *http.Request) {
	body, err := s.readHookBody(w, r)
	if err == nil {
		err = s.App.PostResponse(r.Context(), r.PathValue("secret"), r.Header.Get("Content-Type"), body)
	}
	if err != nil {
		s.hookError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok")
}

func (s *Server) handleCommands(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	cs, err := s.App.Commands(r.Context(), me)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"commands": cs})
	return nil
}

func (s *Server) handleCommand(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	res, err := s.App.Command(r.Context(), me, r.PathValue("id"), req.Text)
	if err != nil {
		return err
	}
	writeJSON(w, 200, res)
	return nil
}

func (s *Server) handleListHooks(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	hs, err := s.App.IncomingWebhooks(r.Context(), me, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"webhooks": hs})
	return nil
}

func (s *Server) handleCreateHook(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Username string   `json:"username"`
		IconURL  string   `json:"icon_url"`
		Channels []string `json:"also_channels"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	h, url, err := s.App.CreateIncomingWebhook(r.Context(), me, append([]string{r.PathValue("id")}, req.Channels...), req.Username, req.IconURL)
	if err != nil {
		return err
	}
	writeJSON(w, 201, map[string]any{"webhook": h, "url": url})
	return nil
}

func (s *Server) handleRotateHook(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	url, err := s.App.RotateIncomingWebhook(r.Context(), me, r.PathValue("hid"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"url": url})
	return nil
}

func (s *Server) handleRevokeHook(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	if err := s.App.RevokeIncomingWebhook(r.Context(), me, r.PathValue("hid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	ts, err := s.App.OwnTokens(r.Context(), me)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"tokens": ts})
	return nil
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Name        string `json:"name"`
		ExpiresDays int    `json:"expires_days"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.ExpiresDays < 0 || req.ExpiresDays > 3650 {
		return chat.Errorf(chat.EInvalid, "expires_days must be 0 (never) to 3650")
	}
	tok, t, err := s.App.CreateOwnToken(r.Context(), me, req.Name, time.Duration(req.ExpiresDays)*24*time.Hour)
	if err != nil {
		return err
	}
	writeJSON(w, 201, map[string]any{"token": tok, "info": t})
	return nil
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	if err := s.App.RevokeOwnToken(r.Context(), me, r.PathValue("tid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleCallConfig(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	ice, err := s.App.CallConfig(r.Context(), me)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"ice_servers": ice})
	return nil
}
