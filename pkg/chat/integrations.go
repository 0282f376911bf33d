package chat

import (
	"encoding/json"
	"net"
	"strings"
)

// WebhookUser is the sender of messages posted through incoming webhooks and the answers of
// outgoing webhooks and slash commands. It is reserved, so no account can hold it: a webhook
// may choose the name shown (MessageProps.Username) but never speak as a real account.
const WebhookUser = "webhook"

// MessageProps is what a message says about where it came from, beyond its sender.
type MessageProps struct {
	// FromWebhook marks a message posted by an integration; the UI shows Username with a
	// "webhook" tag instead of an account.
	FromWebhook bool `json:"from_webhook,omitempty"`
	// Username and IconURL are the names and icon an integration asked to be shown with.
	Username string `json:"username,omitempty"`
	IconURL  string `json:"icon_url,omitempty"`
	// Emote marks a "/me" message.
	Emote bool `json:"emote,omitempty"`
	// AlsoChannel marks a thread reply that is also shown in its conversation's list
	// ("also send to channel").
	AlsoChannel bool `json:"also_channel,omitempty"`
}

// IsZero reports whether p says nothing.
func (p *MessageProps) IsZero() bool { return p == nil || *p == MessageProps{} }

// EncodeProps returns the stored form of p: JSON, or "" for none.
func EncodeProps(p *MessageProps) string {
	if p.IsZero() {
		return ""
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// DecodeProps reads the stored form of message props; anything unreadable is no props.
func DecodeProps(s string) *MessageProps {
	if s == "" {
		return nil
	}
	var p MessageProps
	if json.Unmarshal([]byte(s), &p) != nil || p.IsZero() {
		return nil
	}
	return &p
}

// Token is a personal access token as listed: never the secret itself, only its public id.
type Token struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	UserID     string `json:"user_id"`
	Username   string `json:"username"`
	CreatedTS  int64  `json:"created_ts"`
	ExpiresTS  int64  `json:"expires_ts,omitempty"` // 0: never
	LastUsedTS int64  `json:"last_used_ts,omitempty"`
}

// IncomingWebhook is a secret URL that posts into public or private channels.
type IncomingWebhook struct {
	ID string `json:"id"`
	// Channels are the conversation ids the hook may post to; the first is its default.
	Channels []string `json:"channels"`
	// Username and IconURL are shown when a payload does not set its own.
	Username    string `json:"username"`
	IconURL     string `json:"icon_url,omitempty"`
	CreatorID   string `json:"creator_id,omitempty"` // "" when the administrator made it
	CreatorName string `json:"creator,omitempty"`
	CreatedTS   int64  `json:"created_ts"`
}

// OutgoingWebhook calls URL when a message in Channel starts with one of TriggerWords.
type OutgoingWebhook struct {
	ID           string   `json:"id"`
	Channel      string   `json:"channel"` // conversation id
	TriggerWords []string `json:"trigger_words"`
	URL          string   `json:"url"`
	// Token is sent with every request so the receiver can tell it is us.
	Token     string `json:"token"`
	Username  string `json:"username"`
	CreatedTS int64  `json:"created_ts"`
}

// SlashCommand is a server-wide "/trigger" that calls URL.
type SlashCommand struct {
	Trigger     string `json:"trigger"`
	URL         string `json:"url"`
	Token       string `json:"token"`
	Description string `json:"description"`
	Hint        string `json:"hint,omitempty"`
	Username    string `json:"username"`
	CreatedTS   int64  `json:"created_ts"`
}

// ValidateTrigger reports whether t can be a slash command's trigger: a channel name's
// characters, without the slash, 1 to 32 of them.
func ValidateTrigger(t string) error {
	if len(t) > 32 || ValidateChannelName(t) != nil {
		return Errorf(EInvalid, "command trigger %q: 1 to 32 lowercase letters, digits, '-' and '_', starting with a letter or digit", t)
	}
	return nil
}

// ValidateAllowedHost checks one entry of integration_allowed_hosts: a host name
// ("ci.example.com"), a wildcard ("*.corp.example"), an IP address or a CIDR block.
func ValidateAllowedHost(h string) error {
	switch {
	case strings.Contains(h, "/"):
		if _, _, err := net.ParseCIDR(h); err != nil {
			return Errorf(EInvalid, "%q is not a CIDR block", h)
		}
		return nil
	case net.ParseIP(h) != nil:
		return nil
	}
	name := strings.TrimPrefix(h, "*.")
	if name == "" || strings.ContainsAny(name, "*:@ \t") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		return Errorf(EInvalid, "%q is not a host name, IP address or CIDR block", h)
	}
	return nil
}

// ICEServer is a STUN or TURN server of settings.json's ice_servers, in the form WebRTC's
// RTCPeerConnection takes.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ValidateICEServers checks ice_servers: at most 10 servers, each with 1 to 10 stun:, stuns:,
// turn: or turns: URLs, and a username and credential for a TURN server.
func ValidateICEServers(list []ICEServer) error {
	if len(list) > 10 {
		return Errorf(EInvalid, "at most 10 servers")
	}
	for i, s := range list {
		if len(s.URLs) == 0 || len(s.URLs) > 10 {
			return Errorf(EInvalid, "server %d: give 1 to 10 urls", i+1)
		}
		turn := false
		for _, u := range s.URLs {
			scheme, rest, ok := strings.Cut(u, ":")
			switch {
			case !ok || rest == "" || len(u) > 512 || strings.ContainsAny(u, " \t\n"):
				return Errorf(EInvalid, "server %d: %q is not a STUN or TURN URL", i+1, u)
			case scheme == "turn" || scheme == "turns":
				turn = true
			case scheme != "stun" && scheme != "stuns":
				return Errorf(EInvalid, "server %d: %q must start with stun:, stuns:, turn: or turns:", i+1, u)
			}
		}
		if turn && (s.Username == "" || s.Credential == "") {
			return Errorf(EInvalid, "server %d: a TURN server needs a username and a credential", i+1)
		}
	}
	return nil
}
