package webserver

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/markdown"
	"github.com/minimost/minimost/pkg/store"
)

// MaxBodyBytes is the largest message body.
const MaxBodyBytes = 16000

func validBody(body string, allowEmpty bool) (string, error) {
	if !utf8.ValidString(body) {
		return "", chat.Errorf(chat.EInvalid, "message is not valid UTF-8")
	}
	body = strings.TrimRightFunc(body, unicode.IsSpace)
	body = strings.TrimLeft(body, "\r\n")
	if len(body) > MaxBodyBytes {
		return "", chat.Errorf(chat.ETooLarge, "message is longer than %d bytes", MaxBodyBytes)
	}
	if body == "" && !allowEmpty {
		return "", chat.Errorf(chat.EInvalid, "message is empty")
	}
	if strings.ContainsRune(body, 0) {
		return "", chat.Errorf(chat.EInvalid, "message contains a NUL character")
	}
	return body, nil
}

// decorate fills what the API adds to stored messages: reactions, attachment URLs and
// whether cleanup removed the attachment's file.
func (s *Server) decorate(ctx context.Context, msgs []chat.Message) {
	ids := make([]string, 0, len(msgs))
	for i := range msgs {
		ids = append(ids, msgs[i].ID)
	}
	reactions, err := s.Store.Reactions(ctx, ids)
	if err != nil {
		s.Logger.Error("read reactions", "err", err)
	}
	for i := range msgs {
		m := &msgs[i]
		m.Reactions = reactions[m.ID]
		s.decorateAttachment(m)
	}
}

func (s *Server) decorateAttachment(m *chat.Message) {
	a := m.Attachment
	if a == nil {
		return
	}
	a.Image = isRasterName(a.Name) && strings.HasPrefix(a.Type, "image/") && a.Type != "image/svg+xml"
	if m.Deleted {
		m.Attachment = nil
		return
	}
	if _, err := os.Stat(filepath.Join(s.Store.Dir(), "uploads", a.StoredName)); err != nil {
		a.Deleted = true
		a.URL = ""
		return
	}
	a.URL = "/api/files/" + url.PathEscape(m.Conversation) + "/" + url.PathEscape(a.StoredName)
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request, user string) error {
	c, err := s.resolve(r.Context(), user, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return chat.Errorf(chat.EInvalid, "limit must be 1 to 200")
		}
		limit = n
	}
	before := q.Get("before")
	if before != "" && !store.ValidID(before) {
		return chat.Errorf(chat.EInvalid, "before must be a message id")
	}
	msgs, more, err := s.Store.History(r.Context(), user, c.ID, before, limit)
	if err != nil {
		return err
	}
	s.decorate(r.Context(), msgs)
	if msgs == nil {
		msgs = []chat.Message{}
	}
	writeJSON(w, 200, map[string]any{"messages": msgs, "has_more": more})
	return nil
}

// Post sends a message from user to conversation id: checks, renders, journals (durable when
// it returns) and publishes it live. The WebSocket and the HTTP API both use it.
func (s *Server) Post(ctx context.Context, user, id, body, threadRoot string, att *chat.Attachment) (chat.Message, error) {
	c, err := s.resolve(ctx, user, id)
	if err != nil {
		return chat.Message{}, err
	}
	body, err = validBody(body, att != nil)
	if err != nil {
		return chat.Message{}, err
	}
	if threadRoot != "" {
		if !store.ValidID(threadRoot) {
			return chat.Message{}, chat.Errorf(chat.EInvalid, "thread_root must be a message id")
		}
		if _, err := s.Store.GetMessage(ctx, user, c.ID, threadRoot); err != nil {
			return chat.Message{}, err
		}
	}
	html, mentions := markdown.Render(body)
	m := chat.Message{Conversation: c.ID, Sender: user, Body: body, HTML: html, Mentions: mentions, ThreadRoot: threadRoot, Attachment: att}
	if err := s.Store.PostMessage(ctx, &m, c.recipients); err != nil {
		return chat.Message{}, err
	}
	s.Store.ClearTyping(ctx, user)
	s.decorateAttachment(&m)
	s.Hub.Publish(c.recipients, map[string]any{"type": "message.new", "message": m})
	return m, nil
}

// SystemDM sends text from the system user to user (the password-reset notice).
func (s *Server) SystemDM(ctx context.Context, user, text string) error {
	id, err := chat.DMID([]string{chat.SystemUser, user})
	if err != nil {
		return err
	}
	html, _ := markdown.Render(text)
	m := chat.Message{Conversation: id, Sender: chat.SystemUser, Body: text, HTML: html}
	if err := s.Store.PostMessage(ctx, &m, []string{user}); err != nil {
		return err
	}
	s.Hub.Publish([]string{user}, map[string]any{"type": "message.new", "message": m})
	return nil
}

func (s *Server) handlePost(w http.ResponseWriter, r *http.Request, user string) error {
	var req struct {
		Body       string `json:"body"`
		ClientID   string `json:"client_id"`
		ThreadRoot string `json:"thread_root"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	m, err := s.Post(r.Context(), user, r.PathValue("id"), req.Body, req.ThreadRoot, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": m, "client_id": req.ClientID})
	return nil
}

// isRasterName reports whether a file name has one of the image extensions of SPEC §3.
func isRasterName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp":
		return true
	}
	return false
}

// safeExt returns the lowercase extension of name if it is short and plain, else "".
func safeExt(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if len(ext) < 2 || len(ext) > 11 {
		return ""
	}
	for _, r := range ext[1:] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return ""
		}
	}
	return ext
}

// cleanFileName makes an uploaded file's name safe to store and show: the base name only,
// no control characters, at most 200 bytes.
func cleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = filepath.Base(name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == "/" || name == ".." {
		name = "file"
	}
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, user string) error {
	// Check access before reading a large body.
	if _, err := s.resolve(r.Context(), user, r.PathValue("id")); err != nil {
		return err
	}
	data, filename, fields, err := s.readUpload(w, r, "file")
	if err != nil {
		return err
	}
	name := cleanFileName(filename)
	ctype := http.DetectContentType(data)
	if i := strings.IndexByte(ctype, ';'); i > 0 {
		ctype = ctype[:i]
	}
	stored := randomName(safeExt(name))
	path := filepath.Join(s.Store.Dir(), "uploads", stored)
	if err := writeFileSync(path, data); err != nil {
		return err
	}
	att := &chat.Attachment{StoredName: stored, Name: name, Size: int64(len(data)), Type: ctype}
	m, err := s.Post(r.Context(), user, r.PathValue("id"), fields["body"], "", att)
	if err != nil {
		os.Remove(path)
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": m, "client_id": fields["client_id"]})
	return nil
}

// ownMessage returns message mid of conversation c if user sent it; anything else is 404.
func (s *Server) ownMessage(ctx context.Context, user string, c conv, mid string) (chat.Message, error) {
	if !store.ValidID(mid) {
		return chat.Message{}, chat.Errorf(chat.ENotFound, "message not found")
	}
	m, err := s.Store.GetMessage(ctx, user, c.ID, mid)
	if err != nil {
		return m, err
	}
	if m.Sender != user || m.Deleted {
		return m, chat.Errorf(chat.ENotFound, "message not found")
	}
	return m, nil
}

func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request, user string) error {
	var req struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	c, err := s.resolve(r.Context(), user, r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := s.ownMessage(r.Context(), user, c, r.PathValue("mid"))
	if err != nil {
		return err
	}
	body, err := validBody(req.Body, m.Attachment != nil)
	if err != nil {
		return err
	}
	m.Body = body
	m.HTML, m.Mentions = markdown.Render(body)
	if err := s.Store.EditMessage(r.Context(), m, c.recipients); err != nil {
		return err
	}
	m.EditedTS = s.Now().Unix()
	ms := []chat.Message{m}
	s.decorate(r.Context(), ms)
	m = ms[0]
	s.Hub.Publish(c.recipients, map[string]any{"type": "message.edited", "message": m})
	writeJSON(w, 200, map[string]any{"message": m})
	return nil
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, user string) error {
	c, err := s.resolve(r.Context(), user, r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := s.ownMessage(r.Context(), user, c, r.PathValue("mid"))
	if err != nil {
		return err
	}
	if err := s.Store.DeleteMessage(r.Context(), c.ID, m.ID, c.recipients); err != nil {
		return err
	}
	s.Hub.Publish(c.recipients, map[string]any{"type": "message.deleted", "conversation": c.ID, "id": m.ID})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func validEmoji(e string) error {
	if e == "" || len(e) > 32 || !utf8.ValidString(e) {
		return chat.Errorf(chat.EInvalid, "emoji must be 1 to 32 bytes")
	}
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' || r == '&' || r == '"' || r == '\'' {
			return chat.Errorf(chat.EInvalid, "emoji may not contain spaces, control characters or markup")
		}
	}
	return nil
}

func (s *Server) react(ctx context.Context, user, id, mid, emoji string, on bool) error {
	if err := validEmoji(emoji); err != nil {
		return err
	}
	c, err := s.resolve(ctx, user, id)
	if err != nil {
		return err
	}
	if !store.ValidID(mid) {
		return chat.Errorf(chat.ENotFound, "message not found")
	}
	m, err := s.Store.GetMessage(ctx, user, c.ID, mid)
	if err != nil {
		return err
	}
	if m.Deleted {
		return chat.Errorf(chat.ENotFound, "message not found")
	}
	rs, err := s.Store.SetReaction(ctx, c.ID, mid, user, emoji, on)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []chat.Reaction{}
	}
	s.Hub.Publish(c.recipients, map[string]any{"type": "reaction", "conversation": c.ID, "id": mid, "reactions": rs})
	return nil
}

func (s *Server) handleReact(w http.ResponseWriter, r *http.Request, user string) error {
	var req struct {
		Emoji string `json:"emoji"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.react(r.Context(), user, r.PathValue("id"), r.PathValue("mid"), req.Emoji, true); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUnreact(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.react(r.Context(), user, r.PathValue("id"), r.PathValue("mid"), r.PathValue("emoji"), false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// MarkRead records a read receipt and tells the conversation's members.
func (s *Server) MarkRead(ctx context.Context, user, id, mid string) error {
	c, err := s.resolve(ctx, user, id)
	if err != nil {
		return err
	}
	if !store.ValidID(mid) {
		return chat.Errorf(chat.EInvalid, "message_id must be a message id")
	}
	if _, err := s.Store.GetMessage(ctx, user, c.ID, mid); err != nil {
		return err
	}
	if err := s.Store.MarkRead(ctx, user, c.ID, mid); err != nil {
		return err
	}
	s.Hub.Publish(c.recipients, map[string]any{"type": "read", "conversation": c.ID, "reader": user, "message_id": mid})
	return nil
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request, user string) error {
	var req struct {
		MessageID string `json:"message_id"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.MarkRead(r.Context(), user, r.PathValue("id"), req.MessageID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleReceipts(w http.ResponseWriter, r *http.Request, user string) error {
	c, err := s.resolve(r.Context(), user, r.PathValue("id"))
	if err != nil {
		return err
	}
	rs, err := s.Store.Receipts(r.Context(), c.ID)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []store.Receipt{}
	}
	writeJSON(w, 200, map[string]any{"receipts": rs})
	return nil
}

// Typing records and announces that user is typing in conversation id.
func (s *Server) Typing(ctx context.Context, user, id string) error {
	c, err := s.resolve(ctx, user, id)
	if err != nil {
		return err
	}
	if err := s.Store.SetTyping(ctx, user, c.ID); err != nil {
		return err
	}
	var others []string
	for _, m := range c.recipients {
		if m != user {
			others = append(others, m)
		}
	}
	s.Hub.Publish(others, map[string]any{"type": "typing", "conversation": c.ID, "user": user})
	return nil
}

func (s *Server) handleTyping(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.Typing(r.Context(), user, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleFile serves an attachment to a member of its conversation whose copy has it.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request, user string) error {
	c, err := s.resolve(r.Context(), user, r.PathValue("id"))
	if err != nil {
		return err
	}
	file := r.PathValue("file")
	if filepath.Base(file) != file || strings.HasPrefix(file, ".") || strings.ContainsAny(file, "/\\") {
		return chat.Errorf(chat.ENotFound, "file not found")
	}
	a, err := s.Store.HasAttachment(r.Context(), user, c.ID, file)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(s.Store.Dir(), "uploads", file))
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
	if _, raster := rasterTypes[a.Type]; raster && isRasterName(a.Name) {
		h.Set("Content-Type", a.Type)
		h.Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(a.Name))
	} else {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(a.Name))
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, user string) error {
	q := r.URL.Query().Get("q")
	if len(q) > 200 || !utf8.ValidString(q) {
		return chat.Errorf(chat.EInvalid, "search text must be at most 200 bytes")
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return chat.Errorf(chat.EInvalid, "limit must be 1 to 200")
		}
		limit = n
	}
	msgs, err := s.Store.Search(r.Context(), user, q, limit)
	if err != nil {
		return err
	}
	// Only conversations still visible: a removed channel or a left private channel is not.
	out := msgs[:0]
	for _, m := range msgs {
		if _, err := s.resolve(r.Context(), user, m.Conversation); err == nil {
			out = append(out, m)
		}
	}
	s.decorate(r.Context(), out)
	if out == nil {
		out = []chat.Message{}
	}
	writeJSON(w, 200, map[string]any{"messages": out})
	return nil
}
