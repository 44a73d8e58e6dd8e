package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// rowsFloor is the reference of a batch create: the rows a batch stores,
// inserted straight into PostgreSQL in one transaction and nothing else. Per
// user: a users row (id, tenant, name, email, metadata), an extensions row
// (number, user, a sealed secret made exactly as the server seals one) and a
// user_change_events row (the actor, action user.batch_create, the change
// JSON the server records for a create). Timed, as for the server: making the
// ids, secrets and seals, then BEGIN, one INSERT per table (the rows as array
// parameters, unnest), COMMIT: five round trips, like the server's
// transaction. Unlike the server it checks nothing (no email lookup, no
// search for free numbers: it runs on emptied tables, so it takes the numbers
// 1000 up, and no allocation lock) and reads nothing back.
type rowsFloor struct {
	conns []*pgx.Conn
}

const (
	rowsUsersSQL = "INSERT INTO users (id, tenant_id, name, email, metadata)" +
		" SELECT r.id, (SELECT id FROM tenants), r.name, r.email, r.metadata" +
		" FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) AS r(id, name, email, metadata)"
	rowsExtensionsSQL = "INSERT INTO extensions (number, user_id, sip_secret_sealed)" +
		" SELECT * FROM unnest($1::int[], $2::uuid[], $3::text[])"
	rowsEventsSQL = "INSERT INTO user_change_events" +
		" (actor_key_id, actor_key_name, request_id, action, user_id, extension, changes)" +
		" SELECT $1, $2, $3, $4, r.user_id, r.number, r.changes" +
		" FROM unnest($5::uuid[], $6::int[], $7::jsonb[]) AS r(user_id, number, changes)"
)

func openRowsFloor(ctx context.Context, url string, workers int) (*rowsFloor, error) {
	conns, err := openFloorConns(ctx, url, workers)
	if err != nil {
		return nil, err
	}
	return &rowsFloor{conns: conns}, nil
}

func (f *rowsFloor) close(ctx context.Context) { closeConns(ctx, f.conns) }

func (f *rowsFloor) batchCreate(ctx context.Context, w int, users []newUser) error {
	if len(users) > lastExtension-firstExtension+1 {
		return errors.New("more users than the pool holds")
	}
	n := len(users)
	ids, names, emails, metadata := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	numbers, sealed, changes := make([]int, n), make([]string, n), make([]string, n)
	for i, user := range users {
		ids[i], names[i], emails[i], numbers[i] = newUUID(), user.name, user.email, firstExtension+i
		meta, err := jsonText(metadataOrEmpty(user.metadata))
		if err != nil {
			return err
		}
		metadata[i] = meta
		if sealed[i], err = sealLikeTheServer(sipSecret(), ids[i]); err != nil {
			return err
		}
		changes[i] = createdChanges(user, numbers[i])
	}
	conn := f.conns[w]
	return inTransaction(ctx, conn, func() error {
		steps := []struct {
			sql  string
			args []any
		}{
			{rowsUsersSQL, []any{ids, names, emails, metadata}},
			{rowsExtensionsSQL, []any{numbers, ids, sealed}},
			{rowsEventsSQL, []any{benchActor.keyID, benchActor.keyName, benchActor.requestID, actionBatchCreate,
				ids, numbers, changes}},
		}
		for _, step := range steps {
			tag, err := conn.Exec(ctx, step.sql, step.args...)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != int64(n) {
				return fmt.Errorf("inserted %d rows, want %d: %.60s", tag.RowsAffected(), n, step.sql)
			}
		}
		return nil
	})
}

func jsonText(v any) (string, error) {
	out, err := json.Marshal(v)
	return string(out), err
}
