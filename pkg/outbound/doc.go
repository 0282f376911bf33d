// Package outbound makes the HTTP requests of integrations (outgoing webhooks and slash
// commands) without letting them reach what they must not: every address a request connects
// to, after DNS resolution and on every redirect, must be public unless an administrator
// allowed the host. Requests are short and their answers small.
package outbound
