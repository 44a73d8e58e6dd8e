// Command pbx-gateway is the REST front of pbx-server: a grpc-gateway v2
// reverse proxy that forwards JSON requests to the gRPC API on loopback.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/synergycall/pbx-portal/gateway/internal/httpapi"
)

// In-flight requests get this long to finish on SIGTERM; an Apply cut off
// here still completes on the server, which does not depend on the caller.
const shutdownTimeout = 20 * time.Second

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("gateway stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	conn, err := httpapi.Dial(cfg.grpcTarget, cfg.callTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()

	handler, err := httpapi.New(ctx, conn, httpapi.Config{MaxBodyBytes: cfg.maxBodyBytes, Log: log})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              cfg.httpListen,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	log.Info("gateway listening", "http", cfg.httpListen, "grpc_target", cfg.grpcTarget, "max_body_bytes", cfg.maxBodyBytes)

	select {
	case err := <-served:
		return err // listen failed; ErrServerClosed cannot happen before Shutdown
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
