package chat

import (
	"slices"
	"strings"
)

// SystemUser is the sender of notices such as "a password reset was requested".
const SystemUser = "system"

// DeletedUser is the name a soft-deleted user's messages are re-attributed to. It contains a
// space, so no account can ever take it.
const DeletedUser = "Deleted User"

// reservedNames cannot be registered: the system sender and names that would confuse people or
// collide with routes and files.
var reservedNames = []string{
	SystemUser, "admin", "administrator", "root", "minimost", "deleted", "deleted-user",
	"deleted_user", "everyone", "channel", "here", "all", "nobody", "support", "api", "ws", WebhookUser, "hooks",
}

// ValidateUsername reports whether name can be an account name. A username becomes the file
// name users/<name>.db, so the rules keep it inside users/: lowercase letters, digits, '.',
// '_' and '-'; starting with a letter or digit; 2 to 32 characters; no reserved names.
func ValidateUsername(name string) error {
	if len(name) < 2 || len(name) > 32 {
		return Errorf(EInvalid, "username must be 2 to 32 characters")
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '.' || r == '_' || r == '-') && i > 0:
		default:
			return Errorf(EInvalid, "username may contain only lowercase letters, digits, '.', '_' and '-', and must start with a letter or digit")
		}
	}
	if strings.Contains(name, "..") {
		return Errorf(EInvalid, "username may not contain '..'")
	}
	if slices.Contains(reservedNames, name) {
		return Errorf(EInvalid, "username %q is reserved", name)
	}
	return nil
}

// IsReserved reports whether name is a reserved username.
func IsReserved(name string) bool { return slices.Contains(reservedNames, name) }

// ValidateChannelName reports whether name can be a public or private channel name:
// lowercase letters, digits, '-' and '_', 1 to 40 characters, starting with a letter or digit.
func ValidateChannelName(name string) error {
	if len(name) < 1 || len(name) > 40 {
		return Errorf(EInvalid, "channel name must be 1 to 40 characters")
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '_') && i > 0:
		default:
			return Errorf(EInvalid, "channel name %q: use lowercase letters, digits, '-' and '_', starting with a letter or digit", name)
		}
	}
	return nil
}

// ValidatePassword checks the length rules: at least 8 characters, at most
// MaxPasswordBytes bytes (checked before any hashing).
func ValidatePassword(pw string) error {
	if len(pw) > MaxPasswordBytes {
		return Errorf(EInvalid, "password must be at most %d bytes", MaxPasswordBytes)
	}
	if len([]rune(pw)) < 8 {
		return Errorf(EInvalid, "password must be at least 8 characters")
	}
	return nil
}

// MaxPasswordBytes is the longest password accepted, checked before hashing.
const MaxPasswordBytes = 1024

// Conversation kinds, and the prefixes of their ids.
const (
	KindChannel = "channel" // public channel: id "c:<name>"
	KindPrivate = "private" // private channel: id "p:<random>"
	KindDM      = "dm"      // direct message: id "d:<user>,<user>[,...]", names sorted
)

// ChannelID returns the conversation id of public channel name.
func ChannelID(name string) string { return "c:" + name }

// DMID returns the conversation id of a direct conversation among members (2 to 8 distinct
// account IDs, the caller's included). A direct conversation is among accounts, not names:
// when a name is registered again, the new account is not a member of the old account's
// conversations. The system user may take part.
func DMID(members []string) (string, error) {
	m := slices.Clone(members)
	slices.Sort(m)
	m = slices.Compact(m)
	if len(m) < 2 || len(m) > 8 {
		return "", Errorf(EInvalid, "a direct conversation has 2 to 8 distinct members")
	}
	for _, u := range m {
		if err := ValidateAccountID(u); err != nil {
			return "", Errorf(EInvalid, "member %q: %s", u, err.Error())
		}
	}
	return "d:" + strings.Join(m, ","), nil
}

// ParseConversationID splits id into its kind and the rest: the channel name, the private
// channel key, or the sorted DM members.
func ParseConversationID(id string) (kind, key string, members []string, err error) {
	bad := Errorf(ENotFound, "conversation not found")
	if len(id) < 3 || id[1] != ':' {
		return "", "", nil, bad
	}
	rest := id[2:]
	switch id[0] {
	case 'c':
		if ValidateChannelName(rest) != nil {
			return "", "", nil, bad
		}
		return KindChannel, rest, nil, nil
	case 'p':
		if len(rest) < 8 || len(rest) > 40 || strings.ContainsFunc(rest, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}) {
			return "", "", nil, bad
		}
		return KindPrivate, rest, nil, nil
	case 'd':
		m := strings.Split(rest, ",")
		canon, err := DMID(m)
		if err != nil || canon != id {
			return "", "", nil, bad
		}
		return KindDM, rest, m, nil
	}
	return "", "", nil, bad
}

// ValidMessageID reports whether s has the form of a message id: 26 characters of Crockford
// base32 (digits and upper-case letters but I, L, O and U).
func ValidMessageID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}
