package httpapi

import (
	"context"
	"crypto/tls"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/local"
)

// maxBackendResponseBytes is how large a message the gateway accepts from the
// server (gRPC's default is 4 MiB). The largest is ListUsers of a full pool
// with every field at its validation limit, about 19.5 MB in protobuf: per
// user some 19.5 KB, mostly metadata (32 entries of a 64-byte key and a
// 512-byte value: 584 bytes each with framing, 18.7 KB), a 100-code-point name
// (up to 400 bytes), a 254-byte email, two UUIDs, the extension and two
// timestamps; times 1000 extensions. 64 MiB leaves more than three times that,
// and the JSON the gateway makes of it stays a few tens of MB.
const maxBackendResponseBytes = 64 << 20

// Dial connects lazily to the gRPC server, so the gateway starts (and /healthz
// reports 503) while the server is still down.
//
// With tlsConfig the connection is TLS (see credentials.NewTLS: the target's
// host is the name verified unless tlsConfig has a ServerName). Without, it is
// plaintext through gRPC local credentials, which connect only to a loopback
// address or a Unix socket: the server's own mode without TLS, and the API
// tokens the gateway forwards never cross a network in the clear.
func Dial(target string, tlsConfig *tls.Config, callTimeout time.Duration) (*grpc.ClientConn, error) {
	creds := local.NewCredentials()
	if tlsConfig != nil {
		creds = credentials.NewTLS(tlsConfig)
	}
	return grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		grpc.WithChainUnaryInterceptor(CallDeadline(callTimeout), IdempotencyKeyField()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxBackendResponseBytes)),
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
