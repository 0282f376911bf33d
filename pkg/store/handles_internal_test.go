package store

import "testing"

// The handle cache's default follows the open-file limit: three descriptors a database,
// half of the limit, never under 2,048 nor over 8,192.
func TestMaxOpenUserDBs(t *testing.T) {
	for _, c := range []struct {
		files uint64
		want  int
	}{{1024, 2048}, {20_000, 3333}, {1 << 20, 8192}} {
		if got := maxOpenUserDBs(c.files); got != c.want {
			t.Errorf("open-file limit %d: %d handles, want %d", c.files, got, c.want)
		}
	}
}
