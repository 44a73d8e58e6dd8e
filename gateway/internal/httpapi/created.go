package httpapi

import (
	"context"
	"net/http"

	"google.golang.org/protobuf/proto"

	pbxv1 "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
)

// CreatedStatus answers 201 for a successful CreateUser or CreateApiKey. Keyed
// on the response type so the server needs no HTTP knowledge (no x-http-code
// metadata). grpc-gateway calls this after setting Content-Type and before the
// body.
func CreatedStatus(_ context.Context, w http.ResponseWriter, m proto.Message) error {
	switch m.(type) {
	case *pbxv1.CreateUserResponse, *pbxv1.CreateApiKeyResponse:
		w.WriteHeader(http.StatusCreated)
	}
	return nil
}
