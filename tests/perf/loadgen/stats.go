package main

import (
	"math"
	"sort"
	"time"
)

// Summary is what one load-generator run reports (all latencies in milliseconds).
type Summary struct {
	Mode        string  `json:"mode"`
	Concurrency int     `json:"concurrency"`
	Count       int     `json:"count"`  // requests issued in the timed part
	Errors      int     `json:"errors"` // of those, how many failed
	FirstError  string  `json:"first_error,omitempty"`
	Warmup      int     `json:"warmup"` // untimed requests issued before
	P50Ms       float64 `json:"p50_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P95Ms       float64 `json:"p95_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	MeanMs      float64 `json:"mean_ms"`
	TimedS      float64 `json:"timed_s"` // wall time of the timed rounds, setup between rounds excluded
	PerSecond   float64 `json:"throughput_per_s"`
	// Wall time of each timed round (creates and deletes run in rounds of at
	// most -round requests; batches in rounds of one).
	RoundsS []float64 `json:"rounds_s,omitempty"`
	// Batch modes: users per request.
	BatchSize int `json:"batch_size,omitempty"`
}

// Percentile by the nearest-rank method: the smallest sample with at least p% of
// the samples at or below it, so every figure reported is one that was measured.
// sorted must be in ascending order; p in (0, 100]. Zero for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// Summarize turns the latencies of the successful requests into a Summary.
// Throughput counts successful requests per second of timed wall time.
func Summarize(latencies []time.Duration, errors int, timed time.Duration) Summary {
	sorted := append([]time.Duration(nil), latencies...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	s := Summary{Count: len(latencies) + errors, Errors: errors, TimedS: timed.Seconds()}
	if len(sorted) > 0 {
		var total time.Duration
		for _, d := range sorted {
			total += d
		}
		s.P50Ms = millis(Percentile(sorted, 50))
		s.P90Ms = millis(Percentile(sorted, 90))
		s.P95Ms = millis(Percentile(sorted, 95))
		s.P99Ms = millis(Percentile(sorted, 99))
		s.MaxMs = millis(sorted[len(sorted)-1])
		s.MeanMs = millis(total / time.Duration(len(sorted)))
	}
	if timed > 0 {
		s.PerSecond = float64(len(sorted)) / timed.Seconds()
	}
	return s
}

func millis(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
