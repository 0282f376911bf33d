package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/fsutil"
	"github.com/minimost/minimost/pkg/markdown"
)

// MaxBodyBytes is the largest message body.
const MaxBodyBytes = 16000

// validBody trims a message body and checks it: UTF-8, no NUL, at most MaxBodyBytes, not
// empty unless a file comes with it.
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

// RasterTypes are the image types shown inline and accepted as avatars (by sniffed type), with
// the extension they are stored under.
var RasterTypes = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}

// UploadPath returns the path of a stored upload (a name checked by the caller).
func (a *App) UploadPath(stored string) string { return filepath.Join(a.DataDir, "uploads", stored) }

// AvatarPath returns the path of a stored avatar.
func (a *App) AvatarPath(file string) string { return filepath.Join(a.DataDir, "avatars", file) }

// decorate fills what the API adds to stored messages: reactions, attachment URLs and
// whether cleanup removed the attachment's file.
func (a *App) decorate(ctx context.Context, msgs []chat.Message) error {
	ids := make([]string, 0, len(msgs))
	for i := range msgs {
		ids = append(ids, msgs[i].ID)
	}
	reactions, err := a.Store.Reactions(ctx, ids)
	if err != nil {
		return err
	}
	for i := range msgs {
		m := &msgs[i]
		m.Reactions = reactions[m.ID]
		a.decorateAttachment(m)
	}
	return nil
}

func (a *App) decorateAttachment(m *chat.Message) {
	at := m.Attachment
	if at == nil {
		return
	}
	_, raster := RasterTypes[at.Type]
	at.Image = raster && chat.IsImageName(at.Name)
	if m.Deleted {
		m.Attachment = nil
		return
	}
	if _, err := os.Stat(a.UploadPath(at.StoredName)); err != nil {
		at.Deleted = true
		at.URL = ""
		return
	}
	at.URL = "/api/files/" + url.PathEscape(m.Conversation) + "/" + url.PathEscape(at.StoredName)
}

// History returns up to limit messages of conversation id older than before ("" for the
// newest), oldest first, and whether there are older ones.
func (a *App) History(ctx context.Context, me chat.Account, id, before string, limit int) ([]chat.Message, bool, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return nil, false, err
	}
	if limit < 1 || limit > 200 {
		return nil, false, chat.Errorf(chat.EInvalid, "limit must be 1 to 200")
	}
	if before != "" && !chat.ValidMessageID(before) {
		return nil, false, chat.Errorf(chat.EInvalid, "before must be a message id")
	}
	msgs, more, err := a.Store.History(ctx, me.Name, c.ID, before, limit)
	if err != nil {
		return nil, false, err
	}
	if err := a.decorate(ctx, msgs); err != nil {
		return nil, false, err
	}
	if err := a.addThreads(ctx, me, c.ID, msgs); err != nil {
		return nil, false, err
	}
	if err := a.addRootPreviews(ctx, me, c.ID, msgs); err != nil {
		return nil, false, err
	}
	if msgs == nil {
		msgs = []chat.Message{}
	}
	return msgs, more, nil
}

// Post sends a message from me to conversation id: checks, renders, journals (durable when
// it returns) and publishes it live.
func (a *App) Post(ctx context.Context, me chat.Account, id, body, threadRoot string, att *chat.Attachment) (chat.Message, error) {
	return a.postAs(ctx, me, id, body, threadRoot, att, nil)
}

// PostReply is Post of a thread reply (threadRoot "" for none) that, with alsoChannel, is
// also shown in the conversation's list ("also send to channel"), which needs a thread.
func (a *App) PostReply(ctx context.Context, me chat.Account, id, body, threadRoot string, alsoChannel bool) (chat.Message, error) {
	if !alsoChannel {
		return a.postAs(ctx, me, id, body, threadRoot, nil, nil)
	}
	if threadRoot == "" {
		return chat.Message{}, chat.Errorf(chat.EInvalid, "also_channel needs thread_root: only a thread reply can also be sent to the channel")
	}
	return a.postAs(ctx, me, id, body, threadRoot, nil, &chat.MessageProps{AlsoChannel: true})
}

// RootPreviewRunes is how much of a thread root's text a reply also sent to the channel
// quotes.
const RootPreviewRunes = 100

// rootPreview is the start of root's text, for a reply also sent to the channel.
func rootPreview(root chat.Message) string {
	if root.Deleted {
		return ""
	}
	text := strings.Join(strings.Fields(root.Body), " ")
	if text == "" && root.Attachment != nil {
		text = root.Attachment.Name
	}
	if utf8.RuneCountInString(text) > RootPreviewRunes {
		r := []rune(text)
		text = string(r[:RootPreviewRunes]) + "…"
	}
	return text
}

// addRootPreviews fills RootPreview of the replies among msgs that are also in the
// channel's list, from me's copy of their roots.
func (a *App) addRootPreviews(ctx context.Context, me chat.Account, conversation string, msgs []chat.Message) error {
	roots := map[string]string{}
	for i := range msgs {
		m := &msgs[i]
		if !m.AlsoInChannel() {
			continue
		}
		p, ok := roots[m.ThreadRoot]
		if !ok {
			root, err := a.Store.GetMessage(ctx, me.Name, conversation, m.ThreadRoot)
			if err != nil && chat.ErrorCode(err) != chat.ENotFound {
				return err
			}
			p = rootPreview(root) // "" for a root no longer there
			roots[m.ThreadRoot] = p
		}
		m.RootPreview = p
	}
	return nil
}

// threadParticipants are who started thread root (root's sender) and who replied in it
// (sender included), from sender's copy of the conversation.
func (a *App) threadParticipants(ctx context.Context, sender chat.Account, conversation string, root chat.Message) ([]string, error) {
	sums, err := a.Store.ThreadSummaries(ctx, sender.Name, conversation, []string{root.ID})
	if err != nil {
		return nil, err
	}
	out := []string{root.Sender}
	for _, u := range append(sums[root.ID].Participants, sender.Name) {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// postAs is Post with props that mark the message (a /me emote).
func (a *App) postAs(ctx context.Context, me chat.Account, id, body, threadRoot string, att *chat.Attachment, props *chat.MessageProps) (chat.Message, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return chat.Message{}, err
	}
	if c.ReadOnly {
		return chat.Message{}, chat.Errorf(chat.EForbidden, "nobody can read replies here: the other members deleted their accounts, or it is the system's notices")
	}
	body, err = validBody(body, att != nil)
	if err != nil {
		return chat.Message{}, err
	}
	if err := a.allow("messages", a.Settings.Get().PostsPerMinute, time.Minute, me); err != nil {
		return chat.Message{}, err
	}
	var root chat.Message
	if threadRoot != "" {
		if !chat.ValidMessageID(threadRoot) {
			return chat.Message{}, chat.Errorf(chat.EInvalid, "thread_root must be a message id")
		}
		root, err = a.Store.GetMessage(ctx, me.Name, c.ID, threadRoot)
		if err != nil {
			return chat.Message{}, err
		}
		// A reply to a reply belongs to the same thread: threads are one level deep.
		if root.ThreadRoot != "" {
			threadRoot = root.ThreadRoot
			if root, err = a.Store.GetMessage(ctx, me.Name, c.ID, threadRoot); err != nil {
				return chat.Message{}, err
			}
		}
	}
	html, mentions := markdown.Render(body)
	m := chat.Message{Conversation: c.ID, Sender: me.Name, Body: body, HTML: html, Mentions: mentions, ThreadRoot: threadRoot, Attachment: att, Props: props}
	ev := chat.MessageNew{}
	if threadRoot != "" {
		// Read before the reply is journaled, so they are the thread's people up to now (and
		// the poster).
		if ev.ThreadParticipants, err = a.threadParticipants(ctx, me, c.ID, root); err != nil {
			return chat.Message{}, err
		}
		if m.AlsoInChannel() {
			m.RootPreview = rootPreview(root)
		}
	}
	if err := a.Store.PostMessage(ctx, &m, names(c.Recipients)); err != nil {
		return chat.Message{}, err
	}
	if err := a.Store.ClearTyping(ctx, me.Name); err != nil {
		a.Logger.Warn("clear typing", "user", me.Name, "err", err)
	}
	a.decorateAttachment(&m)
	ev.Message = m
	a.publish(c.Recipients, ev)
	a.triggerOutgoing(c, me, m)
	return m, nil
}

func (a *App) systemDM(ctx context.Context, to chat.Account, text string) error {
	id, err := chat.DMID([]string{chat.SystemUser, to.ID})
	if err != nil {
		return err
	}
	html, _ := markdown.Render(text)
	m := chat.Message{Conversation: id, Sender: chat.SystemUser, Body: text, HTML: html}
	if err := a.Store.PostMessage(ctx, &m, []string{to.Name}); err != nil {
		return err
	}
	a.publish([]chat.Account{to}, chat.MessageNew{Message: m})
	return nil
}

// BeginUpload checks that me may post a file into conversation id and takes one of me's
// upload slots (uploads_at_once in settings.json), before the upload is received; the caller
// calls release when done with it.
func (a *App) BeginUpload(ctx context.Context, me chat.Account, id string) (release func(), err error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return nil, err
	}
	// Refused before a byte is stored, as Post would refuse it after.
	if c.ReadOnly {
		return nil, chat.Errorf(chat.EForbidden, "nobody can read replies here: the other members deleted their accounts, or it is the system's notices")
	}
	return a.acquireUpload(me)
}

// UploadTemp creates the temporary file (mode 0600, in uploads/) that an upload is streamed
// into; PostFile moves it into place. The caller removes it afterwards in any case (a no-op
// once it was moved).
func (a *App) UploadTemp() (*os.File, error) {
	f, err := os.CreateTemp(filepath.Join(a.DataDir, "uploads"), ".upload-*")
	if err != nil {
		return nil, fmt.Errorf("store the file: %w", err)
	}
	return f, nil
}

// PostFile posts the file received into tmp (see UploadTemp) as filename to conversation id,
// with body. Its type is sniffed from its bytes; a raster image is shown inline only when its
// header decodes and it has at most MaxImagePixels. The name is cleaned and the file stored
// under a random name.
func (a *App) PostFile(ctx context.Context, me chat.Account, id, filename, tmp string, body string) (chat.Message, error) {
	if _, err := a.Resolve(ctx, me, id); err != nil {
		return chat.Message{}, err
	}
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return chat.Message{}, fmt.Errorf("store the file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return chat.Message{}, fmt.Errorf("store the file: %w", err)
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	ctype := http.DetectContentType(head[:n])
	if i := strings.IndexByte(ctype, ';'); i > 0 {
		ctype = ctype[:i]
	}
	if _, raster := RasterTypes[ctype]; raster {
		if _, err := f.Seek(0, io.SeekStart); err != nil || !inlineImage(ctype, f) {
			// Not an image a browser should decode: offered as a download only.
			ctype = "application/octet-stream"
		}
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return chat.Message{}, fmt.Errorf("store the file: %w", err)
	}
	name := CleanFileName(filename)
	stored := randomName(safeExt(name))
	path := a.UploadPath(stored)
	if err := os.Rename(tmp, path); err != nil {
		return chat.Message{}, fmt.Errorf("store the file: %w", err)
	}
	if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
		os.Remove(path)
		return chat.Message{}, fmt.Errorf("store the file: %w", err)
	}
	att := &chat.Attachment{StoredName: stored, Name: name, Size: fi.Size(), Type: ctype}
	m, err := a.Post(ctx, me, id, body, "", att)
	if err != nil {
		os.Remove(path)
		return chat.Message{}, err
	}
	return m, nil
}

// ownMessage returns message mid of conversation c if me sent it; anything else is 404.
func (a *App) ownMessage(ctx context.Context, me chat.Account, c Conv, mid string) (chat.Message, error) {
	if !chat.ValidMessageID(mid) {
		return chat.Message{}, chat.Errorf(chat.ENotFound, "message not found")
	}
	m, err := a.Store.GetMessage(ctx, me.Name, c.ID, mid)
	if err != nil {
		return m, err
	}
	if m.Sender != me.Name || m.Deleted {
		return m, chat.Errorf(chat.ENotFound, "message not found")
	}
	return m, nil
}

// Edit changes the body of me's message mid in conversation id.
func (a *App) Edit(ctx context.Context, me chat.Account, id, mid, body string) (chat.Message, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return chat.Message{}, err
	}
	m, err := a.ownMessage(ctx, me, c, mid)
	if err != nil {
		return chat.Message{}, err
	}
	body, err = validBody(body, m.Attachment != nil)
	if err != nil {
		return chat.Message{}, err
	}
	m.Body = body
	m.HTML, m.Mentions = markdown.Render(body)
	if err := a.Store.EditMessage(ctx, m, names(c.Recipients)); err != nil {
		return chat.Message{}, err
	}
	m.EditedTS = a.Now().Unix()
	ms := []chat.Message{m}
	if err := a.decorate(ctx, ms); err != nil {
		return chat.Message{}, err
	}
	if err := a.addRootPreviews(ctx, me, c.ID, ms); err != nil {
		return chat.Message{}, err
	}
	a.publish(c.Recipients, chat.MessageEdited{Message: ms[0]})
	return ms[0], nil
}

// Delete deletes me's message mid in conversation id from every copy.
func (a *App) Delete(ctx context.Context, me chat.Account, id, mid string) error {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return err
	}
	m, err := a.ownMessage(ctx, me, c, mid)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteMessage(ctx, c.ID, m.ID, names(c.Recipients)); err != nil {
		return err
	}
	a.publish(c.Recipients, chat.MessageDeleted{Conversation: c.ID, ID: m.ID, ThreadRoot: m.ThreadRoot})
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

// React adds (on) or removes me's reaction emoji on message mid of conversation id. A message
// has at most max_reactions_per_message distinct emoji; the members are told the change only.
func (a *App) React(ctx context.Context, me chat.Account, id, mid, emoji string, on bool) error {
	if err := validEmoji(emoji); err != nil {
		return err
	}
	// A new reaction is one emoji of the app's set; one given before the set was checked can
	// still be taken back.
	if on && !chat.IsEmoji(emoji) {
		return chat.Errorf(chat.EInvalid, "%q is not an emoji this server knows: pick one from the emoji picker", emoji)
	}
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return err
	}
	if !chat.ValidMessageID(mid) {
		return chat.Errorf(chat.ENotFound, "message not found")
	}
	m, err := a.Store.GetMessage(ctx, me.Name, c.ID, mid)
	if err != nil {
		return err
	}
	if m.Deleted {
		return chat.Errorf(chat.ENotFound, "message not found")
	}
	limits := a.Settings.Get().Limits
	if err := a.allow("reactions", limits.ReactionsPerMinute, time.Minute, me); err != nil {
		return err
	}
	if on {
		rs, err := a.Store.Reactions(ctx, []string{mid})
		if err != nil {
			return err
		}
		list := rs[mid]
		if !slices.ContainsFunc(list, func(r chat.Reaction) bool { return r.Emoji == emoji }) && len(list) >= limits.MaxReactionsPerMessage {
			return chat.Errorf(chat.EConflict, "this message has the most different reactions allowed (%d)", limits.MaxReactionsPerMessage)
		}
	}
	changed, err := a.Store.SetReaction(ctx, c.ID, mid, me.Name, emoji, on)
	if err != nil {
		return err
	}
	if changed {
		a.publish(c.Recipients, chat.ReactionChanged{Conversation: c.ID, ID: mid, Emoji: emoji, User: me.Name, Added: on})
	}
	return nil
}

// ReceiptsLiveMax is the largest conversation whose read receipts are sent live to every
// member. In a bigger one (a company-wide channel) each member's "read" would be a frame to
// every other member — N² frames as they read along — so the receipt goes to the reader's own
// connections only (its other tabs), and the others read the receipts when they open the
// conversation (GET …/receipts).
const ReceiptsLiveMax = 100

// MarkRead records that me has read conversation id up to message mid and tells its members
// (in a conversation of more than ReceiptsLiveMax members, only me's other connections).
func (a *App) MarkRead(ctx context.Context, me chat.Account, id, mid string) error {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return err
	}
	if !chat.ValidMessageID(mid) {
		return chat.Errorf(chat.EInvalid, "message_id must be a message id")
	}
	if _, err := a.Store.GetMessage(ctx, me.Name, c.ID, mid); err != nil {
		return err
	}
	if err := a.Store.MarkRead(ctx, me.Name, c.ID, mid); err != nil {
		return err
	}
	to := c.Recipients
	if len(to) > a.receiptsLiveMax() {
		to = []chat.Account{me}
	}
	a.publish(to, chat.ReadReceipt{Conversation: c.ID, Reader: me.Name, MessageID: mid})
	return nil
}

func (a *App) receiptsLiveMax() int {
	if a.ReceiptsLiveMax > 0 {
		return a.ReceiptsLiveMax
	}
	return ReceiptsLiveMax
}

// Receipts returns the read receipts of conversation id, of its current members only.
func (a *App) Receipts(ctx context.Context, me chat.Account, id string) ([]chat.Receipt, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return nil, err
	}
	rs, err := a.Store.Receipts(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	member := make(map[string]bool, len(c.Recipients))
	for _, r := range c.Recipients {
		member[r.Name] = true
	}
	out := []chat.Receipt{}
	for _, r := range rs {
		if member[r.Reader] {
			out = append(out, r)
		}
	}
	return out, nil
}

// Typing records and announces that me is typing in conversation id.
func (a *App) Typing(ctx context.Context, me chat.Account, id string) error {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return err
	}
	if err := a.Store.SetTyping(ctx, me.Name, c.ID); err != nil {
		return err
	}
	a.publish(without(c.Recipients, me), chat.Typing{Conversation: c.ID, User: me.Name})
	return nil
}

// Attachment returns the attachment stored as file in conversation id, if me's copy of the
// conversation has it, and the path of its file.
func (a *App) Attachment(ctx context.Context, me chat.Account, id, file string) (chat.Attachment, string, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return chat.Attachment{}, "", err
	}
	if filepath.Base(file) != file || strings.HasPrefix(file, ".") || strings.ContainsAny(file, "/\\") {
		return chat.Attachment{}, "", chat.Errorf(chat.ENotFound, "file not found")
	}
	at, err := a.Store.HasAttachment(ctx, me.Name, c.ID, file)
	if err != nil {
		return chat.Attachment{}, "", err
	}
	_, raster := RasterTypes[at.Type]
	at.Image = raster && chat.IsImageName(at.Name)
	return at, a.UploadPath(file), nil
}

// Search returns me's messages that contain every word of q, newest first, in the
// conversations me can still see.
func (a *App) Search(ctx context.Context, me chat.Account, q string, limit int) ([]chat.Message, error) {
	d, err := a.caller(ctx, me)
	if err != nil {
		return nil, err
	}
	if len(q) > 200 || !utf8.ValidString(q) {
		return nil, chat.Errorf(chat.EInvalid, "search text must be at most 200 bytes")
	}
	if limit < 1 || limit > 200 {
		return nil, chat.Errorf(chat.EInvalid, "limit must be 1 to 200")
	}
	msgs, err := a.Store.Search(ctx, me.Name, q, limit)
	if err != nil {
		return nil, err
	}
	// Only conversations still visible: a removed channel or a left private channel is not.
	// Each conversation is resolved once, however many of the results are in it.
	out := []chat.Message{}
	visible := map[string]bool{}
	for _, m := range msgs {
		ok, seen := visible[m.Conversation]
		if !seen {
			_, err := a.resolve(ctx, d, me, m.Conversation)
			ok = err == nil
			visible[m.Conversation] = ok
		}
		if ok {
			out = append(out, m)
		}
	}
	if err := a.decorate(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
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

// CleanFileName makes an uploaded file's name safe to store and show: the base name only,
// no control or invisible format characters, at most 200 bytes.
func CleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = filepath.Base(name)
	name = strings.Map(func(r rune) rune {
		// Control and format characters (bidi overrides such as U+202E, which make
		// "gnp.exe" look like "exe.png", zero-width characters) are dropped.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || r == '"' {
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

func randomName(ext string) string {
	return strings.ToLower(rand.Text()) + ext
}

// writeFileSync writes data to a new file at path, durably; on failure nothing is left.
func writeFileSync(path string, data []byte) error {
	if err := fsutil.WriteNew(path, data, 0o600); err != nil {
		return fmt.Errorf("store the file: %w", err)
	}
	return nil
}

// MarkUnread marks conversation id unread for me from message mid on: the last message me
// has read becomes the one before it. It answers the conversation with its new counts, and
// tells me's other connections.
func (a *App) MarkUnread(ctx context.Context, me chat.Account, id, mid string) (chat.Conversation, error) {
	c, err := a.Resolve(ctx, me, id)
	if err != nil {
		return chat.Conversation{}, err
	}
	if !chat.ValidMessageID(mid) {
		return chat.Conversation{}, chat.Errorf(chat.EInvalid, "message_id must be a message id")
	}
	if _, err := a.Store.GetMessage(ctx, me.Name, c.ID, mid); err != nil {
		return chat.Conversation{}, err
	}
	prev, err := a.Store.MessageBefore(ctx, me.Name, c.ID, mid)
	if err != nil {
		return chat.Conversation{}, err
	}
	if err := a.Store.SetLastRead(ctx, me.Name, c.ID, prev); err != nil {
		return chat.Conversation{}, err
	}
	cs := []chat.Conversation{c.Conversation}
	if err := a.addStats(ctx, me, cs); err != nil {
		return chat.Conversation{}, err
	}
	a.publish([]chat.Account{me}, chat.Unread{Conversation: c.ID, LastRead: prev, Unread: cs[0].Unread, Mentions: cs[0].Mentions})
	return cs[0], nil
}
