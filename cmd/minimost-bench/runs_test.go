package main

import "testing"

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 10, -5}, 10},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 || in[1] != 1 {
		t.Errorf("median reordered its argument: %v", in)
	}
}

func TestMedians_EachFigureSeparately(t *testing.T) {
	reps := []*Report{
		{LatencyP99Ms: 90, Delivered: 1000, StoreCeilingRatio: 0.2},
		{LatencyP99Ms: 30, Delivered: 990, StoreCeilingRatio: 0.5},
		{LatencyP99Ms: 60, Delivered: 1000, StoreCeilingRatio: 0.3},
	}
	got := map[string]medianRow{}
	for _, r := range medians(reps) {
		got[r.Figure] = r
	}
	if r := got["delivery_p99_ms"]; r.Median != 60 || len(r.Runs) != 3 || r.Runs[0] != 90 {
		t.Errorf("delivery p99: %+v, want median 60 of runs 90, 30, 60", r)
	}
	if r := got["delivered"]; r.Median != 1000 {
		t.Errorf("delivered: median %v, want 1000", r.Median)
	}
	if r := got["store_ceiling_ratio"]; r.Median != 0.3 {
		t.Errorf("ratio: median %v, want 0.3", r.Median)
	}
	for _, name := range []string{"delivery_p50_ms", "delivery_p95_ms", "ack_p50_ms", "ack_p99_ms", "missing_copies",
		"dropped_sockets", "refused_sends", "server_cpu_us_per_copy", "rss_per_socket_kib", "go_mem_per_socket_kib"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no median of %s", name)
		}
	}
}
