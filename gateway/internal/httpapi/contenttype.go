package httpapi

import (
	"mime"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// hasBody says whether the request carries a body: a Content-Length over 0,
// or one of unknown length (chunked; HTTP/2 DATA without a content-length).
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || hasUnknownLength(r)
}

// hasUnknownLength says whether the request has a body whose length it did
// not declare.
func hasUnknownLength(r *http.Request) bool {
	return r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody
}

// isJSON says whether the request declares one JSON body: exactly one
// Content-Type, of media type application/json (any case), whose parameters,
// if any, parse; a charset must be UTF-8, the only encoding JSON has between
// systems (RFC 8259, section 8.1).
func isJSON(header http.Header) bool {
	values := header.Values("Content-Type")
	if len(values) != 1 {
		return false
	}
	mediaType, params, err := mime.ParseMediaType(values[0])
	if err != nil || mediaType != "application/json" {
		return false
	}
	charset, ok := params["charset"]
	return !ok || strings.EqualFold(charset, "utf-8")
}

func unsupportedMediaType() *runtime.HTTPStatusError {
	return &runtime.HTTPStatusError{
		HTTPStatus: http.StatusUnsupportedMediaType,
		Err:        status.Error(codes.InvalidArgument, "a request body must be JSON: Content-Type: application/json"),
	}
}
