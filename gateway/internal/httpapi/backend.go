package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/local"
	_ "google.golang.org/grpc/health" // client-side health checking: healthCheckConfig in backendServiceConfig
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
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

// backendServiceConfig spreads calls over every replica the target names
// (round robin) and sends none to a replica that is unreachable or whose
// overall grpc.health.v1 status ("") is not SERVING: pbx-server reports
// NOT_SERVING while its database is unreachable. grpc-go keeps reconnecting
// and watching the others, and takes a replica back once it serves again.
const backendServiceConfig = `{"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":""}}`

// listScheme is the scheme of the resolver that hands grpc-go a fixed list of
// replicas (one manual resolver per connection, never registered globally).
// Each entry is dialled as written (a name is looked up at each connect; for
// every address of a name, use dns:///name:port). listAuthority is then the
// :authority of the calls; over TLS it is tlsConfig.ServerName, the name
// verified, which a list needs.
const (
	listScheme    = "pbx-replicas"
	listAuthority = "pbx-server"
)

// Dial connects lazily to the gRPC server, so the gateway starts (and /healthz
// reports 503) while the server is still down.
//
// target is PBX_GRPC_TARGET (see ParseTarget): one address, a gRPC target URI
// that grpc-go resolves itself, or a comma-separated list of replicas. Calls go
// round robin to every resolved address that is connected and healthy.
//
// With tlsConfig the connection is TLS (see credentials.NewTLS: the target's
// host is the name verified unless tlsConfig has a ServerName; a list must
// have one). Without, it is plaintext through gRPC local credentials, which
// connect only to a loopback address or a Unix socket: the server's own mode
// without TLS, and the API tokens the gateway forwards never cross a network
// in the clear.
func Dial(target string, tlsConfig *tls.Config, callTimeout time.Duration) (*grpc.ClientConn, error) {
	replicas, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	creds := local.NewCredentials()
	if tlsConfig != nil {
		creds = credentials.NewTLS(tlsConfig)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		// The balancing above is the gateway's own choice: a service config
		// in DNS (TXT records) does not replace it.
		grpc.WithDefaultServiceConfig(backendServiceConfig),
		grpc.WithDisableServiceConfig(),
		grpc.WithChainUnaryInterceptor(CallDeadline(callTimeout), IdempotencyKeyField()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxBackendResponseBytes)),
	}
	if len(replicas) > 1 {
		if tlsConfig != nil && tlsConfig.ServerName == "" {
			return nil, errors.New("a list of replicas over TLS needs the server name to verify (PBX_GRPC_TLS_SERVER_NAME)")
		}
		endpoints := make([]resolver.Endpoint, len(replicas))
		for i, addr := range replicas {
			endpoints[i] = resolver.Endpoint{Addresses: []resolver.Address{{Addr: addr}}}
		}
		list := manual.NewBuilderWithScheme(listScheme)
		list.InitialState(resolver.State{Endpoints: endpoints})
		opts = append(opts, grpc.WithResolvers(list))
		target = listScheme + ":///" + listAuthority
	}
	return grpc.NewClient(target, opts...)
}

// ParseTarget reads PBX_GRPC_TARGET. A value with a scheme grpc-go resolves
// (dns:///name:port: every address of the name is a replica; unix:///path)
// and a single host:port are one target, returned as they are, for grpc-go's
// own resolver (DNS for host:port). A comma-separated list of host:port
// entries is a fixed set of replicas, returned one address each. Empty
// entries, entries without a port or with a scheme, and repeated entries are
// errors.
func ParseTarget(target string) ([]string, error) {
	if !strings.Contains(target, ",") {
		if hasResolverScheme(target) {
			return []string{target}, nil
		}
		if _, err := replicaKey(target); err != nil {
			return nil, err
		}
		return []string{target}, nil
	}
	entries := strings.Split(target, ",")
	seen := make(map[string]bool, len(entries))
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("entry %d of the list is empty", i+1)
		}
		if hasResolverScheme(entry) {
			return nil, fmt.Errorf("%q: a list holds host:port entries only "+
				"(a target URI such as dns:///name:port stands alone)", entry)
		}
		key, err := replicaKey(entry)
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, fmt.Errorf("%q is listed twice", entry)
		}
		seen[key] = true
		entries[i] = entry
	}
	return entries, nil
}

// hasResolverScheme is grpc-go's own test of a target URI: it parses as a URL
// whose scheme has a registered resolver (otherwise grpc-go resolves the whole
// value as a DNS name: "localhost:50051" is a host and a port).
func hasResolverScheme(target string) bool {
	u, err := url.Parse(target)
	return err == nil && u.Scheme != "" && resolver.Get(u.Scheme) != nil
}

// replicaKey checks that addr is host:port with a port from 1 to 65535 and
// returns it in one spelling (lowercase name, canonical IP, decimal port), so
// a replica listed twice is found whatever the spelling.
func replicaKey(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || strings.ContainsAny(host, "/ ") {
		return "", fmt.Errorf("%q: want host:port", addr)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", fmt.Errorf("%q: the port must be a number from 1 to 65535", addr)
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.FormatUint(n, 10)), nil
}

// SharedHost is the host every address of a list shares ("" when they name
// several): with TLS, the name the replicas' certificates carry unless
// PBX_GRPC_TLS_SERVER_NAME says otherwise.
func SharedHost(replicas []string) string {
	shared := ""
	for i, addr := range replicas {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || (i > 0 && !strings.EqualFold(host, shared)) {
			return ""
		}
		shared = host
	}
	return shared
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
