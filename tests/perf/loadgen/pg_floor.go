package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The floor of a create: exactly the statements and transaction shape of
// PgUserStore::CreateUsers (server/store/pg_user_store.cc), which serves both
// CreateUser (one user) and BatchCreateUsers, sent the way libpq's
// PQexecParams sends them (which libpqxx's exec_params uses): BEGIN and COMMIT
// as simple queries, the others through the extended protocol as one unnamed
// statement with text parameters whose types the server infers (pgx's
// QueryExecModeExec). tests/bench checks with pg_stat_statements that the floor
// and the server ran the same statements; keep this in step with the server.
const (
	extensionAllocationLockKey = 0x7062780002 // kExtensionAllocationLockKey, server/store/advisory_locks.h
	firstExtension             = 1000
	lastExtension              = 1999

	// The change audit's action of a create and of a batch create
	// (server/core/user_changes.h).
	actionCreate      = "user.create"
	actionBatchCreate = "user.batch_create"

	userColumns = "u.id::text, u.tenant_id::text, u.name, u.email, u.metadata::text, " +
		"e.number, (extract(epoch FROM u.created_at) * 1000000)::bigint, " +
		"(extract(epoch FROM e.allocated_at) * 1000000)::bigint"
	// Which of the emails are taken, and the lowest free numbers.
	createCheckSQL = "SELECT (SELECT coalesce(array_to_json(array_agg(lower(email))), '[]')::text FROM users" +
		"         WHERE tenant_id = (SELECT id FROM tenants) AND lower(email) IN" +
		"           (SELECT lower(value) FROM jsonb_array_elements_text($1::jsonb)))," +
		"       (SELECT coalesce(array_to_json(array_agg(n ORDER BY n)), '[]')::text FROM" +
		"         (SELECT n FROM generate_series($2::int, $3::int) AS n" +
		"          WHERE NOT EXISTS (SELECT 1 FROM extensions WHERE number = n)" +
		"          ORDER BY n LIMIT $4) AS free)"
	// Every row in one statement: users, extensions, change events.
	createInsertSQL = "WITH input AS (" +
		"  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, name text," +
		"    email text, metadata jsonb, number int, sealed text, changes text))," +
		" u AS (" +
		"  INSERT INTO users (id, tenant_id, name, email, metadata)" +
		"  SELECT id, (SELECT id FROM tenants), name, email, metadata FROM input" +
		"  RETURNING *)," +
		" e AS (" +
		"  INSERT INTO extensions (number, user_id, sip_secret_sealed)" +
		"  SELECT number, id, sealed FROM input" +
		"  RETURNING *)," +
		" events AS (" +
		"  INSERT INTO user_change_events" +
		"   (actor_key_id, actor_key_name, request_id, action, user_id, extension, changes)" +
		"  SELECT $2, $3, $4, $5, id, number, changes::jsonb FROM input ORDER BY number)" +
		" SELECT " + userColumns + " FROM u JOIN e ON e.user_id = u.id ORDER BY e.number"
)

// benchActor stands for the API key a change is recorded under: values of
// the sizes the server writes (a key's UUID, a name, a request id).
var benchActor = struct{ keyID, keyName, requestID string }{
	keyID: newUUID(), keyName: "bench-admin", requestID: hex.EncodeToString(randomBytes(16)),
}

// pgFloor issues the create transaction straight to PostgreSQL, one
// connection per worker (a client of its own each, like the server's pooled
// connections).
type pgFloor struct {
	conns []*pgx.Conn
}

func openPgFloor(ctx context.Context, url string, workers int) (*pgFloor, error) {
	conns, err := openFloorConns(ctx, url, workers)
	if err != nil {
		return nil, err
	}
	return &pgFloor{conns: conns}, nil
}

// openFloorConns opens one connection per worker with the session settings
// the server's pool gives each connection.
func openFloorConns(ctx context.Context, url string, workers int) ([]*pgx.Conn, error) {
	config, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	config.DefaultQueryExecMode = pgx.QueryExecModeExec
	config.RuntimeParams["statement_timeout"] = "5000"
	config.RuntimeParams["application_name"] = "pbx-bench-floor"
	var conns []*pgx.Conn
	for range workers {
		conn, err := pgx.ConnectConfig(ctx, config)
		if err != nil {
			closeConns(ctx, conns)
			return nil, fmt.Errorf("connecting to %s: %w", redactURL(url), err)
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

func closeConns(ctx context.Context, conns []*pgx.Conn) {
	for _, conn := range conns {
		_ = conn.Close(ctx)
	}
}

func (f *pgFloor) close(ctx context.Context) { closeConns(ctx, f.conns) }

func (f *pgFloor) create(ctx context.Context, w int, user newUser) error {
	return f.createUsers(ctx, w, []newUser{user}, actionCreate)
}

func (f *pgFloor) batchCreate(ctx context.Context, w int, users []newUser) error {
	return f.createUsers(ctx, w, users, actionBatchCreate)
}

// inTransaction runs body between BEGIN and COMMIT (ROLLBACK when it fails),
// each sent as a simple query, as libpqxx sends them.
func inTransaction(ctx context.Context, conn *pgx.Conn, body func() error) error {
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	err := body()
	if err == nil {
		_, err = conn.Exec(ctx, "COMMIT")
	}
	if err != nil {
		_, _ = conn.Exec(ctx, "ROLLBACK")
	}
	return err
}

// createRow is one element of the insert's JSON parameter, as the server
// builds it.
type createRow struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Metadata map[string]string `json:"metadata"`
	Number   int               `json:"number"`
	Sealed   string            `json:"sealed"`
	Changes  string            `json:"changes"`
}

func (f *pgFloor) createUsers(ctx context.Context, w int, users []newUser, action string) error {
	conn := f.conns[w]
	emails := make([]string, len(users))
	for i, user := range users {
		emails[i] = user.email
	}
	emailsJSON, err := json.Marshal(emails)
	if err != nil {
		return err
	}
	return inTransaction(ctx, conn, func() error {
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(extensionAllocationLockKey)); err != nil {
			return err
		}
		var takenJSON, freeJSON string
		if err := conn.QueryRow(ctx, createCheckSQL, string(emailsJSON), firstExtension, lastExtension,
			len(users)).Scan(&takenJSON, &freeJSON); err != nil {
			return err
		}
		var taken []string
		var numbers []int
		if err := json.Unmarshal([]byte(takenJSON), &taken); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(freeJSON), &numbers); err != nil {
			return err
		}
		if len(taken) > 0 {
			return fmt.Errorf("emails taken: %v", taken)
		}
		if len(numbers) < len(users) {
			return errors.New("extension pool exhausted")
		}
		// Like the server, a fresh secret per user, sealed and bound to the
		// user's id, which is made here.
		rows := make([]createRow, len(users))
		for i, user := range users {
			id := newUUID()
			sealed, err := sealLikeTheServer(sipSecret(), id)
			if err != nil {
				return err
			}
			rows[i] = createRow{ID: id, Name: user.name, Email: user.email, Metadata: metadataOrEmpty(user.metadata),
				Number: numbers[i], Sealed: sealed, Changes: createdChanges(user, numbers[i])}
		}
		rowsJSON, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		result, err := conn.Query(ctx, createInsertSQL, string(rowsJSON), benchActor.keyID, benchActor.keyName,
			benchActor.requestID, action)
		if err != nil {
			return err
		}
		created := 0
		for result.Next() {
			_ = result.RawValues()
			created++
		}
		if err := result.Err(); err != nil {
			return err
		}
		if created != len(users) {
			return fmt.Errorf("created %d users, want %d", created, len(users))
		}
		return nil
	})
}

func metadataOrEmpty(metadata map[string]string) map[string]string {
	if metadata == nil {
		return map[string]string{}
	}
	return metadata
}

// createdChanges is the change event of a create as the server records it
// (ChangesToJson(CreatedFields(user))): every recorded field, old null.
func createdChanges(user newUser, number int) string {
	type change struct {
		Field string `json:"field"`
		New   any    `json:"new"`
		Old   any    `json:"old"`
	}
	out, _ := json.Marshal([]change{{"name", user.name, nil}, {"email", user.email, nil},
		{"metadata", metadataOrEmpty(user.metadata), nil}, {"extension", number, nil}})
	return string(out)
}

// floorKey seals the floor's secrets: a key of its own (the floor's rows are
// never read back), used exactly as server/store/secret_box.cc uses the
// server's.
var floorKey = randomBytes(32)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

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
	nonce := randomBytes(gcm.NonceSize())
	box := gcm.Seal(nonce, nonce, []byte(secret), []byte("pbx.extensions.sip_secret:"+userID))
	keyID := sha256.Sum256(floorKey)
	return "v1." + hex.EncodeToString(keyID[:8]) + "." + base64.RawURLEncoding.EncodeToString(box), nil
}

// newUUID: a random (version 4) UUID, as the server makes a user's id.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// sipSecret: 24 characters of [A-Za-z0-9] like the server's (the slight modulo bias
// does not matter for a benchmark).
func sipSecret() string {
	raw := randomBytes(24)
	out := make([]byte, len(raw))
	for i, b := range raw {
		out[i] = secretAlphabet[int(b)%len(secretAlphabet)]
	}
	return string(out)
}
