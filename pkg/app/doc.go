// Package app is MiniMost's application layer: every use-case lives here once — resolving a
// conversation for a caller and its recipients; posting, editing, deleting, reacting, read
// receipts and typing; accounts (registration and the admin's creation are one function),
// sessions, password changes and resets, deletion; private channels, DMs and public channel
// changes; threads, unread state and notification settings; presence and calls; bots, access
// tokens, webhooks and slash commands; and the administrator's operations (Admin).
//
// App depends only on small interfaces declared here (Store and its parts, Hasher,
// SettingsSource, Publisher, Connections, Closer, Poster), which *store.Store, *auth.Hasher,
// *settings.Manager, *hub.Hub and *outbound.Client satisfy. The web server (HTTP and
// WebSocket) and the admin service (gRPC) translate their requests into calls of App and its
// *chat.Error codes into their own status codes; pkg/daemon only wires the parts together.
//
// Every rule about who may see what is here, and is checked by the unit tests of this
// package on a real store in a temporary directory. A caller is a chat.Account (id and name):
// an account that no longer exists, even when its name was registered again by someone else,
// belongs to nothing.
package app
