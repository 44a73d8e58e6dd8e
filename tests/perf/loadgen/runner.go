package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// operation is one kind of request the load generator times.
type operation interface {
	// prepareRound readies the database for the next n requests; never timed
	// (it empties the tables before creates, refills them before deletes).
	prepareRound(ctx context.Context, n int) error
	// do issues request k (0-based within the round) from worker w.
	do(ctx context.Context, w, k int) error
}

// outcome is what the workers of a run measured.
type outcome struct {
	latencies  []time.Duration // successful requests only
	errors     int
	firstError error
	timed      time.Duration
	rounds     []time.Duration // wall time of each round
}

// runRounds issues total requests from `workers` concurrent workers, in rounds
// of at most roundSize with op.prepareRound before each. Only the rounds
// themselves are timed. Workers take the next request from a shared counter,
// so a slow request never holds up the others.
func runRounds(ctx context.Context, op operation, workers, total, roundSize int) (outcome, error) {
	var out outcome
	for done := 0; done < total; {
		n := min(roundSize, total-done)
		if err := op.prepareRound(ctx, n); err != nil {
			return out, fmt.Errorf("preparing a round of %d: %w", n, err)
		}
		latencies, errors, firstError, timed := runRound(ctx, op, workers, n)
		out.latencies = append(out.latencies, latencies...)
		out.errors += errors
		if out.firstError == nil {
			out.firstError = firstError
		}
		out.timed += timed
		out.rounds = append(out.rounds, timed)
		done += n
	}
	return out, nil
}

func runRound(ctx context.Context, op operation, workers, n int) ([]time.Duration, int, error, time.Duration) {
	var next atomic.Int64
	perWorker := make([][]time.Duration, workers)
	errorsPerWorker := make([]int, workers)
	var firstError error
	var firstErrorOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				t0 := time.Now()
				err := op.do(ctx, w, k)
				elapsed := time.Since(t0)
				if err != nil {
					errorsPerWorker[w]++
					firstErrorOnce.Do(func() { firstError = err })
					continue
				}
				perWorker[w] = append(perWorker[w], elapsed)
			}
		}()
	}
	wg.Wait()
	timed := time.Since(start)
	var latencies []time.Duration
	errors := 0
	for w := range workers {
		latencies = append(latencies, perWorker[w]...)
		errors += errorsPerWorker[w]
	}
	return latencies, errors, firstError, timed
}
