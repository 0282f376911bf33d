package chat

import (
	"fmt"
	"path/filepath"
	"strings"
)

// User is an account as the API shows it.
type User struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	AvatarURL   string `json:"avatar_url,omitempty"`
	Theme       string `json:"theme"`
	CreatedTS   int64  `json:"created_ts"`
	Bot         bool   `json:"bot,omitempty"`
}

// Attachment describes a file sent with a message. StoredName is the random name in uploads/.
type Attachment struct {
	StoredName string `json:"stored_name"`
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	Type       string `json:"type"`
	Image      bool   `json:"image"`
	// Deleted is true when cleanup removed the file: the UI shows "File deleted".
	Deleted bool   `json:"deleted"`
	URL     string `json:"url,omitempty"`
}

// Message is one message as stored in each member's database and as the API shows it.
type Message struct {
	ID           string      `json:"id"`
	Conversation string      `json:"conversation"`
	Sender       string      `json:"sender"`
	Body         string      `json:"body"`
	HTML         string      `json:"html"`
	SentTS       int64       `json:"sent_ts"` // Unix seconds
	SentMS       int64       `json:"sent_ms"` // Unix milliseconds, for display
	EditedTS     int64       `json:"edited_ts,omitempty"`
	Deleted      bool        `json:"deleted"`
	Mentions     []string    `json:"mentions,omitempty"`
	ThreadRoot   string      `json:"thread_root,omitempty"`
	Attachment   *Attachment `json:"attachment,omitempty"`
	Reactions    []Reaction  `json:"reactions,omitempty"`
	// Props says where an integration's message came from (nil for a person's message).
	Props *MessageProps `json:"props,omitempty"`
	// Thread summarizes the replies to this message, when it has some.
	Thread *ThreadSummary `json:"thread,omitempty"`
	// RootPreview is the start of the thread root's text, on a reply also sent to the
	// channel ("replied to a thread: …"); empty when the root was deleted.
	RootPreview string `json:"root_preview,omitempty"`
}

// AlsoInChannel reports whether m is a thread reply also shown in its conversation's list.
func (m Message) AlsoInChannel() bool {
	return m.ThreadRoot != "" && m.Props != nil && m.Props.AlsoChannel
}

// ThreadItem is one thread of a user's Threads view: the root (with its summary) and how many
// replies from others the user has not read.
type ThreadItem struct {
	Root   Message `json:"root"`
	Unread int     `json:"unread"`
}

// ThreadSummary is what shows under a message that has replies: how many, when the last one
// came (Unix milliseconds) and who wrote them, first repliers first.
type ThreadSummary struct {
	Replies      int      `json:"replies"`
	LastReplyMS  int64    `json:"last_reply_ms"`
	Participants []string `json:"participants"`
}

// Reaction is one emoji on a message with the users who chose it.
type Reaction struct {
	Emoji string   `json:"emoji"`
	Users []string `json:"users"`
}

// Conversation is a channel, private channel or direct conversation as one user sees it.
type Conversation struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Members []string `json:"members,omitempty"`
	// Departed counts members whose account was deleted (shown as "Deleted User").
	Departed int `json:"departed,omitempty"`
	// ReadOnly is set on a direct conversation whose other members all deleted their
	// accounts: nothing can be sent there any more.
	ReadOnly bool   `json:"read_only,omitempty"`
	Creator  string `json:"creator,omitempty"`
	Unread   int    `json:"unread"`
	Mentions int    `json:"mentions"`
	LastID   string `json:"last_message_id,omitempty"`
	// LastRead is the newest message the caller has read there ("" for none): the
	// "New messages" line goes before the first message after it.
	LastRead string `json:"last_read,omitempty"`
}

// Notification levels of a conversation: every message, mentions of you (and @here,
// @channel, @all) only, or nothing. "" is the default: all for direct messages, mentions
// elsewhere.
const (
	NotifyAll      = "all"
	NotifyMentions = "mentions"
	NotifyNone     = "none"
)

// ConversationPrefs is how one user is notified of one conversation. Muted silences it
// whatever the level, @here and @channel included, and dims it in the sidebar.
type ConversationPrefs struct {
	Level string `json:"level"`
	Muted bool   `json:"muted"`
}

// NotificationPrefs are a user's notification settings: do-not-disturb (no notification at
// all) and the conversations whose level or mute was set.
type NotificationPrefs struct {
	DND           bool                         `json:"dnd"`
	Conversations map[string]ConversationPrefs `json:"conversations"`
}

// Receipt is one reader's last-read message in a conversation.
type Receipt struct {
	Reader    string `json:"reader"`
	MessageID string `json:"message_id"`
	ReadTS    int64  `json:"read_ts"`
}

// DBResult is the outcome of one maintenance operation on one database file.
type DBResult struct {
	Path   string // relative to the data directory, e.g. "users/alice.db"
	OK     bool
	Detail string // "ok", integrity_check output, or the error
}

// Settings are the keys of settings.json.
type Settings struct {
	Channels             []string `json:"channels"`
	ImageRetentionDays   int      `json:"image_retention_days"`
	FileRetentionDays    int      `json:"file_retention_days"`
	MessageRetentionDays int      `json:"message_retention_days"`
	Registration         string   `json:"registration"`
	MaxUploadMB          int      `json:"max_upload_mb"`
	// IntegrationAllowedHosts are the hosts, IP addresses and CIDR blocks that outgoing
	// webhooks and slash commands may reach although they are loopback, private or link-local
	// (every public address may be reached). Empty: none.
	IntegrationAllowedHosts []string `json:"integration_allowed_hosts"`
	// ICEServers are the STUN and TURN servers calls use to reach peers behind NAT; empty:
	// none (calls then connect on the same network only).
	ICEServers []ICEServer `json:"ice_servers"`
	Limits
}

// Limits bound what one account can make the server do. The rates are per account, over HTTP
// and WebSocket alike; 0 turns a rate limit off.
type Limits struct {
	PostsPerMinute         int `json:"posts_per_minute"`          // messages and files sent
	ReactionsPerMinute     int `json:"reactions_per_minute"`      // reactions added or removed
	PrivateChannelsPerHour int `json:"private_channels_per_hour"` // private channels created
	InvitationsPerHour     int `json:"invitations_per_hour"`      // members added to private channels (at creation too)
	MaxReactionsPerMessage int `json:"max_reactions_per_message"` // distinct emoji on one message
	MaxSocketsPerUser      int `json:"max_sockets_per_user"`      // WebSocket connections at once
	UploadsAtOnce          int `json:"uploads_at_once"`           // uploads in progress at once
	SessionIdleDays        int `json:"session_idle_days"`         // a session unused this long ends
	ConnectionsPerAddress  int `json:"connections_per_address"`   // HTTP connections open from one client address
	MaxConnections         int `json:"max_connections"`           // HTTP connections open in all
	HookPostsPerMinute     int `json:"hook_posts_per_minute"`     // messages one incoming webhook may post
	TokenRequestsPerMinute int `json:"token_requests_per_minute"` // API requests made with one access token
}

// DefaultLimits are the limits of a new settings.json.
func DefaultLimits() Limits {
	return Limits{
		PostsPerMinute: 120, ReactionsPerMinute: 120, PrivateChannelsPerHour: 30, InvitationsPerHour: 300,
		MaxReactionsPerMessage: 50, MaxSocketsPerUser: 20, UploadsAtOnce: 4, SessionIdleDays: 14,
		ConnectionsPerAddress: 256, MaxConnections: 10000, HookPostsPerMinute: 60, TokenRequestsPerMinute: 600,
	}
}

// Validate reports the first limit out of range, as the JSON key and a reason.
func (l Limits) Validate() (key, reason string) {
	for _, k := range []struct {
		key       string
		v, lo, hi int
	}{
		{"posts_per_minute", l.PostsPerMinute, 0, 100000},
		{"reactions_per_minute", l.ReactionsPerMinute, 0, 100000},
		{"private_channels_per_hour", l.PrivateChannelsPerHour, 0, 100000},
		{"invitations_per_hour", l.InvitationsPerHour, 0, 1000000},
		{"max_reactions_per_message", l.MaxReactionsPerMessage, 1, 1000},
		{"max_sockets_per_user", l.MaxSocketsPerUser, 1, 1000},
		{"uploads_at_once", l.UploadsAtOnce, 1, 100},
		{"session_idle_days", l.SessionIdleDays, 1, 3650},
		{"connections_per_address", l.ConnectionsPerAddress, 1, 1000000},
		{"max_connections", l.MaxConnections, 1, 1000000},
		{"hook_posts_per_minute", l.HookPostsPerMinute, 0, 100000},
		{"token_requests_per_minute", l.TokenRequestsPerMinute, 0, 1000000},
	} {
		if k.v < k.lo || k.v > k.hi {
			return k.key, fmt.Sprintf("%q must be between %d and %d, not %d", k.key, k.lo, k.hi, k.v)
		}
	}
	return "", ""
}

// DefaultSettings returns settings.json's defaults.
func DefaultSettings() Settings {
	return Settings{
		Channels:             []string{"general"},
		ImageRetentionDays:   30,
		FileRetentionDays:    30,
		MessageRetentionDays: 770,
		Registration:         "open",
		MaxUploadMB:          50,
		Limits:               DefaultLimits(),
		// An empty list, not null, in a new settings.json.
		IntegrationAllowedHosts: []string{},
		ICEServers:              []ICEServer{},
	}
}

// IsImageName reports whether a file name has one of the image extensions: jpg, jpeg, png,
// gif or webp, in any case. Image retention applies to these files, and only these are ever
// shown inline (when their sniffed type is a raster image too).
func IsImageName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp":
		return true
	}
	return false
}

// UserRecord is an account as stored: auth.db's users row with its user_settings.
type UserRecord struct {
	ID           string // the account id (users.id), never reused
	Username     string
	PasswordHash string
	CreatedTS    int64
	DisplayName  string
	AvatarFile   string
	Theme        string
	Bot          bool // a bot account: tokens only, never a password
}

// Account returns the record's account.
func (u UserRecord) Account() Account { return Account{ID: u.ID, Name: u.Username} }

// PrivateChannel is a private channel as stored.
type PrivateChannel struct {
	ID        string // conversation id "p:<key>"
	Name      string
	Creator   string
	CreatedTS int64
}

// ConversationStat is what the sidebar needs of one conversation in one user's copy.
type ConversationStat struct {
	LastID   string
	Unread   int
	Mentions int
}
