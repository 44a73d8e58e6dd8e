package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// database is the load generator's own connection for the untimed work
// between rounds. The extension pool holds 1000 numbers, so at most 1000
// users exist at once: creates run in rounds on emptied tables.
type database struct {
	conn *pgx.Conn
}

func openDatabase(ctx context.Context, url string) (*database, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", redactURL(url), err)
	}
	return &database{conn: conn}, nil
}

func (d *database) close(ctx context.Context) { _ = d.conn.Close(ctx) }

// empty deletes every user (their extensions go with them) and vacuums, so each
// round starts from the same table state however many rounds ran before.
func (d *database) empty(ctx context.Context) error {
	if _, err := d.conn.Exec(ctx, "DELETE FROM users"); err != nil {
		return fmt.Errorf("emptying users: %w", err)
	}
	if _, err := d.conn.Exec(ctx, "VACUUM users, extensions"); err != nil {
		return fmt.Errorf("vacuuming: %w", err)
	}
	return nil
}

// fill replaces every user with n users (extensions 1000 up) in one statement
// and returns their ids: the setup of a delete round, far faster than n creates.
func (d *database) fill(ctx context.Context, n int, tag string) ([]string, error) {
	if err := d.empty(ctx); err != nil {
		return nil, err
	}
	rows, err := d.conn.Query(ctx, `
		WITH src AS (SELECT g, gen_random_uuid() AS id FROM generate_series(0, $1::int - 1) AS g),
		     u AS (INSERT INTO users (id, tenant_id, name, email)
		           SELECT id, (SELECT id FROM tenants), 'Bench User ' || g,
		                  'bench-fill-' || $2::text || '-' || g || '@example.com' FROM src)
		INSERT INTO extensions (number, user_id, sip_secret)
		SELECT 1000 + g, id, md5(id::text) FROM src
		RETURNING user_id::text`, n, tag)
	if err != nil {
		return nil, fmt.Errorf("filling %d users: %w", n, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("filling %d users: %w", n, err)
	}
	return ids, nil
}

// userIDs returns the ids of the users there are.
func (d *database) userIDs(ctx context.Context) ([]string, error) {
	rows, err := d.conn.Query(ctx, "SELECT id::text FROM users ORDER BY id")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// redactURL hides a password in a database URL for error messages.
func redactURL(url string) string {
	config, err := pgx.ParseConfig(url)
	if err != nil {
		return "(unparsable database URL)"
	}
	return fmt.Sprintf("postgresql://%s@%s:%d/%s", config.User, config.Host, config.Port, config.Database)
}
