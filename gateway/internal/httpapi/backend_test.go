package httpapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
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

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   []string
	}{
		{"127.0.0.1:50051", []string{"127.0.0.1:50051"}},
		{"localhost:50051", []string{"localhost:50051"}},
		{"[::1]:50051", []string{"[::1]:50051"}},
		{"dns:///pbx-servers.internal:50051", []string{"dns:///pbx-servers.internal:50051"}},
		{"unix:///run/pbx/grpc.sock", []string{"unix:///run/pbx/grpc.sock"}},
		{"127.0.0.1:50051,127.0.0.1:50052", []string{"127.0.0.1:50051", "127.0.0.1:50052"}},
		{" pbx-a.internal:50051 , [::1]:50051", []string{"pbx-a.internal:50051", "[::1]:50051"}},
	} {
		got, err := ParseTarget(tc.target)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q", tc.target, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "pbx-server", ":50051", "127.0.0.1:50051,", "127.0.0.1:50051,127.0.0.1:x",
		"127.0.0.1:50051,127.0.0.1:50051", "127.0.0.1:50051,unix:///run/pbx/grpc.sock"} {
		if got, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) = %q, want an error", bad, got)
		}
	}
	// Dial refuses what ParseTarget refuses.
	if _, err := Dial("127.0.0.1:50051,,127.0.0.1:50052", nil, time.Second); err == nil {
		t.Error("Dial accepted a list with an empty entry")
	}
}

// replica is one of several real grpc-go servers behind a Dial: UserService
// and the standard health service (SERVING until told otherwise); every
// pbx.v1 call it answers goes into the shared calls log under its name.
type replica struct {
	name   string
	addr   string
	srv    *grpc.Server
	health *health.Server
}

// callLog is which replica answered each call, in order.
type callLog struct {
	mu    sync.Mutex
	names []string
}

func (l *callLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, name)
}

// take returns the names logged so far and empties the log.
func (l *callLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := l.names
	l.names = nil
	return names
}

func startReplica(t *testing.T, name string, log *callLog, opts ...grpc.ServerOption) *replica {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, addr: lis.Addr().String(), health: health.NewServer()}
	r.srv = grpc.NewServer(append(opts, grpc.UnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if strings.HasPrefix(info.FullMethod, "/pbx.v1.") {
				log.add(name)
			}
			return handler(ctx, req)
		}))...)
	pbxv1.RegisterUserServiceServer(r.srv, &fakeUsers{})
	grpc_health_v1.RegisterHealthServer(r.srv, r.health)
	go func() { _ = r.srv.Serve(lis) }()
	t.Cleanup(r.srv.Stop)
	return r
}

func (r *replica) setServing(serving bool) {
	st := grpc_health_v1.HealthCheckResponse_NOT_SERVING
	if serving {
		st = grpc_health_v1.HealthCheckResponse_SERVING
	}
	r.health.SetServingStatus("", st)
}

// dialReplicas connects to the replicas as PBX_GRPC_TARGET=a,b,... would.
func dialReplicas(t *testing.T, replicas ...*replica) *grpc.ClientConn {
	t.Helper()
	addrs := make([]string, len(replicas))
	for i, r := range replicas {
		addrs[i] = r.addr
	}
	conn, err := Dial(strings.Join(addrs, ","), nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// callUsers makes n ListUsers calls one after the other; every one must succeed.
func callUsers(t *testing.T, conn *grpc.ClientConn, n int) {
	t.Helper()
	client := pbxv1.NewUserServiceClient(conn)
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := client.ListUsers(ctx, &pbxv1.ListUsersRequest{})
		cancel()
		if err != nil {
			t.Fatalf("call %d of %d: %v", i+1, n, err)
		}
	}
}

// untilServedBy calls until the last `run` calls were all answered by one of
// names (the connection's view of the replicas changes in the background),
// then empties the log.
func untilServedBy(t *testing.T, conn *grpc.ClientConn, log *callLog, run int, names ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for streak := 0; streak < run; {
		if time.Now().After(deadline) {
			t.Fatalf("calls never went only to %v", names)
		}
		callUsers(t, conn, 1)
		if got := log.take(); len(got) == 1 && slices.Contains(names, got[0]) {
			streak++
		} else {
			streak = 0
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// untilBothServed calls until each replica answered at least once (both are
// connected and healthy), then empties the log.
func untilBothServed(t *testing.T, conn *grpc.ClientConn, log *callLog, a, b *replica) {
	t.Helper()
	seen := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for !seen[a.name] || !seen[b.name] {
		if time.Now().After(deadline) {
			t.Fatalf("not both replicas answered within 10 s: %v", seen)
		}
		callUsers(t, conn, 1)
		for _, name := range log.take() {
			seen[name] = true
		}
	}
}

// awaitRedial listens again on the address of a stopped replica until the
// connection dials it (so it saw the old connection end), then closes the
// listener: the replica stays unreachable.
func awaitRedial(t *testing.T, addr string) {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := lis.Accept()
		if err == nil {
			_ = c.Close()
		}
		accepted <- err
	}()
	select {
	case err := <-accepted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no new connection to %s within 10 s of its server stopping", addr)
	}
}

func TestReplicasTakeTurns(t *testing.T) {
	log := &callLog{}
	a, b := startReplica(t, "a", log), startReplica(t, "b", log)
	conn := dialReplicas(t, a, b)
	untilBothServed(t, conn, log, a, b)

	callUsers(t, conn, 20)
	got := log.take()
	if len(got) != 20 {
		t.Fatalf("%d calls answered, want 20", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("calls did not alternate between the replicas: %v", got)
		}
	}
}

// Over TLS, every replica of a list is verified for the one server name
// (PBX_GRPC_TLS_SERVER_NAME, or the host the entries share: see the config).
func TestReplicasOverTLS(t *testing.T) {
	ca := testpki.NewCA(t, "portal CA")
	creds := grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{ca.Issue(t, "pbx-server", "pbx-server.internal").TLS}, MinVersion: tls.VersionTLS12}))
	log := &callLog{}
	a, b := startReplica(t, "a", log, creds), startReplica(t, "b", log, creds)
	target := a.addr + "," + b.addr

	conn, err := Dial(target, &tls.Config{RootCAs: ca.Pool(), ServerName: "pbx-server.internal"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	untilBothServed(t, conn, log, a, b)

	if err := listUsers(t, target, &tls.Config{RootCAs: ca.Pool(), ServerName: "other.internal"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("certificates for another name: err = %v, want UNAVAILABLE", err)
	}
	if _, err := Dial(target, &tls.Config{RootCAs: ca.Pool()}, time.Second); err == nil ||
		!strings.Contains(err.Error(), "PBX_GRPC_TLS_SERVER_NAME") {
		t.Fatalf("a list over TLS without a server name: err = %v", err)
	}
}

// A replica whose health is NOT_SERVING (pbx-server without its database)
// gets no call, from the first one on; when the other stops serving and it
// serves again, the calls move over.
func TestNotServingReplicaGetsNoCalls(t *testing.T) {
	log := &callLog{}
	a, b := startReplica(t, "a", log), startReplica(t, "b", log)
	b.setServing(false)
	conn := dialReplicas(t, a, b)

	callUsers(t, conn, 20)
	if got := log.take(); len(got) != 20 || slices.Contains(got, "b") {
		t.Fatalf("answered by %v, want a only", got)
	}

	b.setServing(true)
	a.setServing(false)
	untilServedBy(t, conn, log, 5, "b")
	callUsers(t, conn, 20)
	if got := log.take(); len(got) != 20 || slices.Contains(got, "a") {
		t.Fatalf("answered by %v after a stopped serving, want b only", got)
	}
}

// A replica that goes away takes no call issued after the gateway saw it go:
// the other answers every one, without an error.
//
// The gateway learns that a connection ended when it reads the close, a
// moment after the server closed it. A call written to the connection in that
// moment fails like one in flight (grpc-go cannot tell that the server never
// read it, so it does not retry it), which is why the calls start once the
// gateway has seen the end: it then dials the replica again at once.
func TestStoppedReplicaLeavesTheOther(t *testing.T) {
	log := &callLog{}
	a, b := startReplica(t, "a", log), startReplica(t, "b", log)
	conn := dialReplicas(t, a, b)
	untilBothServed(t, conn, log, a, b)

	b.srv.Stop() // closes its listener and connections at once, like a killed process
	awaitRedial(t, b.addr)
	callUsers(t, conn, 50)
	if got := log.take(); len(got) != 50 || slices.Contains(got, "b") {
		t.Fatalf("answered by %v after b stopped, want a only", got)
	}
}

// /healthz says 200 while one replica is healthy, whichever the call lands
// on, and 503 once none is.
func TestHealthzWithReplicas(t *testing.T) {
	log := &callLog{}
	a, b := startReplica(t, "a", log), startReplica(t, "b", log)
	b.setServing(false)
	conn := dialReplicas(t, a, b)
	h, err := New(context.Background(), conn, Config{MaxBodyBytes: 1024, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	healthz := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return w.Code
	}
	for i := range 10 {
		if code := healthz(); code != http.StatusOK {
			t.Fatalf("a SERVING, b NOT_SERVING: /healthz %d on try %d, want 200", code, i+1)
		}
	}

	a.srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for healthz() != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("a stopped, b NOT_SERVING: /healthz still not 503 after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	b.setServing(true)
	for healthz() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("b SERVING again: /healthz still not 200")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
