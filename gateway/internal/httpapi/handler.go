package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	pbxv1 "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
	"github.com/synergycall/pbx-portal/gateway/internal/openapi"
)

// Config is what the HTTP side needs beyond the backend connection.
type Config struct {
	MaxBodyBytes int64
	// The largest body of a batch create (1000 users); 0 means MaxBodyBytes.
	MaxBatchBodyBytes int64
	Log               *slog.Logger
}

// New builds the complete HTTP handler: generated REST routes, /healthz,
// /openapi.json, request id, body checks (JSON only, size limit), access log
// and /metrics.
func New(ctx context.Context, conn *grpc.ClientConn, cfg Config) (http.Handler, error) {
	metrics := NewMetrics()
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, Marshaler()),
		runtime.WithErrorHandler(ErrorHandler),
		runtime.WithIncomingHeaderMatcher(IncomingHeaders),
		runtime.WithMetadata(RequestIDMetadata),
		runtime.WithMetadata(IdempotencyKeyMetadata),
		runtime.WithRoutingErrorHandler(RoutingErrorHandler),
		runtime.WithForwardResponseOption(CreatedStatus),
		runtime.WithHealthzEndpoint(grpc_health_v1.NewHealthClient(conn)),
		runtime.WithMiddlewares(metrics.Route),
	)
	if err := pbxv1.RegisterUserServiceHandler(ctx, mux, conn); err != nil {
		return nil, fmt.Errorf("register UserService: %w", err)
	}
	if err := pbxv1.RegisterApplyServiceHandler(ctx, mux, conn); err != nil {
		return nil, fmt.Errorf("register ApplyService: %w", err)
	}
	if err := pbxv1.RegisterApiKeyServiceHandler(ctx, mux, conn); err != nil {
		return nil, fmt.Errorf("register ApiKeyService: %w", err)
	}
	if err := pbxv1.RegisterAuditServiceHandler(ctx, mux, conn); err != nil {
		return nil, fmt.Errorf("register AuditService: %w", err)
	}
	if err := pbxv1.RegisterRegistrationServiceHandler(ctx, mux, conn); err != nil {
		return nil, fmt.Errorf("register RegistrationService: %w", err)
	}
	if err := mux.HandlePath(http.MethodGet, "/openapi.json", openapi.Serve); err != nil {
		return nil, fmt.Errorf("register /openapi.json: %w", err)
	}
	limits := BodyLimits{Default: cfg.MaxBodyBytes, Batch: cfg.MaxBatchBodyBytes}
	if limits.Batch == 0 {
		limits.Batch = limits.Default
	}
	api := RequestID(AccessLog(cfg.Log, CheckBody(mux, limits)))
	return metrics.WithEndpoint(metrics.Instrument(api)), nil
}
