package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	// Registers google.rpc.BadRequest and friends so the Any in an error's
	// details renders as JSON instead of failing to marshal.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"
)

// statusOverrides lists only where the contract departs from
// runtime.HTTPStatusFromCode. RESOURCE_EXHAUSTED means "extension pool full"
// here, a conflict with the current state, not rate limiting (429).
var statusOverrides = map[codes.Code]int{
	codes.ResourceExhausted: http.StatusConflict,
}

// HTTPStatus maps a gRPC code to the HTTP status the contract promises.
func HTTPStatus(c codes.Code) int {
	if s, ok := statusOverrides[c]; ok {
		return s
	}
	return runtime.HTTPStatusFromCode(c)
}

// ErrorHandler keeps grpc-gateway's {code,message,details} body and only
// changes the HTTP status where statusOverrides says so. An error that already
// carries an explicit HTTP status (413 from LimitBody) is left alone.
func ErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	var explicit *runtime.HTTPStatusError
	if !errors.As(err, &explicit) {
		if s, ok := statusOverrides[status.Code(err)]; ok {
			err = &runtime.HTTPStatusError{HTTPStatus: s, Err: err}
		}
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
