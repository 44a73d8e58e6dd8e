package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"

	"google.golang.org/grpc/metadata"
)

const (
	requestIDHeader      = "X-Request-Id"
	requestIDMetadataKey = "x-request-id"
)

// The same rule as the server's: an id from outside lands in JSON log lines
// and the audit log, so anything that could forge or break them is replaced.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

type requestIDKey struct{}

// RequestID gives every request an id: the caller's X-Request-Id when it is
// valid, else a fresh one. The id is answered in the X-Request-Id response
// header and kept in the request's context for the access log and
// RequestIDMetadata, which forwards it to the server.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// RequestIDFrom is the id RequestID gave the request ("" outside RequestID).
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RequestIDMetadata is a runtime.WithMetadata annotator: it sends the
// request's id to the server as x-request-id metadata.
func RequestIDMetadata(_ context.Context, r *http.Request) metadata.MD {
	id := RequestIDFrom(r.Context())
	if id == "" {
		return nil
	}
	return metadata.Pairs(requestIDMetadataKey, id)
}

// 32 hex digits, like the server's own ids.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b)
}
