package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The floor of a create: exactly the statements and transaction shape of
// PgUserStore::CreateUser (server/store/pg_user_store.cc), sent the way libpq's
// PQexecParams sends them (which libpqxx's exec_params uses): BEGIN and COMMIT
// as simple queries, the others through the extended protocol as one unnamed
// statement with text parameters whose types the server infers (pgx's
// QueryExecModeExec). tests/bench checks with pg_stat_statements that the floor
// and the server ran the same statements; keep this in step with the server.
const (
	extensionAllocationLockKey = 0x7062780002 // kExtensionAllocationLockKey, server/store/advisory_locks.h
	firstExtension             = 1000
	lastExtension              = 1999

	userColumns = "u.id::text, u.tenant_id::text, u.name, u.email, u.metadata::text, " +
		"e.number, (extract(epoch FROM u.created_at) * 1000000)::bigint, " +
		"(extract(epoch FROM e.allocated_at) * 1000000)::bigint"
	createUserSQL = "WITH free AS (" +
		"  SELECT n FROM generate_series($1::int, $2::int) AS n" +
		"  WHERE NOT EXISTS (SELECT 1 FROM extensions WHERE number = n)" +
		"  ORDER BY n LIMIT 1)," +
		" u AS (" +
		"  INSERT INTO users (id, tenant_id, name, email, metadata)" +
		"  SELECT $7::uuid, (SELECT id FROM tenants), $3, $4, $5::jsonb FROM free" +
		"  RETURNING *)," +
		" e AS (" +
		"  INSERT INTO extensions (number, user_id, sip_secret_sealed)" +
		"  SELECT free.n, u.id, $6 FROM free, u" +
		"  RETURNING *)" +
		" SELECT " + userColumns + " FROM u JOIN e ON e.user_id = u.id"
	// What the server stores for a user without metadata.
	emptyMetadataJSON = "{}"
)

// pgFloor issues the create transaction straight to PostgreSQL, one
// connection per worker (a client of its own each, like the server's pooled
// connections).
type pgFloor struct {
	conns []*pgx.Conn
}

func openPgFloor(ctx context.Context, url string, workers int) (*pgFloor, error) {
	config, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	config.DefaultQueryExecMode = pgx.QueryExecModeExec
	// The session settings the server's pool gives each connection.
	config.RuntimeParams["statement_timeout"] = "5000"
	config.RuntimeParams["application_name"] = "pbx-bench-floor"
	floor := &pgFloor{}
	for range workers {
		conn, err := pgx.ConnectConfig(ctx, config)
		if err != nil {
			floor.close(ctx)
			return nil, fmt.Errorf("connecting to %s: %w", redactURL(url), err)
		}
		floor.conns = append(floor.conns, conn)
	}
	return floor, nil
}

func (f *pgFloor) close(ctx context.Context) {
	for _, conn := range f.conns {
		_ = conn.Close(ctx)
	}
}

func (f *pgFloor) create(ctx context.Context, w int, name, email string) error {
	conn := f.conns[w]
	// Like the server, a fresh secret per user, sealed, and the user's id made
	// here (the sealed secret is bound to it); the server does the same work
	// before its transaction.
	id := newUUID()
	sealed, err := sealLikeTheServer(sipSecret(), id)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	err = func() error {
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(extensionAllocationLockKey)); err != nil {
			return err
		}
		rows, err := conn.Query(ctx, createUserSQL, firstExtension, lastExtension, name, email,
			emptyMetadataJSON, sealed, id)
		if err != nil {
			return err
		}
		created := 0
		for rows.Next() {
			_ = rows.RawValues()
			created++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if created == 0 {
			return errors.New("extension pool exhausted")
		}
		_, err = conn.Exec(ctx, "COMMIT")
		return err
	}()
	if err != nil {
		_, _ = conn.Exec(ctx, "ROLLBACK")
	}
	return err
}

// floorKey seals the floor's secrets: a key of its own (the floor's rows are
// never read back), used exactly as server/store/secret_box.cc uses the
// server's.
var floorKey = func() []byte {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return key
}()

// sealLikeTheServer: AES-256-GCM with a fresh nonce and the user as
// associated data, in the server's format "v1.<key id>.<base64url>".
func sealLikeTheServer(secret, userID string) (string, error) {
	block, err := aes.NewCipher(floorKey)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	box := gcm.Seal(nonce, nonce, []byte(secret), []byte("pbx.extensions.sip_secret:"+userID))
	keyID := sha256.Sum256(floorKey)
	return "v1." + hex.EncodeToString(keyID[:8]) + "." + base64.RawURLEncoding.EncodeToString(box), nil
}

// newUUID: a random (version 4) UUID, as the server makes a user's id.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// sipSecret: 24 characters of [A-Za-z0-9] like the server's (the slight modulo bias
// does not matter for a benchmark).
func sipSecret() string {
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	out := make([]byte, len(raw))
	for i, b := range raw {
		out[i] = secretAlphabet[int(b)%len(secretAlphabet)]
	}
	return string(out)
}
