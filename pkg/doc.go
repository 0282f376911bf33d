// Package pkg is the parent of MiniMost's application packages. They are not a public API:
// each serves the minimostd and minimostctl binaries and may change with them.
package pkg
