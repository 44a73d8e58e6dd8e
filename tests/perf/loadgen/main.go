// Command loadgen is tests/bench's load generator: it times one kind of
// request at a fixed concurrency and prints a JSON Summary.
//
//	loadgen -mode create-grpc -c 16 -n 2000 -warmup 200 -grpc 127.0.0.1:50051 -db postgresql://...
//
// Modes: create-grpc, create-rest, create-pg (the same transaction straight
// to PostgreSQL: the floor), list-grpc, list-rest, get-grpc, get-rest,
// delete-grpc, delete-rest. Every mode needs -db (the portal's database) for
// the untimed work between rounds; gRPC modes need -grpc, REST modes -http.
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
	flag.DurationVar(&c.timeout, "timeout", 15*time.Minute, "give up after this long")
	flag.Parse()
	switch {
	case c.workers < 1 || c.count < 1 || c.warmup < 0 || c.roundSize < 1:
		return c, errors.New("-c, -n and -round must be positive, -warmup not negative")
	case c.dbURL == "":
		return c, errors.New("-db is required")
	case !strings.HasSuffix(c.mode, "-pg") && c.tokenFile == "":
		return c, errors.New("-token-file is required for " + c.mode)
	case strings.HasSuffix(c.mode, "-grpc") && c.grpcTarget == "":
		return c, errors.New("-grpc is required for " + c.mode)
	case strings.HasSuffix(c.mode, "-rest") && c.httpBase == "":
		return c, errors.New("-http is required for " + c.mode)
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
	var creates creator
	var reads reader
	switch transport {
	case "grpc":
		api, err := dialGRPC(c.grpcTarget, token)
		if err != nil {
			return Summary{}, err
		}
		defer api.close()
		creates, reads = api, api
	case "rest":
		api := newRESTAPI(c.httpBase, c.workers, token)
		defer api.close()
		creates, reads = api, api
	case "pg":
		if verb != "create" {
			return Summary{}, fmt.Errorf("unknown mode %q", c.mode)
		}
		floor, err := openPgFloor(ctx, c.dbURL, c.workers)
		if err != nil {
			return Summary{}, err
		}
		defer floor.close(ctx)
		creates = floor
	default:
		return Summary{}, fmt.Errorf("unknown mode %q", c.mode)
	}

	var op operation
	roundSize := c.roundSize
	switch verb {
	case "create":
		op = &createOp{api: creates, db: db, emptyFirst: c.emptyFirst, tag: tag}
	case "delete":
		op = &deleteOp{api: reads, db: db, tag: tag}
	case "list":
		op, roundSize = &listOp{api: reads}, c.count+c.warmup
	case "get":
		op, roundSize = &getOp{api: reads, db: db}, c.count+c.warmup
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
	if out.firstError != nil {
		s.FirstError = out.firstError.Error()
	}
	return s, nil
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
