package webserver

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
)

// serveWebFile serves file name of Web for revalidation: embedded files have no modification
// time, so each gets a strong ETag (a hash of its bytes, computed once), and a browser's
// If-None-Match is answered 304 without the body. "no-cache" keeps every load checking, so a
// new daemon's files are picked up at once, while an unchanged file (the emoji data, the
// scripts) costs a round trip and no bytes.
func (s *Server) serveWebFile(w http.ResponseWriter, r *http.Request, name string) {
	if tag, err := s.webETag(name); err == nil {
		w.Header().Set("ETag", tag)
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, s.Web, name)
}

// webETag returns the ETag of file name of Web. Web does not change while the daemon runs,
// so it is computed on first use and kept.
func (s *Server) webETag(name string) (string, error) {
	if v, ok := s.etags.Load(name); ok {
		return v.(string), nil
	}
	b, err := fs.ReadFile(s.Web, name)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	tag := `"` + hex.EncodeToString(sum[:16]) + `"`
	s.etags.Store(name, tag)
	return tag, nil
}
