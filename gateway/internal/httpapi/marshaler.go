package httpapi

import (
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
)

// Marshaler is the JSON codec for every request and response. Proto field
// names (sip_credentials, created_at) and emitted zero values keep the wire
// shape stable; unknown fields are rejected (400) so typos are not silently
// dropped.
func Marshaler() *runtime.JSONPb {
	return &runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{
			UseProtoNames:   true,
			EmitUnpopulated: true,
		},
		UnmarshalOptions: protojson.UnmarshalOptions{
			DiscardUnknown: false,
		},
	}
}
