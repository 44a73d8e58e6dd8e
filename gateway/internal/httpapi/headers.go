package httpapi

import (
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// IncomingHeaders forwards X-Admin-User, the administrator an Apply is
// recorded under in the audit log, on top of grpc-gateway's defaults.
func IncomingHeaders(key string) (string, bool) {
	if strings.EqualFold(key, "X-Admin-User") {
		return "x-admin-user", true
	}
	return runtime.DefaultHeaderMatcher(key)
}
