// Package webserver serves MiniMost's browser app, its JSON API and the WebSocket (see
// docs/api.md). It translates: requests into calls of the application layer (pkg/app), which
// holds every rule (who may see what: a conversation the caller does not belong to is 404,
// exactly like one that does not exist), and domain errors into HTTP statuses, in one place.
// What is HTTP's own stays here: cookies, CSRF and Origin checks, rate limits per client
// address, request decoding and the WebSocket's framing.
package webserver
