package httpapi

import (
	"context"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const (
	idempotencyKeyHeader = "Idempotency-Key"
	// Carries the header from the HTTP side to IdempotencyKeyField only; it is
	// taken out of the metadata before the call leaves the gateway.
	idempotencyKeyMetadataKey = "pbx-gateway-idempotency-key"
	requestIDField            = "request_id"
)

// IdempotencyKeyMetadata is a runtime.WithMetadata annotator: it hands the
// Idempotency-Key header to IdempotencyKeyField, which knows the message.
func IdempotencyKeyMetadata(_ context.Context, r *http.Request) metadata.MD {
	keys := r.Header.Values(idempotencyKeyHeader)
	if len(keys) == 0 {
		return nil
	}
	return metadata.MD{idempotencyKeyMetadataKey: keys}
}

// IdempotencyKeyField maps the Idempotency-Key header onto the request's
// request_id field (AIP-155), so REST clients retry as gRPC clients do. The
// server checks the value; here only: one key, a method that takes one, and
// no different request_id in the body.
func IdempotencyKeyField() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		md, ok := metadata.FromOutgoingContext(ctx)
		keys := md.Get(idempotencyKeyMetadataKey)
		if !ok || len(keys) == 0 {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		md = md.Copy()
		md.Delete(idempotencyKeyMetadataKey)
		ctx = metadata.NewOutgoingContext(ctx, md)
		if len(keys) > 1 {
			return status.Error(codes.InvalidArgument, "send one Idempotency-Key header, not several")
		}
		message, isProto := req.(proto.Message)
		var field protoreflect.FieldDescriptor
		if isProto {
			field = message.ProtoReflect().Descriptor().Fields().ByName(requestIDField)
		}
		if field == nil || field.Kind() != protoreflect.StringKind || field.Cardinality() == protoreflect.Repeated {
			return status.Error(codes.InvalidArgument, "this operation takes no Idempotency-Key header")
		}
		key := unquote(keys[0])
		fields := message.ProtoReflect()
		if body := fields.Get(field).String(); body != "" && body != key {
			return status.Error(codes.InvalidArgument,
				"the Idempotency-Key header and the body's request_id differ; send one of them")
		}
		fields.Set(field, protoreflect.ValueOfString(key))
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// unquote takes the value out of the quoted form the IETF draft
// (draft-ietf-httpapi-idempotency-key-header) gives the header; a bare value
// is taken as it is.
func unquote(key string) string {
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		return key[1 : len(key)-1]
	}
	return key
}
