package httpapi

import (
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// IncomingHeaders forwards X-Admin-User, the administrator an Apply is
// recorded under in the audit log, on top of grpc-gateway's defaults. The
// default matcher forwards only the IANA permanent headers (as
// grpcgateway-<Key>) and ignores Grpc-Metadata-*, so a raw X-Request-Id never
// reaches the server: it gets the id RequestID checked, which
// RequestIDMetadata sends.
func IncomingHeaders(key string) (string, bool) {
	if strings.EqualFold(key, "X-Admin-User") {
		return "x-admin-user", true
	}
	return runtime.DefaultHeaderMatcher(key)
}
