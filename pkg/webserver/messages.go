package webserver

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"github.com/minimost/minimost/pkg/chat"
)

// queryLimit reads the limit query parameter (default 50).
func queryLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, chat.Errorf(chat.EInvalid, "limit must be 1 to 200")
	}
	return n, nil
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	msgs, more, err := s.App.History(r.Context(), me, r.PathValue("id"), r.URL.Query().Get("before"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"messages": msgs, "has_more": more})
	return nil
}

func (s *Server) handlePost(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Body        string `json:"body"`
		ClientID    string `json:"client_id"`
		ThreadRoot  string `json:"thread_root"`
		AlsoChannel bool   `json:"also_channel"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	m, err := s.App.PostReply(r.Context(), me, r.PathValue("id"), req.Body, req.ThreadRoot, req.AlsoChannel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": m, "client_id": req.ClientID})
	return nil
}

// handleUpload streams the file into a temporary file (memory per upload is one copy
// buffer), then posts it. Access and the account's upload slots are checked before the body
// is read.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	release, err := s.App.BeginUpload(r.Context(), me, r.PathValue("id"))
	if err != nil {
		return err
	}
	defer release()
	tmp, err := s.App.UploadTemp()
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // nothing once PostFile moved it into place
	filename, fields, err := s.readUpload(w, r, "file", tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store the file: %w", cerr)
	}
	if err != nil {
		return err
	}
	m, err := s.App.PostFile(r.Context(), me, r.PathValue("id"), filename, tmp.Name(), fields["body"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": m, "client_id": fields["client_id"]})
	return nil
}

func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	m, err := s.App.Edit(r.Context(), me, r.PathValue("id"), r.PathValue("mid"), req.Body)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"message": m})
	return nil
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	if err := s.App.Delete(r.Context(), me, r.PathValue("id"), r.PathValue("mid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleReact(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		Emoji string `json:"emoji"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.App.React(r.Context(), me, r.PathValue("id"), r.PathValue("mid"), req.Emoji, true); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUnreact(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	if err := s.App.React(r.Context(), me, r.PathValue("id"), r.PathValue("mid"), r.PathValue("emoji"), false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUnread(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		MessageID string `json:"message_id"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	c, err := s.App.MarkUnread(r.Context(), me, r.PathValue("id"), req.MessageID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation": c})
	return nil
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		MessageID string `json:"message_id"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.App.MarkRead(r.Context(), me, r.PathValue("id"), req.MessageID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleReceipts(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	rs, err := s.App.Receipts(r.Context(), me, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"receipts": rs})
	return nil
}

func (s *Server) handleTyping(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	if err := s.App.Typing(r.Context(), me, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleFile serves an attachment to a member of its conversation whose copy has it: raster
// images inline, everything else as a download, never sniffed, in a sandbox.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	a, path, err := s.App.Attachment(r.Context(), me, r.PathValue("id"), r.PathValue("file"))
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return chat.Errorf(chat.ENotFound, "file deleted")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return chat.Errorf(chat.ENotFound, "file deleted")
	}
	h := w.Header()
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if a.Image {
		h.Set("Content-Type", a.Type)
		h.Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(a.Name))
	} else {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(a.Name))
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	msgs, err := s.App.Search(r.Context(), me, r.URL.Query().Get("q"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"messages": msgs})
	return nil
}

func (s *Server) handleThread(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	root, replies, err := s.App.Thread(r.Context(), me, r.PathValue("id"), r.PathValue("mid"))
	if err != nil {
		return err
	}
	if replies == nil {
		replies = []chat.Message{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"root": root, "replies": replies})
	return nil
}

func (s *Server) handleThreads(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	items, err := s.App.Threads(r.Context(), me, 50)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"threads": items})
	return nil
}

func (s *Server) handleThreadRead(w http.ResponseWriter, r *http.Request, me chat.Account) error {
	var req struct {
		MessageID string `json:"message_id"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.App.MarkThreadRead(r.Context(), me, r.PathValue("id"), r.PathValue("mid"), req.MessageID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
