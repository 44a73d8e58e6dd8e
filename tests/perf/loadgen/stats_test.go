package main

import (
	"testing"
	"time"
)

func ms(values ...int) []time.Duration {
	out := make([]time.Duration, len(values))
	for i, v := range values {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	// 1..100 ms: the p-th percentile is exactly p ms.
	var hundred []int
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, i)
	}
	sorted := ms(hundred...)
	for _, tc := range []struct {
		p    float64
		want int
	}{{50, 50}, {90, 90}, {99, 99}, {100, 100}, {0.5, 1}, {99.5, 100}} {
		if got := Percentile(sorted, tc.p); got != time.Duration(tc.want)*time.Millisecond {
			t.Errorf("p%v of 1..100 ms = %v, want %d ms", tc.p, got, tc.want)
		}
	}
}

func TestPercentileIsAMeasuredSample(t *testing.T) {
	// Four samples: no interpolation between 20 and 30; p50 is the 2nd, p99 the 4th.
	sorted := ms(10, 20, 30, 40)
	if got := Percentile(sorted, 50); got != 20*time.Millisecond {
		t.Errorf("p50 = %v, want 20ms", got)
	}
	if got := Percentile(sorted, 99); got != 40*time.Millisecond {
		t.Errorf("p99 = %v, want 40ms", got)
	}
	if got := Percentile(ms(7), 1); got != 7*time.Millisecond {
		t.Errorf("p1 of one sample = %v, want 7ms", got)
	}
}

func TestPercentileOfNothingIsZero(t *testing.T) {
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of no samples = %v, want 0", got)
	}
}

func TestSummarizeSortsCountsErrorsAndThroughput(t *testing.T) {
	// Unsorted input; 2 errors on top of 10 successes in 2 s.
	s := Summarize(ms(5, 1, 9, 3, 7, 2, 8, 4, 10, 6), 2, 2*time.Second)
	if s.Count != 12 || s.Errors != 2 {
		t.Errorf("count/errors = %d/%d, want 12/2", s.Count, s.Errors)
	}
	if s.P50Ms != 5 || s.P90Ms != 9 || s.P95Ms != 10 || s.P99Ms != 10 || s.MaxMs != 10 {
		t.Errorf("p50/p90/p95/p99/max = %v/%v/%v/%v/%v, want 5/9/10/10/10", s.P50Ms, s.P90Ms, s.P95Ms, s.P99Ms,
			s.MaxMs)
	}
	if s.MeanMs != 5.5 {
		t.Errorf("mean = %v, want 5.5", s.MeanMs)
	}
	if s.PerSecond != 5 {
		t.Errorf("throughput = %v/s, want 5/s (successes only)", s.PerSecond)
	}
}

func TestSummarizeDoesNotReorderTheCallersSlice(t *testing.T) {
	in := ms(3, 1, 2)
	Summarize(in, 0, time.Second)
	if in[0] != 3*time.Millisecond {
		t.Errorf("Summarize sorted its input in place: %v", in)
	}
}
