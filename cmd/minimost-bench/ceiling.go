package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minimost/minimost/pkg/store"
)

// fanoutWorkers is how many goroutines write account databases in the daemon: the store's
// default (Options.FanoutWorkers), which minimostd does not change.
const fanoutWorkers = 4

// ceilingPerTx and ceilingTime are what the raw ceiling is measured with: 50 copies per
// transaction (a message to a large channel arriving while the workers are busy) for about
// three seconds.
const (
	ceilingPerTx = 50
	ceilingTime  = 3 * time.Second
)

// fanoutCopiesMetric counts the copies the daemon's fan-out wrote into account databases.
const fanoutCopiesMetric = "minimost_fanout_copies_total"

// wsClosedMetric counts the WebSocket connections that ended, by reason.
const wsClosedMetric = "minimost_websocket_closed_total"

// userDBOpensMetric counts the user databases the daemon opened; userDBFanoutOpensMetric
// those of them the fan-out opened.
const (
	userDBOpensMetric       = "minimost_user_database_opens_total"
	userDBFanoutOpensMetric = "minimost_user_database_fanout_opens_total"
)

// fanoutQueuedMetric is the number of copies waiting for the fan-out.
const fanoutQueuedMetric = "minimost_fanout_queued_copies"

// waitFanoutDrained polls the daemon's metrics at base until no copy waits for the fan-out.
func waitFanoutDrained(ctx context.Context, base string) error {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	logged := false
	for {
		n, err := scrapeMetric(ctx, base, fanoutQueuedMetric)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if !logged {
			logf("waiting for the fan-out to write the %.0f copies the setup queued", n)
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%.0f copies still queued: %w", n, ctx.Err())
		case <-t.C:
		}
	}
}

// fanoutTxMetric counts the fan-out's transactions on account databases: with
// fanoutCopiesMetric, how many copies each carried (the batching).
const fanoutTxMetric = "minimost_fanout_transactions_total"

// measureCeiling measures the raw group-commit ceiling in this process, on a temporary
// directory beside dataDir (the same file system), with files account databases, and
// removes it afterwards.
func measureCeiling(ctx context.Context, dataDir string, files int) (store.CeilingResult, error) {
	dir, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dataDir)), "minimost-bench-ceiling-")
	if err != nil {
		return store.CeilingResult{}, err
	}
	defer os.RemoveAll(dir)
	return store.MeasureCeiling(ctx, dir, files, ceilingPerTx, fanoutWorkers, ceilingTime)
}

// scrapeMetric returns the value of the metric name (without labels) from a Prometheus
// text exposition at base/metrics.
func scrapeMetric(ctx context.Context, base, name string) (float64, error) {
	m, err := scrapeMetrics(ctx, base, name)
	return m[name], err
}

// runCounters are the daemon's counters a run reports the difference of, read in one scrape
// at its start and one at its end.
var runCounters = []string{userDBOpensMetric, userDBFanoutOpensMetric, fanoutCopiesMetric, fanoutTxMetric}

// scrapeMetrics returns the values of the metrics names (without labels) from one scrape of
// base/metrics; it fails if any is not exposed.
func scrapeMetrics(ctx context.Context, base string, names ...string) (map[string]float64, error) {
	var m map[string]float64
	err := scrape(ctx, base, func(r io.Reader) (err error) {
		m, err = parseMetrics(r, names...)
		return err
	})
	return m, err
}

// scrapeMetricByLabel returns the samples of the metric name by the value of its one label.
func scrapeMetricByLabel(ctx context.Context, base, name, label string) (map[string]float64, error) {
	var v map[string]float64
	err := scrape(ctx, base, func(r io.Reader) (err error) {
		v, err = parseMetricByLabel(r, name, label)
		return err
	})
	return v, err
}

func scrape(ctx context.Context, base string, parse func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s/metrics: %s", base, resp.Status)
	}
	return parse(resp.Body)
}

// parseMetricByLabel finds the samples name{label="v"} in a Prometheus text exposition.
func parseMetricByLabel(r io.Reader, name, label string) (map[string]float64, error) {
	out := map[string]float64{}
	prefix := name + "{" + label + "=\""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		value, sample, ok := strings.Cut(rest, "\"} ")
		if !ok || strings.Contains(value, `"`) {
			return nil, fmt.Errorf("metric %s: unexpected line %q", name, sc.Text())
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(sample), 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		out[value] = v
	}
	return out, sc.Err()
}

// parseMetric finds the sample of name (no labels) in a Prometheus text exposition.
func parseMetric(r io.Reader, name string) (float64, error) {
	m, err := parseMetrics(r, name)
	return m[name], err
}

// parseMetrics finds the samples of names (no labels) in a Prometheus text exposition; it
// fails if any is missing.
func parseMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !slices.Contains(names, f[0]) {
			continue
		}
		if _, seen := out[f[0]]; seen {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", f[0], err)
		}
		out[f[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, ok := out[name]; !ok {
			return nil, fmt.Errorf("metric %s: not exposed", name)
		}
	}
	return out, nil
}
