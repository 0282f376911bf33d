// Package e2e holds MiniMost's end-to-end tests: they build the real minimostd and
// minimostctl binaries, run the daemon on a free loopback port in a temporary data
// directory, and drive it over the real admin socket, real HTTPS and WebSocket clients, the
// real sqlite3 shell and headless Chromium. Tests that need a missing tool (sqlite3,
// chromium) skip loudly, unless MINIMOST_E2E=required, where they fail.
package e2e
