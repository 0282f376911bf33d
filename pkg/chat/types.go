package chat

// User is an account as the API shows it.
type User struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	AvatarURL   string `json:"avatar_url,omitempty"`
	Theme       string `json:"theme"`
	CreatedTS   int64  `json:"created_ts"`
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
}

// Reaction is one emoji on a message with the users who chose it.
type Reaction struct {
	Emoji string   `json:"emoji"`
	Users []string `json:"users"`
}

// Conversation is a channel, private channel or direct conversation as one user sees it.
type Conversation struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Members  []string `json:"members,omitempty"`
	Creator  string   `json:"creator,omitempty"`
	Unread   int      `json:"unread"`
	Mentions int      `json:"mentions"`
	LastID   string   `json:"last_message_id,omitempty"`
}

// Settings are the keys of settings.json (SPEC §3).
type Settings struct {
	Channels             []string `json:"channels"`
	ImageRetentionDays   int      `json:"image_retention_days"`
	FileRetentionDays    int      `json:"file_retention_days"`
	MessageRetentionDays int      `json:"message_retention_days"`
	Registration         string   `json:"registration"`
	MaxUploadMB          int      `json:"max_upload_mb"`
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
	}
}
