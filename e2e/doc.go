// Package e2e holds MiniMost's end-to-end tests: they build the real minimostd and
// minimostctl binaries, run the daemon on a free loopback port in a temporary data
// directory, and drive it over the real admin socket (with the real minimostctl), real HTTPS
// and WebSocket clients, the real sqlite3 shell and headless Chromium. Most tests run the
// daemon in-process (pkg/daemon's Main inside the test binary, StartDaemon); those where a
// process matters run the minimostd binary (StartProcess): SIGKILL, SIGTERM, exit codes,
// file modes, another uid, the guide's procedures and the browser tests. Tests that need a missing tool (sqlite3,
// chromium) skip loudly, unless MINIMOST_E2E=required, where they fail.
package e2e
