package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// newUser is what one create sends: the fields of CreateUserRequest.
type newUser struct {
	name, email string
	metadata    map[string]string // nil: none sent
}

// creator is anything that can create a user: the API over gRPC or REST, or
// the bare PostgreSQL transaction (pgFloor).
type creator interface {
	create(ctx context.Context, worker int, user newUser) error
}

// batchCreator creates many users in one request (or one transaction).
type batchCreator interface {
	batchCreate(ctx context.Context, worker int, users []newUser) error
}

// reader is the API's read and delete side.
type reader interface {
	list(ctx context.Context) error
	get(ctx context.Context, id string) error
	delete(ctx context.Context, id string) error
}

// changer is the API's day-2 side: update, rotate, registrations.
type changer interface {
	update(ctx context.Context, id, name string) error
	rotate(ctx context.Context, id string) error
	listRegistrations(ctx context.Context) error
}

// applier is Apply's side; each answer says what it did or would do.
type applier interface {
	// apply runs an Apply; whether it changed anything (audit.changed).
	apply(ctx context.Context, note string) (bool, error)
	// preview asks what an Apply would do; whether it would write (would_write).
	preview(ctx context.Context) (bool, error)
}

// api is what the gRPC and REST clients both do.
type api interface {
	creator
	batchCreator
	reader
	changer
	applier
}

// users names the users of a run: unique emails (the tag is unique per run),
// optionally with metadata.
type users struct {
	tag      string
	metadata bool
	seq      atomic.Int64
}

func (u *users) next() newUser {
	i := u.seq.Add(1)
	user := newUser{name: fmt.Sprintf("Bench User %d", i), email: fmt.Sprintf("bench-%s-%d@example.com", u.tag, i)}
	if u.metadata {
		// Two entries, as a directory sync might set.
		user.metadata = map[string]string{"team": "bench", "seat": fmt.Sprintf("S-%d", i)}
	}
	return user
}

// createOp creates users with unique emails; with emptyFirst, each round
// starts on empty tables (the pool has room for 1000).
type createOp struct {
	api        creator
	db         *database
	emptyFirst bool
	users      *users
}

func (o *createOp) prepareRound(ctx context.Context, _ int) error {
	if !o.emptyFirst {
		return nil
	}
	return o.db.empty(ctx)
}

func (o *createOp) do(ctx context.Context, w, _ int) error {
	return o.api.create(ctx, w, o.users.next())
}

// batchOp creates `size` users per request, each request on emptied tables
// (it runs in rounds of one).
type batchOp struct {
	api   batchCreator
	db    *database
	size  int
	users *users
}

func (o *batchOp) prepareRound(ctx context.Context, _ int) error { return o.db.empty(ctx) }

func (o *batchOp) do(ctx context.Context, w, _ int) error {
	batch := make([]newUser, o.size)
	for i := range batch {
		batch[i] = o.users.next()
	}
	return o.api.batchCreate(ctx, w, batch)
}

type listOp struct{ api reader }

func (o *listOp) prepareRound(context.Context, int) error { return nil }
func (o *listOp) do(ctx context.Context, _, _ int) error  { return o.api.list(ctx) }

type registrationsOp struct{ api changer }

func (o *registrationsOp) prepareRound(context.Context, int) error { return nil }
func (o *registrationsOp) do(ctx context.Context, _, _ int) error {
	return o.api.listRegistrations(ctx)
}

// existingUsers reads the ids of the users there are before each round.
type existingUsers struct {
	db  *database
	ids []string
}

func (e *existingUsers) prepareRound(ctx context.Context, _ int) error {
	ids, err := e.db.userIDs(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("no users: create some first")
	}
	e.ids = ids
	return nil
}

func (e *existingUsers) id(k int) string { return e.ids[k%len(e.ids)] }

// getOp reads the users there are, round-robin.
type getOp struct {
	existingUsers
	api reader
}

func (o *getOp) do(ctx context.Context, _, k int) error { return o.api.get(ctx, o.id(k)) }

// updateOp renames the users there are, round-robin, each time to a name not
// used before, so every update changes a field (the server skips the write of
// an update that changes nothing).
type updateOp struct {
	existingUsers
	api changer
	tag string
	seq atomic.Int64
}

func (o *updateOp) do(ctx context.Context, _, k int) error {
	return o.api.update(ctx, o.id(k), fmt.Sprintf("Bench Renamed %s %d", o.tag, o.seq.Add(1)))
}

// rotateOp gives the users there are new SIP passwords, round-robin.
type rotateOp struct {
	existingUsers
	api changer
}

func (o *rotateOp) do(ctx context.Context, _, k int) error { return o.api.rotate(ctx, o.id(k)) }

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

// applyNote marks the load generator's Applies in the audit log.
const applyNote = "tests/bench loadgen"

// applyOp runs Applies one after another (the server takes them one at a
// time); an answer whose `changed` is not the expected one counts as an error:
// a no-op Apply that wrote, or a changing one that did not, is not the figure
// it claims to be.
type applyOp struct {
	api         applier
	wantChanged bool
}

func (o *applyOp) prepareRound(context.Context, int) error { return nil }
func (o *applyOp) do(ctx context.Context, _, _ int) error {
	changed, err := o.api.apply(ctx, applyNote)
	if err == nil && changed != o.wantChanged {
		err = fmt.Errorf("Apply answered changed=%v, want %v", changed, o.wantChanged)
	}
	return err
}

// previewOp asks for previews; an answer whose would_write is not the
// expected one counts as an error.
type previewOp struct {
	api       applier
	wantWrite bool
}

func (o *previewOp) prepareRound(context.Context, int) error { return nil }
func (o *previewOp) do(ctx context.Context, _, _ int) error {
	wouldWrite, err := o.api.preview(ctx)
	if err == nil && wouldWrite != o.wantWrite {
		err = fmt.Errorf("preview answered would_write=%v, want %v", wouldWrite, o.wantWrite)
	}
	return err
}
