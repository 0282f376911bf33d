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
	// Staged counts the messages written once to the fan-out's staging table, which their
	// recipients' copies are made from.
	Staged int64
	// JournalCommits counts the journal's group commits, JournalCommitSeconds their total
	// duration.
	JournalCommits       int64
	JournalCommitSeconds float64
	// SlowClosed counts WebSocket connections closed because they fell too far behind.
	SlowClosed int64
}

// Fanout registers the fan-out metrics; read is called once per scrape for all of them.
func (m *Metrics) Fanout(read func() FanoutCounts) {
	c := &fanoutCollector{read: read}
	add := func(name, help string, typ prometheus.ValueType, val func(FanoutCounts) float64) {
		c.metrics = append(c.metrics, fanoutMetric{prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, nil, nil), typ, val})
	}
	add("fanout_queued_copies", "Copies of messages waiting to be written to user databases.", prometheus.GaugeValue,
		func(c FanoutCounts) float64 { return float64(c.Queued) })
	add("fanout_copies_total", "Copies of messages written to user databases.", prometheus.CounterValue,
		func(c FanoutCounts) float64 { return float64(c.Copies) })
	add("fanout_transactions_total", "User-database transactions of the fan-out (copies per transaction: the batching).", prometheus.CounterValue,
		func(c FanoutCounts) float64 { return float64(c.Transactions) })
	add("fanout_refused_total", "Posts, edits and deletions refused with retry advice because the fan-out was saturated.", prometheus.CounterValue,
		func(c FanoutCounts) float64 { return float64(c.Refused) })
	add("fanout_staged_total", "Messages to four recipients or more, written once to the fan-out's in-memory staging table that their copies are made from.", prometheus.CounterValue,
		func(c FanoutCounts) float64 { return float64(c.Staged) })
	add("journal_commits_total", "Group commits of the journal (presence.db).", prometheus.CounterValue,
		func(c FanoutCounts) float64 { return float64(c.JournalCommits) })
	add("journal_commit_seconds_total", "Time spent in group commits of the journal.", prometheus.CounterValue,
		func(c FanoutCounts) float64 { return c.JournalCommitSeconds })
	add("websocket_slow_closed_total", "WebSocket connections closed because they fell too far behind their events.", prometheus.CounterValue,
		func(c FanoutCounts) float64 { return float64(c.SlowClosed) })
	m.Registry.MustRegister(c)
}

// fanoutCollector reads the fan-out's figures once per scrape (one pass over its locks) and
// reports every metric from that one reading.
type fanoutCollector struct {
	read    func() FanoutCounts
	metrics []fanoutMetric
}

type fanoutMetric struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	val  func(FanoutCounts) float64
}

func (c *fanoutCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
}

func (c *fanoutCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.read()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.val(v))
	}
}
