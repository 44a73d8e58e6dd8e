package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The google.rpc.ErrorInfo the server puts on the one RESOURCE_EXHAUSTED that
// is the caller's conflict: the extension pool is full
// (server/core/error_info.h, server/core/extension_pool.h).
const (
	serverErrorDomain            = "pbx.synergycall"
	reasonExtensionPoolExhausted = "EXTENSION_POOL_EXHAUSTED"
)

// HTTPStatus maps a gRPC status to the HTTP status the contract promises.
// It follows runtime.HTTPStatusFromCode except for RESOURCE_EXHAUSTED, which
// gRPC also raises by itself (a message over a size limit, a server out of
// threads): only the extension pool's, recognised by its ErrorInfo, is a
// conflict with the current state (409); any other is the service failing
// the call, not the caller's doing, so 503. Neither is rate limiting (429).
func HTTPStatus(st *status.Status) int {
	if st.Code() != codes.ResourceExhausted {
		return runtime.HTTPStatusFromCode(st.Code())
	}
	if hasErrorReason(st, serverErrorDomain, reasonExtensionPoolExhausted) {
		return http.StatusConflict
	}
	return http.StatusServiceUnavailable
}

// hasErrorReason says whether st carries a google.rpc.ErrorInfo detail with
// this domain and reason.
func hasErrorReason(st *status.Status, domain, reason string) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == domain && info.GetReason() == reason {
			return true
		}
	}
	return false
}

// ErrorHandler keeps grpc-gateway's {code,message,details} body and only sets
// the HTTP status HTTPStatus gives. An error that already carries an explicit
// HTTP status (413 and 415 from CheckBody, 405 from RoutingErrorHandler) is
// left alone. A 401 or 403 gets the Bearer challenge of bearerChallenge.
func ErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	var explicit *runtime.HTTPStatusError
	if !errors.As(err, &explicit) {
		explicit = &runtime.HTTPStatusError{HTTPStatus: HTTPStatus(status.Convert(err)), Err: err}
		err = explicit
	}
	w = &challengeWriter{ResponseWriter: w, challenge: bearerChallenge(explicit.HTTPStatus, r)}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// challengeWriter puts the challenge (or none) into WWW-Authenticate as the
// status is written: grpc-gateway sets that header to the status message of
// every UNAUTHENTICATED, which is no challenge at all.
type challengeWriter struct {
	http.ResponseWriter
	challenge string
}

func (c *challengeWriter) WriteHeader(code int) {
	if c.challenge == "" {
		c.Header().Del("WWW-Authenticate")
	} else {
		c.Header().Set("WWW-Authenticate", c.challenge)
	}
	c.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (c *challengeWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// bearerChallenge is the WWW-Authenticate header of an answer (RFC 6750,
// section 3), "" when it has none. Every 401 (UNAUTHENTICATED) needs one
// (RFC 9110); a 403 (PERMISSION_DENIED: the key's role is too low) may have
// one. The error code depends only on what the client sent, never on what the
// server knows of a token: the server answers every missing, malformed,
// unknown or revoked token alike, and so does this.
func bearerChallenge(httpStatus int, r *http.Request) string {
	switch {
	case httpStatus == http.StatusUnauthorized && r.Header.Get("Authorization") == "":
		return `Bearer realm="pbx"` // no credentials: no error code (section 3.1)
	case httpStatus == http.StatusUnauthorized:
		return `Bearer realm="pbx", error="invalid_token"`
	case httpStatus == http.StatusForbidden:
		return `Bearer realm="pbx", error="insufficient_scope"`
	}
	return ""
}

// RoutingErrorHandler answers a known path with the wrong method with 405
// (grpc-gateway's default turns it into UNIMPLEMENTED, a 501) and keeps its
// defaults otherwise, in the same {code,message,details} body.
func RoutingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus != http.StatusMethodNotAllowed {
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
		return
	}
	err := &runtime.HTTPStatusError{
		HTTPStatus: http.StatusMethodNotAllowed,
		Err:        status.Error(codes.Unimplemented, http.StatusText(http.StatusMethodNotAllowed)),
	}
	ErrorHandler(ctx, mux, m, w, r, err)
}
