package httpapi

import (
	"net/textproto"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// IncomingHeaders is grpc-gateway's default header matcher without
// Authorization. The runtime forwards every Authorization header by itself,
// unprefixed, as the authorization metadata the server authenticates; the
// default matcher would send the token a second time as
// grpcgateway-authorization, a copy the server does not consume and would
// leave in the metadata its handlers see.
//
// The default matcher forwards only the IANA permanent headers (as
// grpcgateway-<Key>) and ignores Grpc-Metadata-*, so a client cannot set any
// other metadata key: a raw X-Request-Id never reaches the server (it gets the
// id RequestID checked, which RequestIDMetadata sends), nor does X-Admin-User,
// which once named the administrator of an Apply (identity now comes from the
// API key alone).
func IncomingHeaders(key string) (string, bool) {
	if textproto.CanonicalMIMEHeaderKey(key) == "Authorization" {
		return "", false
	}
	return runtime.DefaultHeaderMatcher(key)
}
