// Package webserver serves MiniMost's browser app, its JSON API and the WebSocket (see
// docs/api.md). It is the one place that turns domain errors into HTTP statuses, and it
// checks on every path that the caller may see what they ask for: a conversation the caller
// does not belong to is 404, exactly like one that does not exist.
package webserver
