package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// creator is anything that can create a user: the API over gRPC or REST, or
// the bare PostgreSQL transaction (pgFloor).
type creator interface {
	create(ctx context.Context, worker int, name, email string) error
}

// reader is the API's read and delete side.
type reader interface {
	list(ctx context.Context) error
	get(ctx context.Context, id string) error
	delete(ctx context.Context, id string) error
}

// createOp creates users with unique emails; with emptyFirst, each round
// starts on empty tables (the pool has room for 1000).
type createOp struct {
	api        creator
	db         *database
	emptyFirst bool
	tag        string // unique per run, so emails never collide across runs
	seq        atomic.Int64
}

func (o *createOp) prepareRound(ctx context.Context, _ int) error {
	if !o.emptyFirst {
		return nil
	}
	return o.db.empty(ctx)
}

func (o *createOp) do(ctx context.Context, w, _ int) error {
	i := o.seq.Add(1)
	return o.api.create(ctx, w, fmt.Sprintf("Bench User %d", i), fmt.Sprintf("bench-%s-%d@example.com", o.tag, i))
}

type listOp struct{ api reader }

func (o *listOp) prepareRound(context.Context, int) error { return nil }
func (o *listOp) do(ctx context.Context, _, _ int) error  { return o.api.list(ctx) }

// getOp reads the users there are, round-robin.
type getOp struct {
	api reader
	db  *database
	ids []string
}

func (o *getOp) prepareRound(ctx context.Context, _ int) error {
	ids, err := o.db.userIDs(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("no users to get: create some first")
	}
	o.ids = ids
	return nil
}

func (o *getOp) do(ctx context.Context, _, k int) error { return o.api.get(ctx, o.ids[k%len(o.ids)]) }

// deleteOp deletes each user of a freshly filled round once.
type deleteOp struct {
	api reader
	db  *database
	tag string
	ids []string
}

func (o *deleteOp) prepareRound(ctx context.Context, n int) error {
	ids, err := o.db.fill(ctx, n, o.tag)
	if err != nil {
		return err
	}
	o.ids = ids
	return nil
}

func (o *deleteOp) do(ctx context.Context, _, k int) error { return o.api.delete(ctx, o.ids[k]) }
