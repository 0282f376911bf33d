// Package chat holds MiniMost's domain types (users, conversations, messages), the rules
// that are the same everywhere (which usernames are valid, how conversation ids are formed),
// and Error, the domain error that every edge translates into its own status codes.
// It imports nothing of MiniMost's.
package chat
