package httpapi

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Dial connects lazily to the gRPC server, so the gateway starts (and /healthz
// reports 503) while the server is still down. Plaintext is deliberate: both
// processes sit on the same host and talk over loopback.
func Dial(target string, callTimeout time.Duration) (*grpc.ClientConn, error) {
	return grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(CallDeadline(callTimeout)),
	)
}

// CallDeadline bounds every backend call so a stuck server cannot hold an
// HTTP request forever. A shorter deadline already on the context (client
// disconnect, Grpc-Timeout header) still wins; a longer one is cut down.
func CallDeadline(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
