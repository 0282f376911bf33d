// Package web holds the MiniMost browser app: plain HTML, CSS and ES modules with no build
// step, embedded into minimostd. The server serves FS at the site root: "/" and unknown
// non-API paths get index.html (the single-page app), "/reset" gets reset.html, and
// /css/, /js/, /img/ and /emoji/ are served as files. See README.md for the module map and the
// element ids the browser tests rely on.
package web

import "embed"

// FS is the browser app: index.html, reset.html and the css, js, img, emoji and sound directories
// (emoji: emojibase-data's English data and GitHub shortcodes, vendored as published).
//
//go:embed index.html reset.html css js img emoji sound
var FS embed.FS
