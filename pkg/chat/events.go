package chat

import (
	"encoding/json"
	"fmt"
)

// Event is a live event sent to connected clients over the WebSocket, as a JSON object whose
// "type" is EventType() and whose other fields are the event's own. Every event the server
// sends is one of the types in this file; web/js/events.js lists the same names and
// docs/api.md documents each (a test keeps the three in step).
type Event interface {
	EventType() string
}

// MarshalEvent returns ev as the JSON object clients receive: {"type": …, fields…}.
func MarshalEvent(ev Event) ([]byte, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("marshal %s event: %w", ev.EventType(), err)
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("marshal %s event: not a JSON object", ev.EventType())
	}
	typ, _ := json.Marshal(ev.EventType())
	out := make([]byte, 0, len(body)+len(typ)+9)
	out = append(out, `{"type":`...)
	out = append(out, typ...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// Events published to the members of a conversation or to every account.

// MessageNew is a message posted in a conversation the recipient belongs to.
type MessageNew struct {
	Message Message `json:"message"`
	// ThreadParticipants, on a thread reply, are who started the thread and who replied in
	// it (this reply's sender included): a client tells from them whether the reply concerns
	// its user without having the root loaded.
	ThreadParticipants []string `json:"thread_participants,omitempty"`
}

// MessageEdited carries a message after its sender edited it.
type MessageEdited struct {
	Message Message `json:"message"`
}

// MessageDeleted says a message was deleted by its sender.
type MessageDeleted struct {
	Conversation string `json:"conversation"`
	ID           string `json:"id"`
	// ThreadRoot is the root of the thread the message replied in ("" for none), so the
	// summary under the root can be counted down where the thread is not loaded.
	ThreadRoot string `json:"thread_root,omitempty"`
}

// ReactionChanged says a member added (Added) or removed an emoji reaction on a message. It
// carries the change only: clients apply it to the reactions they have.
type ReactionChanged struct {
	Conversation string `json:"conversation"`
	ID           string `json:"id"`
	Emoji        string `json:"emoji"`
	User         string `json:"user"`
	Added        bool   `json:"added"`
}

// ReadReceipt says reader has read a conversation up to a message.
type ReadReceipt struct {
	Conversation string `json:"conversation"`
	Reader       string `json:"reader"`
	MessageID    string `json:"message_id"`
}

// Unread tells a user's other connections that they marked a conversation unread from a
// message on: LastRead is now the message before it, with the counts that follow.
type Unread struct {
	Conversation string `json:"conversation"`
	LastRead     string `json:"last_read"`
	Unread       int    `json:"unread"`
	Mentions     int    `json:"mentions"`
}

// NotificationsChanged carries a user's notification settings after they changed them, to
// their other connections.
type NotificationsChanged struct {
	Prefs NotificationPrefs `json:"prefs"`
}

// Typing says a member is typing in a conversation.
type Typing struct {
	Conversation string `json:"conversation"`
	User         string `json:"user"`
}

// PresenceChanged carries the presence changes of the last moment (the server sends at most
// one a second): each account that went online, away or offline, with its latest presence.
type PresenceChanged struct {
	Changes []PresenceChange `json:"changes"`
}

// PresenceChange is one account's new presence: "online", "away" or "offline".
type PresenceChange struct {
	User     string `json:"user"`
	Presence string `json:"presence"`
}

// CallSignal relays WebRTC call signalling ("join", "leave", "offer", "answer",
// "candidate") among the connections in a conversation's call: a participant is one
// connection (one tab), so one account can take part twice. FromConn is the sending
// connection; a directed signal names its addressee, To (username) and ToConn (connection).
// Participants is set on join and leave.
type CallSignal struct {
	Conversation string            `json:"conversation"`
	From         string            `json:"from"`
	FromConn     string            `json:"from_conn"`
	Signal       string            `json:"signal"`
	Data         json.RawMessage   `json:"data,omitempty"`
	To           string            `json:"to,omitempty"`
	ToConn       string            `json:"to_conn,omitempty"`
	Participants []CallParticipant `json:"participants"`
}

// CallParticipant is one connection in a call: the account's username and the connection's
// id (from its hello).
type CallParticipant struct {
	User string `json:"user"`
	Conn string `json:"conn"`
}

// ConversationChanged carries a conversation that appeared in the recipient's sidebar or
// changed (a new DM, a private channel created, a member added or gone).
type ConversationChanged struct {
	Conversation Conversation `json:"conversation"`
}

// ConversationRemoved says a conversation left the recipient's sidebar (a private channel
// left, a public channel removed from settings.json).
type ConversationRemoved struct {
	ID string `json:"id"`
}

// ChannelsChanged carries the public channels after settings.json changed.
type ChannelsChanged struct {
	Channels []string `json:"channels"`
}

// UserChanged carries an account's public profile after it was created or changed.
type UserChanged struct {
	User User `json:"user"`
}

// UserDeleted says an account was deleted (mode "soft" or "hard").
type UserDeleted struct {
	Username string `json:"username"`
	Mode     string `json:"mode"`
}

// Frames sent by the WebSocket endpoint to one connection only.

// Hello is the first frame of a connection: the hub's boot id and the account's current
// sequence number, for catching up after a reconnect, and the connection's own id (Conn),
// which call signalling addresses.
type Hello struct {
	Boot string `json:"boot"`
	Seq  uint64 `json:"seq"`
	User string `json:"user"`
	Conn string `json:"conn"`
}

// Resync tells a client that reconnected that events it missed are gone: reload everything.
type Resync struct{}

// Pong answers a client's ping.
type Pong struct{}

// Ack answers a client's send: the message as stored.
type Ack struct {
	ClientID string  `json:"client_id"`
	Message  Message `json:"message"`
}

// Ephemeral is an answer only its addressee sees, in one conversation, and nothing stores:
// the delayed answer of a slash command.
type Ephemeral struct {
	Conversation string `json:"conversation"`
	HTML         string `json:"html"`
}

// ErrorFrame answers a client frame that failed.
type ErrorFrame struct {
	ClientID   string `json:"client_id,omitempty"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"` // seconds, with code too_many
}

func (MessageNew) EventType() string           { return "message.new" }
func (Ephemeral) EventType() string            { return "ephemeral" }
func (MessageEdited) EventType() string        { return "message.edited" }
func (MessageDeleted) EventType() string       { return "message.deleted" }
func (ReactionChanged) EventType() string      { return "reaction" }
func (ReadReceipt) EventType() string          { return "read" }
func (Unread) EventType() string               { return "unread" }
func (NotificationsChanged) EventType() string { return "notifications" }
func (Typing) EventType() string               { return "typing" }
func (PresenceChanged) EventType() string      { return "presence" }
func (CallSignal) EventType() string           { return "call" }
func (ConversationChanged) EventType() string  { return "conversation" }
func (ConversationRemoved) EventType() string  { return "conversation.removed" }
func (ChannelsChanged) EventType() string      { return "channels" }
func (UserChanged) EventType() string          { return "user" }
func (UserDeleted) EventType() string          { return "user.deleted" }
func (Hello) EventType() string                { return "hello" }
func (Resync) EventType() string               { return "resync" }
func (Pong) EventType() string                 { return "pong" }
func (Ack) EventType() string                  { return "ack" }
func (ErrorFrame) EventType() string           { return "error" }

// AllEvents lists one value of every event type, for documentation and tests.
func AllEvents() []Event {
	return []Event{
		MessageNew{}, MessageEdited{}, MessageDeleted{}, ReactionChanged{}, ReadReceipt{}, Unread{}, NotificationsChanged{},
		Typing{}, PresenceChanged{}, CallSignal{}, ConversationChanged{}, ConversationRemoved{},
		ChannelsChanged{}, UserChanged{}, UserDeleted{}, Ephemeral{},
		Hello{}, Resync{}, Pong{}, Ack{}, ErrorFrame{},
	}
}
