package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// LimitBody answers 413 for bodies over limit bytes, in the same JSON error
// shape as every other error. grpc-gateway has no limit of its own, and a body
// cut short by http.MaxBytesReader inside its decoder surfaces as a 400, so
// the decision is made here before the mux sees the request:
//   - a declared Content-Length over the limit is refused without reading;
//   - a body of unknown length (chunked) is read up to the limit and handed
//     on from memory, which is cheap at the limits we use (64 KiB default).
func LimitBody(mux *runtime.ServeMux, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			tooLarge(mux, w, r, limit)
			return
		}
		if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
			data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				tooLarge(mux, w, r, limit)
				return
			}
			if err != nil {
				badBody(mux, w, r, err)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(data))
			r.ContentLength = int64(len(data))
		}
		mux.ServeHTTP(w, r)
	})
}

// tooLarge uses INVALID_ARGUMENT as the gRPC code in the body: the request is
// wrong, and RESOURCE_EXHAUSTED is reserved for the extension pool.
func tooLarge(mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, limit int64) {
	writeError(mux, w, r, &runtime.HTTPStatusError{
		HTTPStatus: http.StatusRequestEntityTooLarge,
		Err:        status.Error(codes.InvalidArgument, fmt.Sprintf("request body exceeds %d bytes", limit)),
	})
}

func badBody(mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, err error) {
	writeError(mux, w, r, status.Errorf(codes.InvalidArgument, "reading request body: %v", err))
}

func writeError(mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, err error) {
	_, out := runtime.MarshalerForRequest(mux, r)
	runtime.HTTPError(r.Context(), mux, out, w, r, err)
}
