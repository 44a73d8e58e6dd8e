// Package openapi serves the OpenAPI (swagger 2.0) document that
// protoc-gen-openapiv2 generates next to this file (see gateway/buf.gen.yaml),
// so the published API description always matches the compiled handlers.
package openapi

import (
	_ "embed"
	"net/http"
)

//go:embed pbx.swagger.json
var spec []byte

// Serve has the grpc-gateway runtime.HandlerFunc signature.
func Serve(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(spec)
}
