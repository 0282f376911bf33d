package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/minimost/minimost/pkg/chat"
)

// Params are argon2id cost parameters. DefaultParams is OWASP's recommendation (m=19 MiB,
// t=2, p=1).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams are the cost parameters for new hashes.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Hasher hashes and verifies passwords, running at most a bounded number at once so that a
// burst of logins cannot exhaust memory (19 MiB each) or starve the chat of CPU.
type Hasher struct {
	Params Params
	sem    chan struct{}
	// dummy is verified against when a user does not exist, so that the answer takes as long.
	dummy string
}

// NewHasher returns a Hasher allowing concurrency hashes at once (0: the number of CPUs).
func NewHasher(p Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	h := &Hasher{Params: p, sem: make(chan struct{}, concurrency)}
	h.dummy, _ = h.Hash(context.Background(), "not-a-real-password-"+rand.Text())
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return chat.Errorf(chat.EUnavailable, "server busy, try again")
	}
}

// Hash returns the PHC string of pw ($argon2id$v=19$m=...,t=...,p=...$salt$hash). The length
// rules are checked first, so an over-long password is never hashed.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if len(pw) > chat.MaxPasswordBytes {
		return "", chat.Errorf(chat.EInvalid, "password must be at most %d bytes", chat.MaxPasswordBytes)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.sem }()
	salt := make([]byte, 16)
	rand.Read(salt)
	p := h.Params
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether pw matches the PHC string encoded, in constant time. An empty
// encoded (no such user) is checked against a dummy hash so it costs the same.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	if len(pw) > chat.MaxPasswordBytes {
		return false, nil
	}
	real := encoded != ""
	if !real {
		encoded = h.dummy
	}
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.sem }()
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1 && real, nil
}

func parsePHC(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("unsupported password hash format")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("bad argon2 parameters: %w", err)
	}
	if p.Memory > 1<<21 || p.Time > 100 || p.Threads == 0 {
		return p, nil, nil, fmt.Errorf("argon2 parameters out of range")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, err
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return p, nil, nil, fmt.Errorf("bad argon2 hash")
	}
	return p, salt, key, nil
}
