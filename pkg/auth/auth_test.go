package auth_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minimost/minimost/pkg/auth"
)

func TestHasher_HashVerify(t *testing.T) {
	h := auth.NewHasher(auth.Params{Memory: 1024, Time: 1, Threads: 1}, 2)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash = %q, want a PHC argon2id string", enc)
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horsf", false}, {"", false}} {
		if got, err := h.Verify(ctx, enc, tt.pw); err != nil || got != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tt.pw, got, err, tt.want)
		}
	}
	// No user: the dummy hash is checked and the answer is always false.
	if ok, err := h.Verify(ctx, "", "anything"); ok || err != nil {
		t.Errorf("Verify with no hash = %v, %v; want false", ok, err)
	}
	if _, err := h.Hash(ctx, strings.Repeat("x", 1025)); err == nil {
		t.Error("a 1025-byte password was hashed")
	}
	if auth.DefaultParams.Memory < 19*1024 || auth.DefaultParams.Time < 2 {
		t.Errorf("default params %+v are below OWASP's", auth.DefaultParams)
	}
}

func TestSigner(t *testing.T) {
	s := auth.NewSigner([]byte(strings.Repeat("k", 32)))
	other := auth.NewSigner([]byte(strings.Repeat("j", 32)))
	v := s.Sign("session", "abc")
	if got, ok := s.Verify("session", v); !ok || got != "abc" {
		t.Errorf("Verify = %q, %v", got, ok)
	}
	for _, bad := range []string{v + "x", "abd" + v[3:], "abc", ""} {
		if _, ok := s.Verify("session", bad); ok {
			t.Errorf("tampered %q verified", bad)
		}
	}
	if _, ok := s.Verify("csrf", v); ok {
		t.Error("a session signature verified as csrf")
	}
	if _, ok := other.Verify("session", v); ok {
		t.Error("another key verified the signature")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secret.key")
	k1, err := auth.LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, _ := auth.LoadOrCreateKey(p)
	if string(k1) != string(k2) || len(k1) != 32 {
		t.Error("key not kept across loads")
	}
	os.WriteFile(p, []byte("nothex"), 0o600)
	if _, err := auth.LoadOrCreateKey(p); err == nil {
		t.Error("garbage key accepted")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := auth.NewLimiter(3, 10*time.Second)
	l.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > 10*time.Second {
		t.Errorf("4th attempt = %v, wait %v; want refused with a wait ≤ 10s", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Error("another key was limited")
	}
	now = now.Add(10 * time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Error("not allowed again after the interval")
	}
}
