package httpapi

import (
	"context"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pbxv1 "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
)

// callWithHeaders runs IdempotencyKeyField on req as the gateway would for an
// HTTP request with these Idempotency-Key headers; it returns what reached the
// server (the request and its metadata) and the interceptor's error.
func callWithHeaders(t *testing.T, req any, keys ...string) (any, metadata.MD, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/users", nil)
	for _, k := range keys {
		r.Header.Add("Idempotency-Key", k)
	}
	md := metadata.Join(metadata.Pairs("x-request-id", "abc"), IdempotencyKeyMetadata(context.Background(), r))
	ctx := metadata.NewOutgoingContext(context.Background(), md)
	var sent any
	var sentMD metadata.MD
	err := IdempotencyKeyField()(ctx, "/m", req, nil, nil, func(ctx context.Context, _ string, req, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		sent = req
		sentMD, _ = metadata.FromOutgoingContext(ctx)
		return nil
	})
	return sent, sentMD, err
}

func TestIdempotencyKeyBecomesTheRequestID(t *testing.T) {
	const key = "6f1c4a52-9e0b-4d4c-8a55-2c1b3f7a9d10"
	sent, md, err := callWithHeaders(t, &pbxv1.CreateUserRequest{Name: "Ada"}, key)
	if err != nil {
		t.Fatal(err)
	}
	if got := sent.(*pbxv1.CreateUserRequest).GetRequestId(); got != key {
		t.Errorf("request_id = %q, want the header's %q", got, key)
	}
	if len(md.Get(idempotencyKeyMetadataKey)) != 0 || md.Get("x-request-id")[0] != "abc" {
		t.Errorf("metadata sent = %v: the carrier key must go, the rest stay", md)
	}
	batch, _, err := callWithHeaders(t, &pbxv1.BatchCreateUsersRequest{}, key)
	if err != nil || batch.(*pbxv1.BatchCreateUsersRequest).GetRequestId() != key {
		t.Errorf("batch: %v, %v", batch, err)
	}
	// The draft standard's quoted form is the same key.
	quoted, _, err := callWithHeaders(t, &pbxv1.CreateUserRequest{}, `"`+key+`"`)
	if err != nil || quoted.(*pbxv1.CreateUserRequest).GetRequestId() != key {
		t.Errorf("quoted key: %v, %v", quoted, err)
	}
	// The same value in both places is one key.
	if _, _, err := callWithHeaders(t, &pbxv1.CreateUserRequest{RequestId: key}, key); err != nil {
		t.Errorf("same key in header and body: %v", err)
	}
}

func TestWithoutTheHeaderTheRequestIsUntouched(t *testing.T) {
	sent, _, err := callWithHeaders(t, &pbxv1.CreateUserRequest{RequestId: "from-body"})
	if err != nil || sent.(*pbxv1.CreateUserRequest).GetRequestId() != "from-body" {
		t.Errorf("got %v, %v", sent, err)
	}
	if _, _, err := callWithHeaders(t, &pbxv1.ApplyRequest{}); err != nil {
		t.Errorf("a method without request_id and no header: %v", err)
	}
}

func TestIdempotencyKeyConflictsAreRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		req  any
		keys []string
	}{
		"differs from the body":       {&pbxv1.CreateUserRequest{RequestId: "6f1c4a52-9e0b-4d4c-8a55-2c1b3f7a9d11"}, []string{"6f1c4a52-9e0b-4d4c-8a55-2c1b3f7a9d10"}},
		"two headers":                 {&pbxv1.CreateUserRequest{}, []string{"a", "b"}},
		"a method without request_id": {&pbxv1.ApplyRequest{}, []string{"a"}},
	} {
		sent, _, err := callWithHeaders(t, tc.req, tc.keys...)
		if status.Code(err) != codes.InvalidArgument || sent != nil {
			t.Errorf("%s: got %v (sent %v), want InvalidArgument before the server", name, err, sent)
		}
	}
}
