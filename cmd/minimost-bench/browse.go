package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// The browsing mix (-scenario browse): every connected user acts about every -think, as a
// person with the app open does: posts into the conversation they have open, switches to
// another one (its newest page), scrolls up (the page before), searches, reloads the sidebar
// or marks the open conversation read. Each user is in #general, a private channel of 10
// (when -users allows) and a DM; the conversations are seeded with a few pages of messages
// before the run, so that scrolling and search have something to read.

// action is one kind of thing a browsing user does.
type action int

const (
	actPost action = iota
	actSwitch
	actScroll
	actSearch
	actSidebar
	actRead
	numActions
)

var actionNames = [numActions]string{"post", "switch", "scroll", "search", "sidebar", "read"}

// actionMix is the share of each action; the shares sum to 1.
var actionMix = [numActions]float64{0.20, 0.20, 0.15, 0.10, 0.15, 0.20}

// pickAction maps r in [0, 1) to an action by actionMix.
func pickAction(r float64) action {
	for a := range numActions {
		if r < actionMix[a] {
			return a
		}
		r -= actionMix[a]
	}
	return numActions - 1
}

// thinkTime is one wait between two actions: think × [0.5, 1.5) for r in [0, 1).
func thinkTime(think time.Duration, r float64) time.Duration {
	return time.Duration(float64(think) * (0.5 + r))
}

// words fill the messages' bodies, and are what search looks for.
var words = []string{"deploy", "lunch", "review", "budget", "release", "coffee", "incident", "design",
	"meeting", "invoice", "backup", "roadmap", "hiring", "outage", "launch", "demo"}

// Seed messages per conversation, posted before the run.
const (
	seedGeneral = 60
	seedPrivate = 10
	seedDM      = 4
)

// browseConversations makes #general (everyone), a private channel per 10 users and a DM per
// pair of users, and seeds each with messages.
func browseConversations(ctx context.Context, clients []*client, runID string) ([]conversation, error) {
	n := len(clients)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	convs := []conversation{{id: "c:general", members: all}}
	seed := []int{seedGeneral}
	if groups := n / 10; groups > 0 {
		priv, err := privateGroups(ctx, clients, groups, 10)
		if err != nil {
			return nil, err
		}
		convs = append(convs, priv...)
		for range priv {
			seed = append(seed, seedPrivate)
		}
	}
	dms := make([]conversation, n/2)
	if err := parallel(ctx, 8, len(dms), func(k int) error {
		a, b := clients[2*k], clients[2*k+1]
		var out struct {
			Conversation struct{ ID string } `json:"conversation"`
		}
		if err := a.do(ctx, "POST", "/api/dms", map[string]any{"members": []string{b.name}}, &out); err != nil {
			return fmt.Errorf("open DM %s-%s: %w", a.name, b.name, err)
		}
		dms[k] = conversation{id: out.Conversation.ID, members: []int{2 * k, 2*k + 1}}
		return nil
	}); err != nil {
		return nil, err
	}
	convs = append(convs, dms...)
	for range dms {
		seed = append(seed, seedDM)
	}
	type post struct{ conv, k int }
	var posts []post
	for ci := range convs {
		for k := range seed[ci] {
			posts = append(posts, post{ci, k})
		}
	}
	logf("seeding %d conversations with %d messages", len(convs), len(posts))
	err := parallel(ctx, 8, len(posts), func(i int) error {
		p := posts[i]
		cv := convs[p.conv]
		cl := clients[cv.members[p.k%len(cv.members)]]
		body := fmt.Sprintf("seed %s %d %s %s", runID, p.k, words[i%len(words)], words[(i/len(words))%len(words)])
		if err := cl.do(ctx, "POST", messagesPath(cv.id), map[string]string{"body": body}, nil); err != nil {
			return fmt.Errorf("seed %s: %w", cv.id, err)
		}
		return nil
	})
	return convs, err
}

func messagesPath(conv string) string {
	return "/api/conversations/" + url.PathEscape(conv) + "/messages"
}

// browseUser is what one user's app holds: the conversation open and where it has read to.
type browseUser struct {
	mine   []int          // conversations (indexes) this user is in
	cur    int            // index into mine: the one open
	oldest map[int]string // conversation → oldest message loaded (where a scroll continues)
	newest map[int]string // conversation → newest message seen (what mark-read marks)
	seq    int            // posts so far
}

// browser runs the browsing mix and keeps what it measured.
type browser struct {
	clients []*client
	convs   []conversation
	users   []*browseUser

	mu     sync.Mutex
	lat    [numActions][]time.Duration // successful actions
	count  [numActions]int             // all actions
	errs   [numActions]int
	posts  int // posts answered 201
	logged int // errors logged so far
}

// newBrowser opens each user's first conversation, as the app does when it starts (not
// measured).
func newBrowser(ctx context.Context, clients []*client, convs []conversation) (*browser, error) {
	b := &browser{clients: clients, convs: convs, users: make([]*browseUser, len(clients))}
	for i := range b.users {
		b.users[i] = &browseUser{oldest: map[int]string{}, newest: map[int]string{}}
	}
	for ci, cv := range convs {
		for _, m := range cv.members {
			b.users[m].mine = append(b.users[m].mine, ci)
		}
	}
	logf("opening a conversation for each of %d users", len(clients))
	err := parallel(ctx, 8, len(clients), func(i int) error {
		u := b.users[i]
		u.cur = i % len(u.mine)
		return b.page(ctx, i, u.mine[u.cur], "")
	})
	return b, err
}

// page loads a history page of conv (the newest when before is "") for user i.
func (b *browser) page(ctx context.Context, i, conv int, before string) error {
	path := messagesPath(b.convs[conv].id) + "?limit=50"
	if before != "" {
		path += "&before=" + url.QueryEscape(before)
	}
	var out struct {
		Messages []struct{ ID string } `json:"messages"`
		HasMore  bool                  `json:"has_more"`
	}
	if err := b.clients[i].once(ctx, "GET", path, nil, &out); err != nil {
		return err
	}
	u := b.users[i]
	if len(out.Messages) > 0 && out.HasMore {
		u.oldest[conv] = out.Messages[0].ID
	} else {
		delete(u.oldest, conv) // the top: the next scroll starts again from the newest page
	}
	if before == "" && len(out.Messages) > 0 {
		u.newest[conv] = out.Messages[len(out.Messages)-1].ID
	}
	return nil
}

// act does action a as user i.
func (b *browser) act(ctx context.Context, i int, a action, rng *rand.Rand, runID string, tr *tracker, acked *atomic.Int64) error {
	u, cl := b.users[i], b.clients[i]
	conv := u.mine[u.cur]
	cv := b.convs[conv]
	switch a {
	case actPost:
		seq := u.seq
		u.seq++
		tr.expect(i, seq, len(cv.members))
		body := makeBody(runID, i, seq, time.Now()) + " " + words[rng.IntN(len(words))]
		var out struct {
			Message struct{ ID string } `json:"message"`
		}
		if err := cl.once(ctx, "POST", messagesPath(cv.id), map[string]string{"body": body}, &out); err != nil {
			tr.forget(i, seq)
			return err
		}
		u.newest[conv] = out.Message.ID
		acked.Add(1)
		b.mu.Lock()
		b.posts++
		b.mu.Unlock()
		return nil
	case actSwitch:
		if len(u.mine) > 1 {
			u.cur = (u.cur + 1 + rng.IntN(len(u.mine)-1)) % len(u.mine)
		}
		return b.page(ctx, i, u.mine[u.cur], "")
	case actScroll:
		return b.page(ctx, i, conv, u.oldest[conv])
	case actSearch:
		return cl.once(ctx, "GET", "/api/search?limit=50&q="+url.QueryEscape(words[rng.IntN(len(words))]), nil, nil)
	case actSidebar:
		return cl.once(ctx, "GET", "/api/conversations", nil, nil)
	case actRead:
		id := u.newest[conv]
		if id == "" {
			return b.page(ctx, i, conv, "")
		}
		return cl.once(ctx, "POST", "/api/conversations/"+url.PathEscape(cv.id)+"/read", map[string]string{"message_id": id}, nil)
	}
	return nil
}

// run lets every user act from start until stopAt, then waits for the actions in flight.
func (b *browser) run(ctx context.Context, c config, runID string, tr *tracker, start, stopAt time.Time, acked *atomic.Int64) {
	var wg sync.WaitGroup
	seed := uint64(time.Now().UnixNano())
	for i := range b.clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			// The users' first actions are spread over one think time.
			next := start.Add(time.Duration(rng.Float64() * float64(c.Think)))
			for next.Before(stopAt) {
				select {
				case <-time.After(time.Until(next)):
				case <-ctx.Done():
					return
				}
				a := pickAction(rng.Float64())
				t0 := time.Now()
				err := b.act(ctx, i, a, rng, runID, tr, acked)
				d := time.Since(t0)
				b.mu.Lock()
				b.count[a]++
				if err != nil {
					b.errs[a]++
					if b.logged < 5 {
						b.logged++
						logf("%s by %s: %v", actionNames[a], b.clients[i].name, err)
					}
				} else {
					b.lat[a] = append(b.lat[a], d)
				}
				b.mu.Unlock()
				// A user whose action took longer than the wait acts again at once, not in a burst.
				next = next.Add(thinkTime(c.Think, rng.Float64()))
				if now := time.Now(); next.Before(now) {
					next = now
				}
			}
		})
	}
	wg.Wait()
}

// postLatencies are the posts' latencies (send to 201 answer).
func (b *browser) postLatencies() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Duration(nil), b.lat[actPost]...)
}

// ActionStat is what the browsing mix measured of one action type (or of all: "all").
// Latencies are of the actions that succeeded.
type ActionStat struct {
	Action string  `json:"action"`
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	AvgMs  float64 `json:"avg_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// stats summarises each action type, then all of them together.
func (b *browser) stats() []ActionStat {
	b.mu.Lock()
	defer b.mu.Unlock()
	return actionStats(b.lat, b.count, b.errs)
}

func actionStats(lat [numActions][]time.Duration, count, errs [numActions]int) []ActionStat {
	var out []ActionStat
	all := ActionStat{Action: "all"}
	var allLat []time.Duration
	for a := range numActions {
		s := ActionStat{Action: actionNames[a], Count: count[a], Errors: errs[a]}
		d := append([]time.Duration(nil), lat[a]...)
		s.AvgMs, s.P50Ms, s.P99Ms, s.MaxMs = avgMs(d), pct(d, 0.50), pct(d, 0.99), pct(d, 1)
		out = append(out, s)
		all.Count += count[a]
		all.Errors += errs[a]
		allLat = append(allLat, lat[a]...)
	}
	all.AvgMs, all.P50Ms, all.P99Ms, all.MaxMs = avgMs(allLat), pct(allLat, 0.50), pct(allLat, 0.99), pct(allLat, 1)
	return append(out, all)
}

// avgMs is the mean of d in milliseconds.
func avgMs(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return float64(sum) / float64(len(d)) / float64(time.Millisecond)
}
