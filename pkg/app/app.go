package app

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/minimost/minimost/pkg/chat"
)

// Publisher delivers live events to the connected clients of accounts (by account id).
// pkg/hub implements it in-process; an implementation on a message bus could replace it.
type Publisher interface {
	Publish(accountIDs []string, ev chat.Event) error
	// PublishConn sends ev to one connection of an account only (conn is the id its hello
	// carried) and reports whether that connection is still open; a catch-up of a later
	// connection never includes it.
	PublishConn(accountID, conn string, ev chat.Event) (bool, error)
}

// Journal makes message operations durable and fans them out to every recipient's copy
// (recipients are usernames: users/<name>.db). When a call returns nil the operation is
// acknowledged: it reaches every recipient even across a crash. pkg/store implements it with
// a group-committed journal in presence.db.
type Journal interface {
	// PostMessage assigns m its id and send time.
	PostMessage(ctx context.Context, m *chat.Message, recipients []string) error
	EditMessage(ctx context.Context, m chat.Message, recipients []string) error
	DeleteMessage(ctx context.Context, conversation, id string, recipients []string) error
	// Ready reports whether the databases answer a query and the journal takes operations.
	Ready(ctx context.Context) error
}

// Accounts is the account side of auth.db.
type Accounts interface {
	Accounts(ctx context.Context) (*chat.Directory, error)
	CreateUser(ctx context.Context, name, passwordHash string, channels []string) (chat.Account, error)
	GetUser(ctx context.Context, name string) (chat.UserRecord, error)
	ListUsers(ctx context.Context) ([]chat.UserRecord, error)
	SetPassword(ctx context.Context, name, hash, keepSession string) error
	UpdateProfile(ctx context.Context, name string, displayName, theme *string) error
	SetAvatar(ctx context.Context, name, file string) (old string, err error)
	AvatarOwner(ctx context.Context, file string) (string, error)
	DeleteUser(ctx context.Context, name, mode string) error
}

// Sessions are the login sessions of auth.db, by the hash of their id.
type Sessions interface {
	CreateSession(ctx context.Context, idHash string, a chat.Account, expiresTS int64, userAgent string) error
	// LookupSession returns the account of a live session; one unused for idle has ended.
	LookupSession(ctx context.Context, idHash string, idle time.Duration) (chat.Account, error)
	DeleteSession(ctx context.Context, idHash string) error
	EndSessions(ctx context.Context, name string) error
}

// ResetTokens are the password-reset tokens of auth.db, by the hash of the token.
type ResetTokens interface {
	CreateResetToken(ctx context.Context, tokenHash, name string, expiresTS int64) (chat.Account, error)
	CheckResetToken(ctx context.Context, tokenHash string) bool
	ConsumeResetToken(ctx context.Context, tokenHash, newHash string) (chat.Account, error)
}

// Conversations is what resolves and lists conversations: private channels in presence.db,
// and the conversations and unread counts of each user's copy.
type Conversations interface {
	GetPrivateChannel(ctx context.Context, a chat.Account, id string) (chat.PrivateChannel, error)
	UserPrivateChannels(ctx context.Context, a chat.Account) ([]chat.PrivateChannel, error)
	PrivateMembers(ctx context.Context, id string) ([]chat.Account, error)
	CreatePrivateChannel(ctx context.Context, name string, creator chat.Account, members []chat.Account) (chat.PrivateChannel, error)
	AddPrivateMember(ctx context.Context, by chat.Account, id string, a chat.Account) error
	LeavePrivateChannel(ctx context.Context, a chat.Account, id string) error
	UserConversations(ctx context.Context, user string) ([]string, error)
	AddUserConversation(ctx context.Context, user, conversation string) error
	ConversationStats(ctx context.Context, user string, convs []string, lastRead map[string]string) (map[string]chat.ConversationStat, error)
	LastRead(ctx context.Context, reader string) (map[string]string, error)
	// SetLastRead moves a reader's last-read message back or forward ("" forgets it).
	SetLastRead(ctx context.Context, reader, conversation, messageID string) error
	// MessageBefore is the newest message of a user's copy older than id ("" for none).
	MessageBefore(ctx context.Context, user, conversation, id string) (string, error)
	// CopyHistory copies the newest limit messages of a conversation from one user's copy
	// into another's.
	CopyHistory(ctx context.Context, from, to, conversation string, limit int) (int, error)
}

// Messages reads a user's own copy of their messages.
type Messages interface {
	History(ctx context.Context, user, conversation, before string, limit int) ([]chat.Message, bool, error)
	GetMessage(ctx context.Context, user, conversation, id string) (chat.Message, error)
	Search(ctx context.Context, user, q string, limit int) ([]chat.Message, error)
	// Thread returns the replies to a message, oldest first.
	Thread(ctx context.Context, user, conversation, root string) ([]chat.Message, error)
	// UserThreads lists the threads a user started, replied in or was mentioned in.
	UserThreads(ctx context.Context, user string, limit int) ([]chat.ThreadItem, error)
	// MarkThreadRead records the newest reply of a thread a user has read.
	MarkThreadRead(ctx context.Context, user, root, messageID string) error
	// ThreadSummaries counts the replies to each of roots that has some.
	ThreadSummaries(ctx context.Context, user, conversation string, roots []string) (map[string]chat.ThreadSummary, error)
	HasAttachment(ctx context.Context, user, conversation, stored string) (chat.Attachment, error)
}

// Presence is the live state of presence.db: presence, typing, receipts, reactions, calls.
type Presence interface {
	// SetPresences records several users' presence in one transaction.
	SetPresences(ctx context.Context, changes []chat.PresenceChange) error
	Presences(ctx context.Context) (map[string]string, error)
	SetTyping(ctx context.Context, user, conversation string) error
	ClearTyping(ctx context.Context, user string) error
	MarkRead(ctx context.Context, reader, conversation, messageID string) error
	Receipts(ctx context.Context, conversation string) ([]chat.Receipt, error)
	SetReaction(ctx context.Context, conversation, messageID, reactor, emoji string, on bool) (changed bool, err error)
	Reactions(ctx context.Context, ids []string) (map[string][]chat.Reaction, error)
	// JoinCall records one connection of user in a conversation's call.
	JoinCall(ctx context.Context, conversation, user, conn string) error
	// LeaveCall removes one connection from a conversation's call.
	LeaveCall(ctx context.Context, conversation, conn string) error
	// LeaveCalls removes one connection from every call and returns their conversations.
	LeaveCalls(ctx context.Context, conn string) ([]string, error)
	CallParticipants(ctx context.Context, conversation string) ([]chat.CallParticipant, error)
}

// Notifications are each user's notification settings, in their own database.
type Notifications interface {
	NotificationPrefs(ctx context.Context, user string) (chat.NotificationPrefs, error)
	SetConversationPrefs(ctx context.Context, user, conversation string, p chat.ConversationPrefs) error
	SetDND(ctx context.Context, user string, on bool) error
}

// Store is every part of the state the use-cases need; *store.Store satisfies it.
type Store interface {
	Notifications
	Journal
	Accounts
	Sessions
	ResetTokens
	Conversations
	Messages
	Presence
	Integrations
}

// Hasher hashes and verifies passwords; *auth.Hasher satisfies it.
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	// Verify checks pw against encoded; an empty encoded (unknown user) is checked against a
	// dummy hash, so the answer takes as long.
	Verify(ctx context.Context, encoded, pw string) (bool, error)
}

// SettingsSource returns the current settings.json; *settings.Manager satisfies it.
type SettingsSource interface {
	Get() chat.Settings
}

// Connections tells how many live connections an account has (the hub).
type Connections interface {
	Connections(accountID string) int
}

// Sessions are ended through the Closer when a password changes or an account goes.
type Closer interface {
	// CloseUser ends every connection of the account but those of keepSession ("" for all).
	CloseUser(accountID, keepSession string)
	// CloseSession ends every connection of one session (by id hash).
	CloseSession(sessionHash string)
	// Forget drops what is kept for a deleted account (its event ring).
	Forget(accountID string)
}

// App holds every use-case of MiniMost. The web server and the admin service translate their
// requests into calls of App and its answers (and *chat.Error codes) into theirs; they hold no
// rules of their own.
type App struct {
	Store    Store
	Hasher   Hasher
	Settings SettingsSource
	Events   Publisher
	Conns    Connections
	Closer   Closer
	// DataDir holds uploads/ and avatars/.
	DataDir string

	Logger *slog.Logger
	Now    func() time.Time
	// SessionTTL is how long a session lasts without a new login (default 30 days).
	SessionTTL time.Duration
	// PublicURL is the base of links the server hands out (password reset, webhook URLs).
	PublicURL func() string
	// Poster sends the requests of outgoing webhooks and slash commands (nil: none are sent).
	Poster Poster

	chanMu   sync.Mutex
	channels []string // public channels as last announced

	rates   rates // per-account rate limits
	uploads slots // per-account uploads in progress

	responses responses      // response URLs of recent slash commands
	bg        sync.WaitGroup // integrations' background calls

	// PresenceInterval is the least time between two presence events (default 1 s): the
	// changes of that time go out together, one frame per connection.
	PresenceInterval time.Duration
	// ReceiptsLiveMax overrides the package's ReceiptsLiveMax when set (tests).
	ReceiptsLiveMax int
	presence        presenceBatch
}

// New returns an App on its required parts, with defaults for the rest.
func New(st Store, h Hasher, settings SettingsSource, events Publisher, conns Connections, closer Closer, dataDir string) *App {
	return &App{
		Store: st, Hasher: h, Settings: settings, Events: events, Conns: conns, Closer: closer, DataDir: dataDir,
		Logger: slog.New(slog.DiscardHandler), Now: time.Now, SessionTTL: 30 * 24 * time.Hour,
		PublicURL:        func() string { return "https://127.0.0.1:5000" },
		channels:         slices.Clone(settings.Get().Channels),
		PresenceInterval: time.Second,
	}
}

// publish sends ev to the accounts; a failure is logged (the change itself is done and
// durable: clients catch up by reloading), and returned for the caller's tests and logs.
func (a *App) publish(to []chat.Account, ev chat.Event) {
	if len(to) == 0 {
		return
	}
	ids := make([]string, len(to))
	for i, acct := range to {
		ids[i] = acct.ID
	}
	if err := a.Events.Publish(ids, ev); err != nil {
		a.Logger.Error("publish event", "type", ev.EventType(), "err", err)
	}
}

// publishAll sends ev to every account.
func (a *App) publishAll(ctx context.Context, ev chat.Event) error {
	d, err := a.Store.Accounts(ctx)
	if err != nil {
		return err
	}
	a.publish(d.All(), ev)
	return nil
}

// names returns the usernames of accounts.
func names(accts []chat.Account) []string {
	out := make([]string, len(accts))
	for i, x := range accts {
		out[i] = x.Name
	}
	return out
}

// without returns accts without the account me.
func without(accts []chat.Account, me chat.Account) []chat.Account {
	out := make([]chat.Account, 0, len(accts))
	for _, x := range accts {
		if x.ID != me.ID {
			out = append(out, x)
		}
	}
	return out
}
