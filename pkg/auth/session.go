package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/minimost/minimost/pkg/fsutil"
)

// LoadOrCreateKey reads the 32-byte session-signing key at path, creating it with mode 0600
// if it is missing. A key with looser permissions is tightened.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		if err := fsutil.WriteNew(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		os.Chmod(path, 0o600)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("%s: not a valid key (want 64 hex digits)", path)
	}
	return key, nil
}

// Signer makes and checks signed cookie values.
type Signer struct{ key []byte }

// NewSigner returns a Signer for key.
func NewSigner(key []byte) *Signer { return &Signer{key: key} }

// NewSessionID returns a random session id and the hash stored in auth.db.
func NewSessionID() (id, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	id = base64.RawURLEncoding.EncodeToString(b)
	return id, HashToken(id)
}

// HashToken returns the hex SHA-256 of a session id or reset token: what the database keeps.
func HashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

func (s *Signer) mac(purpose, v string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose + "\x00" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns "v.mac" for the purpose ("session", "csrf").
func (s *Signer) Sign(purpose, v string) string { return v + "." + s.mac(purpose, v) }

// Verify returns v from a signed value, or false if it was not signed by this key.
func (s *Signer) Verify(purpose, signed string) (string, bool) {
	i := strings.LastIndexByte(signed, '.')
	if i <= 0 {
		return "", false
	}
	v, sig := signed[:i], signed[i+1:]
	if !hmac.Equal([]byte(sig), []byte(s.mac(purpose, v))) {
		return "", false
	}
	return v, true
}

// NewResetToken returns a 256-bit random token (URL-safe) and its stored hash.
func NewResetToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}
