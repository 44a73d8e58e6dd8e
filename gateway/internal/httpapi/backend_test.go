package httpapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	pbxv1 "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
	"github.com/synergycall/pbx-portal/gateway/internal/testpki"
)

func TestCallDeadline(t *testing.T) {
	icpt := CallDeadline(time.Minute)
	remaining := func(ctx context.Context) time.Duration {
		var got time.Duration
		_ = icpt(ctx, "/m", nil, nil, nil, func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			d, ok := ctx.Deadline()
			if !ok {
				t.Fatal("no deadline set")
			}
			got = time.Until(d)
			return nil
		})
		return got
	}
	if r := remaining(context.Background()); r <= 50*time.Second || r > time.Minute {
		t.Errorf("default deadline: %v left, want about 1m", r)
	}
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if r := remaining(short); r > time.Second {
		t.Errorf("shorter caller deadline lost: %v left", r)
	}
	long, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	if r := remaining(long); r > time.Minute {
		t.Errorf("longer caller deadline not capped: %v left", r)
	}
}

// tlsBackend is a fake server speaking TLS with its certificate; with
// clientCAs it requires a client certificate issued by them.
type tlsBackend struct {
	addr string
	mu   sync.Mutex
	peer string // the common name of the last call's client certificate
}

func startTLSBackend(t *testing.T, cert tls.Certificate, clientCAs *x509.CertPool) *tlsBackend {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &tlsBackend{addr: lis.Addr().String()}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		cfg.ClientCAs, cfg.ClientAuth = clientCAs, tls.RequireAndVerifyClientCert
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)), grpc.UnaryInterceptor(b.notePeer))
	pbxv1.RegisterUserServiceServer(srv, &fakeUsers{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return b
}

func (b *tlsBackend) notePeer(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	name := ""
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
			name = info.State.PeerCertificates[0].Subject.CommonName
		}
	}
	b.mu.Lock()
	b.peer = name
	b.mu.Unlock()
	return handler(ctx, req)
}

func (b *tlsBackend) lastPeer() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peer
}

// listUsers calls the backend through a connection Dial made.
func listUsers(t *testing.T, addr string, cfg *tls.Config) error {
	t.Helper()
	conn, err := Dial(addr, cfg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pbxv1.NewUserServiceClient(conn).ListUsers(ctx, &pbxv1.ListUsersRequest{})
	return err
}

func TestDialWithTLS(t *testing.T) {
	ca := testpki.NewCA(t, "portal CA")
	other := testpki.NewCA(t, "someone else's CA")
	server := ca.Issue(t, "pbx-server", "127.0.0.1")
	client := ca.Issue(t, "pbx-gateway")

	t.Run("server certificate only", func(t *testing.T) {
		b := startTLSBackend(t, server.TLS, nil)
		if err := listUsers(t, b.addr, &tls.Config{RootCAs: ca.Pool()}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("with a client certificate", func(t *testing.T) {
		b := startTLSBackend(t, server.TLS, ca.Pool())
		if err := listUsers(t, b.addr, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client.TLS}}); err != nil {
			t.Fatal(err)
		}
		if got := b.lastPeer(); got != "pbx-gateway" {
			t.Fatalf("the server saw client certificate %q", got)
		}
	})
	t.Run("a server that requires a client certificate refuses none", func(t *testing.T) {
		b := startTLSBackend(t, server.TLS, ca.Pool())
		if err := listUsers(t, b.addr, &tls.Config{RootCAs: ca.Pool()}); status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v, want UNAVAILABLE", err)
		}
	})
	t.Run("a server certificate from another CA is refused", func(t *testing.T) {
		b := startTLSBackend(t, server.TLS, nil)
		if err := listUsers(t, b.addr, &tls.Config{RootCAs: other.Pool()}); status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v, want UNAVAILABLE", err)
		}
	})
	t.Run("plaintext to a TLS server fails", func(t *testing.T) {
		b := startTLSBackend(t, server.TLS, nil)
		if err := listUsers(t, b.addr, nil); status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v, want UNAVAILABLE", err)
		}
	})
}

// A certificate that does not name the target's host is accepted only for the
// name in ServerName (PBX_GRPC_TLS_SERVER_NAME).
func TestDialWithTLSVerifiesTheServerName(t *testing.T) {
	ca := testpki.NewCA(t, "portal CA")
	b := startTLSBackend(t, ca.Issue(t, "pbx-server", "pbx-server.internal").TLS, nil)
	if err := listUsers(t, b.addr, &tls.Config{RootCAs: ca.Pool()}); status.Code(err) != codes.Unavailable {
		t.Fatalf("certificate for another name: err = %v, want UNAVAILABLE", err)
	}
	if err := listUsers(t, b.addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "pbx-server.internal"}); err != nil {
		t.Fatalf("with ServerName: %v", err)
	}
}

// The REST side over a mutual-TLS backend connection, Authorization and all.
func TestGatewayOverMutualTLS(t *testing.T) {
	ca := testpki.NewCA(t, "portal CA")
	b := startTLSBackend(t, ca.Issue(t, "pbx-server", "127.0.0.1").TLS, ca.Pool())
	conn, err := Dial(b.addr, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{ca.Issue(t, "pbx-gateway").TLS}},
		5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := serveOnce(t, conn, http.MethodGet, "/users")
	if w.Code != http.StatusOK || w.Body.String() != "[]" {
		t.Fatalf("status %d body %s", w.Code, w.Body.String())
	}
}
