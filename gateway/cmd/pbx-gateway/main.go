// Command pbx-gateway is the REST front of pbx-server: a grpc-gateway v2
// reverse proxy that forwards JSON requests, with their API tokens, to the
// gRPC API (on loopback, or anywhere over TLS). Configuration: see config.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
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

	conn, err := httpapi.Dial(cfg.grpcTarget, cfg.grpcTLS, cfg.callTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()

	handler, err := httpapi.New(ctx, conn, httpapi.Config{MaxBodyBytes: cfg.maxBodyBytes, MaxBatchBodyBytes: cfg.maxBatchBodyBytes, Log: log})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.httpListen)
	if err != nil {
		return err
	}
	log.Info("gateway listening", "http", cfg.httpListen, "https", cfg.httpTLS != nil,
		"grpc_target", cfg.grpcTarget, "grpc_tls", cfg.grpcTLS != nil, "max_body_bytes", cfg.maxBodyBytes)
	return serve(ctx, log, newHTTPServer(handler, cfg.httpTLS, log), lis)
}

// newHTTPServer is the REST listener's server: HTTPS only (HTTP/2 and
// HTTP/1.1) when tlsConfig is set, else plain HTTP/1.1.
func newHTTPServer(handler http.Handler, tlsConfig *tls.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serve answers on lis until ctx ends, then shuts srv down, giving in-flight
// requests shutdownTimeout to finish.
func serve(ctx context.Context, log *slog.Logger, srv *http.Server, lis net.Listener) error {
	served := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			served <- srv.ServeTLS(lis, "", "") // the certificate is in TLSConfig
		} else {
			served <- srv.Serve(lis)
		}
	}()

	select {
	case err := <-served:
		return err // serving failed; ErrServerClosed cannot happen before Shutdown
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
