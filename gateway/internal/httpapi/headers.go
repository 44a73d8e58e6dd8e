package httpapi

import (
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// IncomingHeaders forwards X-Admin-User, the administrator an Apply is
// recorded under in the audit log, on top of grpc-gateway's defaults. The
// request id reaches the server only as RequestID checked it (see
// RequestIDMetadata), never raw from a Grpc-Metadata-X-Request-Id header.
func IncomingHeaders(key string) (string, bool) {
	if strings.EqualFold(key, "X-Admin-User") {
		return "x-admin-user", true
	}
	name, ok := runtime.DefaultHeaderMatcher(key)
	if ok && strings.EqualFold(name, requestIDMetadataKey) {
		return "", false
	}
	return name, ok
}
