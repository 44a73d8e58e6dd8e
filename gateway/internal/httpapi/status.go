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
// HTTP status (413 from LimitBody, 405 from RoutingErrorHandler) is left alone.
func ErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	var explicit *runtime.HTTPStatusError
	if !errors.As(err, &explicit) {
		err = &runtime.HTTPStatusError{HTTPStatus: HTTPStatus(status.Convert(err)), Err: err}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
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
