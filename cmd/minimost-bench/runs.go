package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// figure is one key figure of a report, taken for the median of several runs.
type figure struct {
	name string
	get  func(*Report) float64
}

// keyFigures are the figures -runs gives the median of.
var keyFigures = []figure{
	{"delivery_p50_ms", func(r *Report) float64 { return r.LatencyP50Ms }},
	{"delivery_p95_ms", func(r *Report) float64 { return r.LatencyP95Ms }},
	{"delivery_p99_ms", func(r *Report) float64 { return r.LatencyP99Ms }},
	{"ack_p50_ms", func(r *Report) float64 { return r.AckP50Ms }},
	{"ack_p99_ms", func(r *Report) float64 { return r.AckP99Ms }},
	{"delivered", func(r *Report) float64 { return float64(r.Delivered) }},
	{"sent", func(r *Report) float64 { return float64(r.Sent) }},
	{"missing_copies", func(r *Report) float64 { return float64(r.MissingCopies) }},
	{"dropped_sockets", func(r *Report) float64 { return float64(r.DroppedSockets) }},
	{"refused_sends", func(r *Report) float64 { return float64(r.RefusedSends) }},
	{"server_cpu_us_per_copy", func(r *Report) float64 { return r.ServerCPUPerCopy }},
	{"rss_per_socket_kib", func(r *Report) float64 { return r.RSSPerSocketKiB }},
	{"go_mem_per_socket_kib", func(r *Report) float64 { return r.GoMemPerSocketKiB }},
	{"store_copies_per_s", func(r *Report) float64 { return r.StoreCopiesPerS }},
	{"ceiling_copies_per_s", func(r *Report) float64 { return r.CeilingCopiesPerS }},
	{"store_ceiling_ratio", func(r *Report) float64 { return r.StoreCeilingRatio }},
}

// median is the middle of v (the mean of the two middle values for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianRow is one key figure over the runs.
type medianRow struct {
	Figure string    `json:"figure"`
	Runs   []float64 `json:"runs"`
	Median float64   `json:"median"`
}

// medians takes the median of each key figure separately over the reports.
func medians(reps []*Report) []medianRow {
	rows := make([]medianRow, 0, len(keyFigures))
	for _, f := range keyFigures {
		r := medianRow{Figure: f.name}
		for _, rep := range reps {
			r.Runs = append(r.Runs, f.get(rep))
		}
		r.Median = median(r.Runs)
		rows = append(rows, r)
	}
	return rows
}

// printMedians prints the medians of the runs: a table, or with -json one document with
// every run and the medians.
func printMedians(c config, reps []*Report) {
	rows := medians(reps)
	if c.JSON {
		b, _ := json.MarshalIndent(struct {
			Runs    []*Report   `json:"runs"`
			Medians []medianRow `json:"medians"`
		}{reps, rows}, "", "  ")
		fmt.Println(string(b))
		return
	}
	fmt.Printf("median of %d runs (each figure separately):\n", len(reps))
	for _, r := range rows {
		vals := make([]string, len(r.Runs))
		for i, v := range r.Runs {
			vals[i] = fmt.Sprintf("%.4g", v)
		}
		fmt.Printf("  %-24s %12.4g   (%s)\n", r.Figure, r.Median, strings.Join(vals, ", "))
	}
}
