package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
)

// Payload is a message as Slack's incoming webhooks take it, and as outgoing webhooks and
// slash commands answer.
type Payload struct {
	Text        string       `json:"text"`
	Mrkdwn      *bool        `json:"mrkdwn,omitempty"`
	Username    string       `json:"username"`
	IconURL     string       `json:"icon_url"`
	IconEmoji   string       `json:"icon_emoji"`
	Channel     string       `json:"channel"`
	Attachments []Attachment `json:"attachments"`
	Blocks      []Block      `json:"blocks"`
	// ResponseType is "in_channel" or "ephemeral" (the default) in a slash command's answer.
	ResponseType string `json:"response_type"`
}

// Attachment is a legacy Slack attachment: a card with a colour bar.
type Attachment struct {
	Fallback   string  `json:"fallback"`
	Color      string  `json:"color"`
	Pretext    string  `json:"pretext"`
	AuthorName string  `json:"author_name"`
	AuthorLink string  `json:"author_link"`
	Title      string  `json:"title"`
	TitleLink  string  `json:"title_link"`
	Text       string  `json:"text"`
	Fields     []Field `json:"fields"`
	Footer     string  `json:"footer"`
	TS         TS      `json:"ts"`
	Blocks     []Block `json:"blocks"`
}

// Field is one title/value pair of an attachment; short ones sit side by side.
type Field struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// Block is a Block Kit block: section, header, divider, context (others are ignored).
type Block struct {
	Type     string       `json:"type"`
	Text     *TextObject  `json:"text,omitempty"`
	Fields   []TextObject `json:"fields,omitempty"`
	Elements []TextObject `json:"elements,omitempty"`
}

// TextObject is a Block Kit text: "mrkdwn" or "plain_text" (an "image" element in a context
// block carries no text and is skipped).
type TextObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// TS is a Unix time that Slack senders write as a number or a string.
type TS int64

// UnmarshalJSON accepts 1700000000, 1700000000.123 and "1700000000".
func (t *TS) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*t = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("ts %s is not a Unix time", b)
	}
	*t = TS(f)
	return nil
}

// Limits on one payload, as Slack's own.
const (
	MaxPayloadBytes = 256 << 10
	MaxTextBytes    = 16000
	MaxAttachments  = 20
	MaxFields       = 50
	MaxBlocks       = 50
)

// Error is a payload that cannot be posted, with the reason for the sender.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func invalid(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Parse reads a payload sent as application/json, or as application/x-www-form-urlencoded
// with the JSON in a "payload" field, and checks it.
func Parse(contentType string, body []byte) (Payload, error) {
	var p Payload
	if len(body) > MaxPayloadBytes {
		return p, invalid("payload is larger than %d bytes", MaxPayloadBytes)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return p, invalid("form body: %v", err)
		}
		v := form.Get("payload")
		if v == "" {
			return p, invalid(`form body has no "payload" field`)
		}
		body = []byte(v)
	case "application/json", "":
	default:
		return p, invalid("content type %q: send application/json, or a form with a payload field", mt)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return p, invalid("payload is not valid JSON: %v", err)
	}
	if dec.More() {
		return p, invalid("payload has data after the JSON object")
	}
	return p, p.Check()
}

// Check reports what makes p unpostable: nothing to show, or too much.
func (p Payload) Check() error {
	if len(p.Text) > MaxTextBytes {
		return invalid("text is longer than %d bytes", MaxTextBytes)
	}
	if len(p.Attachments) > MaxAttachments {
		return invalid("more than %d attachments", MaxAttachments)
	}
	if len(p.Blocks) > MaxBlocks {
		return invalid("more than %d blocks", MaxBlocks)
	}
	empty := strings.TrimSpace(p.Text) == ""
	for i, a := range p.Attachments {
		if len(a.Fields) > MaxFields {
			return invalid("attachment %d has more than %d fields", i+1, MaxFields)
		}
		if len(a.Blocks) > MaxBlocks {
			return invalid("attachment %d has more than %d blocks", i+1, MaxBlocks)
		}
		empty = empty && a.Fallback == "" && a.Text == "" && a.Title == "" && a.Pretext == "" && len(a.Fields) == 0 && len(a.Blocks) == 0
	}
	for i, b := range append(append([]Block{}, p.Blocks...), attachmentBlocks(p.Attachments)...) {
		switch b.Type {
		case "section", "header", "divider", "context":
		case "":
			return invalid("block %d has no type", i+1)
		}
		if b.Type != "divider" {
			empty = false
		}
		if b.Text != nil && b.Text.Type != "mrkdwn" && b.Text.Type != "plain_text" {
			return invalid("block %d: text type %q is neither mrkdwn nor plain_text", i+1, b.Text.Type)
		}
	}
	if empty {
		return invalid("payload has no text, attachments or blocks")
	}
	return nil
}

func attachmentBlocks(as []Attachment) []Block {
	var out []Block
	for _, a := range as {
		out = append(out, a.Blocks...)
	}
	return out
}
