// Package admin is the daemon side of MiniMost's admin service: the gRPC AdminService
// (proto/minimost/admin/v1) served on a Unix socket, next to the standard health and
// reflection services.
//
// Backend is what the daemon provides; Server translates between gRPC messages and Backend
// calls and maps *chat.Error codes to gRPC codes in one place (ToStatus). Listen creates the
// socket with mode 0600, replaces a stale socket only when no daemon answers on it, and
// refuses connections from any uid other than the daemon's own or root.
package admin
