// Package store keeps MiniMost's state in the SQLite files of the data directory, laid out as
// auth.db (accounts, settings, sessions, reset tokens), presence.db (presence, typing,
// receipts, reactions, private channels, calls and the fan-out journal) and users/<name>.db
// (each user's own copy of every message they can see).
//
// Writes that reach many user databases (a message, an edit, a delete) go through the
// journal: they are committed to presence.db first, acknowledged, then applied by the
// fan-out workers with one transaction per user database per batch (group commit), and the
// journal row is removed once every copy is written. Rows left at a crash are replayed at
// start; every operation is idempotent by message id.
package store
