package main

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// countingOp records which requests ran and fails every fifth one.
type countingOp struct {
	mu       sync.Mutex
	rounds   []int
	requests map[[2]int]bool // {round, k}
}

func (o *countingOp) prepareRound(_ context.Context, n int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rounds = append(o.rounds, n)
	return nil
}

func (o *countingOp) do(_ context.Context, _, k int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	key := [2]int{len(o.rounds), k}
	if o.requests[key] {
		panic("request issued twice")
	}
	o.requests[key] = true
	if k%5 == 4 {
		return errors.New("boom")
	}
	return nil
}

func TestRunRoundsSplitsIntoRoundsAndCountsEveryRequestOnce(t *testing.T) {
	op := &countingOp{requests: map[[2]int]bool{}}
	out, err := runRounds(context.Background(), op, 7, 2500, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(op.rounds) != 3 || op.rounds[0] != 1000 || op.rounds[1] != 1000 || op.rounds[2] != 500 {
		t.Errorf("rounds = %v, want [1000 1000 500]", op.rounds)
	}
	if len(op.requests) != 2500 {
		t.Errorf("%d distinct requests, want 2500", len(op.requests))
	}
	if out.errors != 500 || len(out.latencies) != 2000 {
		t.Errorf("errors/successes = %d/%d, want 500/2000", out.errors, len(out.latencies))
	}
	if out.firstError == nil || out.firstError.Error() != "boom" {
		t.Errorf("first error = %v, want boom", out.firstError)
	}
	if out.timed <= 0 {
		t.Errorf("timed = %v, want > 0", out.timed)
	}
}

type failingPrepare struct{}

func (failingPrepare) prepareRound(context.Context, int) error { return errors.New("no database") }
func (failingPrepare) do(context.Context, int, int) error      { return nil }

func TestRunRoundsStopsWhenARoundCannotBePrepared(t *testing.T) {
	if _, err := runRounds(context.Background(), failingPrepare{}, 2, 10, 5); err == nil {
		t.Fatal("want an error when prepareRound fails")
	}
}
