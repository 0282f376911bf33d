package metrics

import "github.com/prometheus/client_golang/prometheus"

// FanoutCounts are the fan-out's and the live connections' figures at one scrape.
type FanoutCounts struct {
	// Queued is the number of copies waiting to be written to user databases.
	Queued int64
	// Copies and Transactions count the copies written and the user-database transactions
	// that wrote them (their ratio is the batching the fan-out achieves).
	Copies, Transactions int64
	// Refused counts posts refused because the fan-out's backlog was at its bound.
	Refused int64
	// JournalCommits counts the journal's group commits, JournalCommitSeconds their total
	// duration.
	JournalCommits       int64
	JournalCommitSeconds float64
	// SlowClosed counts WebSocket connections closed because they fell too far behind.
	SlowClosed int64
}

// Fanout registers the fan-out metrics; read is called at each scrape.
func (m *Metrics) Fanout(read func() FanoutCounts) {
	gauge := func(name, help string, fn func(FanoutCounts) float64) {
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help},
			func() float64 { return fn(read()) }))
	}
	counter := func(name, help string, fn func(FanoutCounts) float64) {
		m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help},
			func() float64 { return fn(read()) }))
	}
	gauge("fanout_queued_copies", "Copies of messages waiting to be written to user databases.",
		func(c FanoutCounts) float64 { return float64(c.Queued) })
	counter("fanout_copies_total", "Copies of messages written to user databases.",
		func(c FanoutCounts) float64 { return float64(c.Copies) })
	counter("fanout_transactions_total", "User-database transactions of the fan-out (copies per transaction: the batching).",
		func(c FanoutCounts) float64 { return float64(c.Transactions) })
	counter("fanout_refused_total", "Posts, edits and deletions refused with retry advice because the fan-out was saturated.",
		func(c FanoutCounts) float64 { return float64(c.Refused) })
	counter("journal_commits_total", "Group commits of the journal (presence.db).",
		func(c FanoutCounts) float64 { return float64(c.JournalCommits) })
	counter("journal_commit_seconds_total", "Time spent in group commits of the journal.",
		func(c FanoutCounts) float64 { return c.JournalCommitSeconds })
	counter("websocket_slow_closed_total", "WebSocket connections closed because they fell too far behind their events.",
		func(c FanoutCounts) float64 { return float64(c.SlowClosed) })
}
