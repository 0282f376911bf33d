package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestDurability_SIGKILLAfterAck kills the daemon (SIGKILL) while clients keep sending, right
// after acknowledgements arrive, restarts it, and checks that every acknowledged message is
// in every recipient's database and that every database passes integrity_check.
func TestDurability_SIGKILLAfterAck(t *testing.T) {
	t.Parallel()
	RequireTool(t, "sqlite3")
	// Load as fast as the clients can send: the per-account message rate is turned off.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "settings.json"), []byte(`{"channels": ["general"], "posts_per_minute": 0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := StartProcessIn(t, dir) // Kill: a real process
	users := []string{"alice", "bob", "carol", "dave"}
	for _, u := range users {
		d.CreateUser(u, u+"-password")
	}
	acked := map[string][]string{} // conversation -> acknowledged ids
	var mu sync.Mutex
	for round := 0; round < 3; round++ {
		clients := make([]*Client, len(users))
		for i, u := range users {
			clients[i] = d.NewClient()
			clients[i].Login(u, u+"-password")
		}
		convs := []string{"c:general", "d:alice,bob", "d:carol,dave"}
		senders := []int{0, 1, 0, 2}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var count int
		for g, si := range senders {
			wg.Add(1)
			go func(g int, c *Client) {
				defer wg.Done()
				conv := convs[g%len(convs)]
				if g == 3 {
					conv = "d:carol,dave"
				}
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					r, ok := tryPost(c, conv, fmt.Sprintf("round %d sender %d message %d", round, g, n))
					if !ok {
						return // the daemon is gone
					}
					mu.Lock()
					acked[conv] = append(acked[conv], r)
					count++
					mu.Unlock()
				}
			}(g, clients[si])
		}
		// Let some load build, then kill right after an acknowledgement.
		waitFor(t, fmt.Sprintf("%d acknowledged messages", 150*(round+1)), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return count >= 150*(round+1)
		})
		d.Kill()
		close(stop)
		wg.Wait()
		d.Start()
	}
	members := map[string][]string{
		"c:general":    users,
		"d:alice,bob":  {"alice", "bob"},
		"d:carol,dave": {"carol", "dave"},
	}
	total := 0
	for conv, ids := range acked {
		total += len(ids)
		for _, u := range members[conv] {
			have := map[string]bool{}
			for _, id := range strings.Fields(d.SQLite("users/"+u+".db", fmt.Sprintf("SELECT id FROM messages WHERE conversation = '%s';", conv))) {
				have[id] = true
			}
			missing := 0
			for _, id := range ids {
				if !have[id] {
					missing++
				}
			}
			if missing > 0 {
				t.Errorf("%s: %d of %d acknowledged messages of %s missing after SIGKILL and restart", u, missing, len(ids), conv)
			}
		}
	}
	if total < 450 {
		t.Fatalf("only %d messages acknowledged; the test did not put the daemon under load", total)
	}
	out := d.MustCtl("integrity-check")
	if strings.Count(out, ": ok") != 2+len(users) {
		t.Errorf("integrity-check after crashes:\n%s", out)
	}
	t.Logf("%d acknowledged messages survived 3 SIGKILLs", total)
}

// tryPost posts and returns the acknowledged id; false when the daemon did not answer 201.
func tryPost(c *Client, conv, body string) (id string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	r := c.rawNoFail("POST", ConvPath(conv, "/messages"), map[string]string{"body": body})
	if r.Status != 201 {
		return "", false
	}
	var out struct{ Message Message }
	if err := jsonUnmarshal(r.Body, &out); err != nil || out.Message.ID == "" {
		return "", false
	}
	return out.Message.ID, true
}
