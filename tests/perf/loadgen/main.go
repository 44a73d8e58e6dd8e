// Command loadgen is tests/bench's load generator: it times one kind of
// request at a fixed concurrency and prints a JSON Summary.
//
//	loadgen -mode create-grpc -c 16 -n 2000 -warmup 200 -grpc 127.0.0.1:50051 -db postgresql://...
//
// Modes (VERB-TRANSPORT; transports grpc and rest, plus the references pg and
// rows where named):
//
//	create-grpc|rest|pg   one user per request; pg: the server's create transaction
//	                      straight to PostgreSQL (the floor)
//	batch-grpc|rest|pg|rows  -batch users per request, each on emptied tables;
//	                      pg: the server's transaction, rows: the same rows
//	                      inserted by bare INSERTs (rows_floor.go)
//	list-*, get-*, update-*, rotate-*, delete-*, registrations-*  (grpc, rest)
//	apply-*, preview-*    POST /apply (ApplyService/Apply), POST /apply:preview
//	                      (PreviewApply), each answer checked against -expect:
//	                      apply: changed|unchanged (audit.changed), preview:
//	                      write|no-write (would_write); a mismatch is an error
//
// Every mode needs -db (the portal's database) for the untimed work between
// rounds; gRPC modes need -grpc, REST modes -http.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

type config struct {
	mode       string
	workers    int
	count      int
	warmup     int
	roundSize  int
	grpcTarget string
	httpBase   string
	dbURL      string
	tokenFile  string
	emptyFirst bool
	batchSize  int
	metadata   bool
	expect     string
	timeout    time.Duration
}

func parseFlags() (config, error) {
	var c config
	flag.StringVar(&c.mode, "mode", "", "what to time (see the package comment)")
	flag.IntVar(&c.workers, "c", 1, "concurrent workers")
	flag.IntVar(&c.count, "n", 1000, "timed requests")
	flag.IntVar(&c.warmup, "warmup", 100, "untimed requests first")
	flag.IntVar(&c.roundSize, "round", 1000, "create/delete: requests per round (the pool holds 1000 extensions)")
	flag.StringVar(&c.grpcTarget, "grpc", "", "server address host:port")
	flag.StringVar(&c.httpBase, "http", "", "gateway base URL")
	flag.StringVar(&c.dbURL, "db", "", "the portal's database URL")
	flag.StringVar(&c.tokenFile, "token-file", "", "grpc and rest modes: a file holding the API token to send")
	flag.BoolVar(&c.emptyFirst, "empty", true, "create: delete every user before each round")
	flag.IntVar(&c.batchSize, "batch", 1000, "batch: users per request")
	flag.BoolVar(&c.metadata, "metadata", false, "create, batch: send two metadata entries with every user")
	flag.StringVar(&c.expect, "expect", "", "apply: changed|unchanged; preview: write|no-write (required for both)")
	flag.DurationVar(&c.timeout, "timeout", 15*time.Minute, "give up after this long")
	flag.Parse()
	switch {
	case c.workers < 1 || c.count < 1 || c.warmup < 0 || c.roundSize < 1 || c.batchSize < 1:
		return c, errors.New("-c, -n, -round and -batch must be positive, -warmup not negative")
	case c.dbURL == "":
		return c, errors.New("-db is required")
	case !isReference(c.mode) && c.tokenFile == "":
		return c, errors.New("-token-file is required for " + c.mode)
	case strings.HasSuffix(c.mode, "-grpc") && c.grpcTarget == "":
		return c, errors.New("-grpc is required for " + c.mode)
	case strings.HasSuffix(c.mode, "-rest") && c.httpBase == "":
		return c, errors.New("-http is required for " + c.mode)
	case strings.HasPrefix(c.mode, "apply-") && c.expect != "changed" && c.expect != "unchanged":
		return c, errors.New("-expect changed|unchanged is required for " + c.mode)
	case strings.HasPrefix(c.mode, "preview-") && c.expect != "write" && c.expect != "no-write":
		return c, errors.New("-expect write|no-write is required for " + c.mode)
	}
	return c, nil
}

func run(ctx context.Context, c config) (Summary, error) {
	db, err := openDatabase(ctx, c.dbURL)
	if err != nil {
		return Summary{}, err
	}
	defer db.close(ctx)
	tag := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())

	verb, transport, _ := strings.Cut(c.mode, "-")
	token := ""
	if c.tokenFile != "" {
		raw, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return Summary{}, err
		}
		token = strings.TrimSpace(string(raw))
	}
	var client api           // grpc, rest
	var creates creator      // grpc, rest, pg
	var batches batchCreator // grpc, rest, pg, rows
	switch transport {
	case "grpc":
		g, err := dialGRPC(c.grpcTarget, token)
		if err != nil {
			return Summary{}, err
		}
		defer g.close()
		client = g
	case "rest":
		r := newRESTAPI(c.httpBase, c.workers, token)
		defer r.close()
		client = r
	case "pg":
		if verb != "create" && verb != "batch" {
			return Summary{}, fmt.Errorf("unknown mode %q", c.mode)
		}
		floor, err := openPgFloor(ctx, c.dbURL, c.workers)
		if err != nil {
			return Summary{}, err
		}
		defer floor.close(ctx)
		creates, batches = floor, floor
	case "rows":
		if verb != "batch" {
			return Summary{}, fmt.Errorf("unknown mode %q", c.mode)
		}
		floor, err := openRowsFloor(ctx, c.dbURL, c.workers)
		if err != nil {
			return Summary{}, err
		}
		defer floor.close(ctx)
		batches = floor
	default:
		return Summary{}, fmt.Errorf("unknown mode %q", c.mode)
	}
	if client != nil {
		creates, batches = client, client
	}

	var op operation
	roundSize := c.roundSize
	names := &users{tag: tag, metadata: c.metadata}
	existing := existingUsers{db: db}
	switch {
	case verb == "create":
		op = &createOp{api: creates, db: db, emptyFirst: c.emptyFirst, users: names}
	case verb == "batch":
		op, roundSize = &batchOp{api: batches, db: db, size: c.batchSize, users: names}, 1
	case client == nil:
		return Summary{}, fmt.Errorf("unknown mode %q", c.mode)
	case verb == "delete":
		op = &deleteOp{api: client, db: db, tag: tag}
	case verb == "list":
		op, roundSize = &listOp{api: client}, c.count+c.warmup
	case verb == "registrations":
		op, roundSize = &registrationsOp{api: client}, c.count+c.warmup
	case verb == "get":
		op, roundSize = &getOp{existingUsers: existing, api: client}, c.count+c.warmup
	case verb == "update":
		op, roundSize = &updateOp{existingUsers: existing, api: client, tag: tag}, c.count+c.warmup
	case verb == "rotate":
		op, roundSize = &rotateOp{existingUsers: existing, api: client}, c.count+c.warmup
	case verb == "apply":
		op, roundSize = &applyOp{api: client, wantChanged: c.expect == "changed"}, c.count+c.warmup
	case verb == "preview":
		op, roundSize = &previewOp{api: client, wantWrite: c.expect == "write"}, c.count+c.warmup
	default:
		return Summary{}, fmt.Errorf("unknown mode %q", c.mode)
	}

	if c.warmup > 0 {
		if _, err := runRounds(ctx, op, c.workers, c.warmup, roundSize); err != nil {
			return Summary{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	out, err := runRounds(ctx, op, c.workers, c.count, roundSize)
	if err != nil {
		return Summary{}, err
	}
	s := Summarize(out.latencies, out.errors, out.timed)
	s.Mode, s.Concurrency, s.Warmup = c.mode, c.workers, c.warmup
	switch verb {
	case "create", "delete":
		for _, round := range out.rounds {
			s.RoundsS = append(s.RoundsS, round.Seconds())
		}
	case "batch":
		s.BatchSize = c.batchSize
	}
	if out.firstError != nil {
		s.FirstError = out.firstError.Error()
	}
	return s, nil
}

// isReference: the modes that talk to PostgreSQL only (no token needed).
func isReference(mode string) bool {
	return strings.HasSuffix(mode, "-pg") || strings.HasSuffix(mode, "-rows")
}

func main() {
	c, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	summary, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(summary); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
