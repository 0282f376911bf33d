package webserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
)

// A full disk is the server's condition, not a bug: every write path answers 503 with a clear
// message, whatever layer noticed it (SQLite, or a file write).
func TestWriteError_DiskFullIs503(t *testing.T) {
	s := &Server{}
	s.Init()
	for _, err := range []error{
		fmt.Errorf("store: create session: %w", errors.New("database or disk is full (13)")),
		fmt.Errorf("store: post message: %w", &os.PathError{Op: "write", Path: "presence.db-wal", Err: syscall.ENOSPC}),
	} {
		w := httptest.NewRecorder()
		s.writeError(w, httptest.NewRequest("POST", "/api/register", nil), err)
		var body struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != 503 || body.Error.Code != "unavailable" || body.Error.Message == "internal error" {
			t.Errorf("%v: %d %+v, want 503 unavailable with a message", err, w.Code, body.Error)
		}
	}
	w := httptest.NewRecorder()
	s.writeError(w, httptest.NewRequest("GET", "/", nil), errors.New("some bug"))
	if w.Code != 500 {
		t.Errorf("another internal error = %d, want 500", w.Code)
	}
}
