package webserver_test

import (
	"io"
	"net/http"
	"testing"
)

// TestStatic_Revalidates: the app's files carry an ETag and "no-cache", so a reload asks
// again and an unchanged file (the emoji data) comes back 304 without its body; a changed
// one (another ETag) in full.
func TestStatic_Revalidates(t *testing.T) {
	s := newServer(t, nil, nil)
	get := func(path, inm string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", s.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		res, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	for _, path := range []string{"/emoji/en-compact.json", "/js/app.js", "/", "/some/route"} {
		t.Run(path, func(t *testing.T) {
			res, body := get(path, "")
			tag := res.Header.Get("ETag")
			if res.StatusCode != 200 || len(body) == 0 || len(tag) < 10 || res.Header.Get("Cache-Control") != "no-cache" {
				t.Fatalf("first GET: %d, %d bytes, ETag %q, Cache-Control %q; want 200, the file, an ETag and no-cache",
					res.StatusCode, len(body), tag, res.Header.Get("Cache-Control"))
			}
			res, body = get(path, tag)
			if res.StatusCode != http.StatusNotModified || len(body) != 0 || res.Header.Get("ETag") != tag {
				t.Errorf("GET with If-None-Match: %d with %d bytes, ETag %q; want 304, empty, %q", res.StatusCode, len(body), res.Header.Get("ETag"), tag)
			}
			res, body = get(path, `"something-else"`)
			if res.StatusCode != 200 || len(body) == 0 {
				t.Errorf("GET with another ETag: %d with %d bytes, want 200 and the file", res.StatusCode, len(body))
			}
		})
	}
	a, _ := get("/js/app.js", "")
	b, _ := get("/js/state.js", "")
	if a.Header.Get("ETag") == b.Header.Get("ETag") {
		t.Errorf("two files share the ETag %q", a.Header.Get("ETag"))
	}
}
