package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pbxv1 "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
)

// fakeUsers stands in for the C++ server: just enough behaviour to exercise
// every transport path. The test backend registers no ApplyService, so a call
// to it shows how the gateway answers a service the backend lacks
// (UNIMPLEMENTED, 501).
type fakeUsers struct {
	pbxv1.UnimplementedUserServiceServer
	sawDeadline atomic.Bool

	mu         sync.Mutex
	requestIDs []string      // the x-request-id metadata of the last ListUsers call
	list       []*pbxv1.User // what ListUsers answers
}

var testUser = &pbxv1.User{
	Id: "0b0c6a52-3c1e-4e40-9a8b-6c0b7e3b2f11", TenantId: "default", Name: "Ada", Email: "ada@example.com",
	Extension: 1000, CreatedAt: timestamppb.New(time.Unix(1700000000, 0)),
}

func invalidID() error {
	st, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "id", Description: "must be a UUID"}},
	})
	return st.Err()
}

func (f *fakeUsers) CreateUser(ctx context.Context, req *pbxv1.CreateUserRequest) (*pbxv1.CreateUserResponse, error) {
	_, ok := ctx.Deadline()
	f.sawDeadline.Store(ok)
	switch req.GetEmail() {
	case "full@example.com":
		return nil, poolExhausted()
	case "overloaded@example.com": // as gRPC says when the server has no thread left
		return nil, status.Error(codes.ResourceExhausted, "Server Threadpool Exhausted")
	}
	return &pbxv1.CreateUserResponse{
		User:           testUser,
		SipCredentials: &pbxv1.SipCredentials{UserId: testUser.Id, Extension: 1000, Username: "1000", Password: "pw"},
	}, nil
}

func (f *fakeUsers) GetUser(_ context.Context, req *pbxv1.GetUserRequest) (*pbxv1.GetUserResponse, error) {
	switch req.GetId() {
	case testUser.Id:
		return &pbxv1.GetUserResponse{User: testUser}, nil
	case "not-a-uuid":
		return nil, invalidID()
	}
	return nil, status.Error(codes.NotFound, "user not found")
}

func (f *fakeUsers) ListUsers(ctx context.Context, _ *pbxv1.ListUsersRequest) (*pbxv1.ListUsersResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.requestIDs = md.Get("x-request-id")
	list := f.list
	f.mu.Unlock()
	return &pbxv1.ListUsersResponse{Users: list}, nil
}

// answerListWith makes ListUsers answer users.
func (f *fakeUsers) answerListWith(users []*pbxv1.User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = users
}

// lastRequestIDs is the x-request-id metadata the last ListUsers call carried.
func (f *fakeUsers) lastRequestIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requestIDs
}

func (f *fakeUsers) DeleteUser(context.Context, *pbxv1.DeleteUserRequest) (*pbxv1.DeleteUserResponse, error) {
	return &pbxv1.DeleteUserResponse{}, nil
}

// fakeKeys stands in for the server's ApiKeyService: one live key.
type fakeKeys struct {
	pbxv1.UnimplementedApiKeyServiceServer
}

var testKey = &pbxv1.ApiKey{
	Id: "5f0d2c1e-8a43-4c55-9d3e-2b7f4e6a1c09", Name: "ci", Role: "operator",
	CreatedAt: timestamppb.New(time.Unix(1700000000, 0)),
}

func (fakeKeys) CreateApiKey(_ context.Context, req *pbxv1.CreateApiKeyRequest) (*pbxv1.CreateApiKeyResponse, error) {
	key := &pbxv1.ApiKey{Id: testKey.Id, Name: req.GetName(), Role: req.GetRole(), CreatedAt: testKey.CreatedAt}
	return &pbxv1.CreateApiKeyResponse{ApiKey: key, Token: "pbx_" + strings.Repeat("t", 43)}, nil
}

func (fakeKeys) ListApiKeys(context.Context, *pbxv1.ListApiKeysRequest) (*pbxv1.ListApiKeysResponse, error) {
	return &pbxv1.ListApiKeysResponse{ApiKeys: []*pbxv1.ApiKey{testKey}}, nil
}

func (fakeKeys) DeleteApiKey(_ context.Context, req *pbxv1.DeleteApiKeyRequest) (*pbxv1.DeleteApiKeyResponse, error) {
	if req.GetId() != testKey.Id {
		return nil, status.Error(codes.NotFound, "API key not found")
	}
	return &pbxv1.DeleteApiKeyResponse{}, nil
}

type gateway struct {
	url      string
	users    *fakeUsers
	health   *health.Server
	metadata *metadataRecorder
}

// metadataRecorder keeps the incoming metadata of the fake backend's last call.
type metadataRecorder struct {
	mu   sync.Mutex
	last metadata.MD
}

func (m *metadataRecorder) intercept(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	m.mu.Lock()
	m.last = md.Copy()
	m.mu.Unlock()
	return handler(ctx, req)
}

// lastCall is the metadata the backend's last call carried.
func (m *metadataRecorder) lastCall() metadata.MD {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// gatewaySetup is what startGateway builds: the handler's Config and the
// options of the fake backend's gRPC server.
type gatewaySetup struct {
	cfg           Config
	serverOptions []grpc.ServerOption
}

// gatewayOption adjusts what startGateway builds.
type gatewayOption func(*gatewaySetup)

// withLog sends the access log, as JSON lines, to w instead of discarding it.
func withLog(w io.Writer) gatewayOption {
	return func(s *gatewaySetup) { s.cfg.Log = slog.New(slog.NewJSONHandler(w, nil)) }
}

// withServerOptions starts the fake backend with these gRPC server options.
func withServerOptions(opts ...grpc.ServerOption) gatewayOption {
	return func(s *gatewaySetup) { s.serverOptions = append(s.serverOptions, opts...) }
}

func startGateway(t *testing.T, opts ...gatewayOption) *gateway {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	setup := gatewaySetup{cfg: Config{MaxBodyBytes: 1024, Log: slog.New(slog.DiscardHandler)}}
	for _, o := range opts {
		o(&setup)
	}
	g := &gateway{users: &fakeUsers{}, health: health.NewServer(), metadata: &metadataRecorder{}}
	srv := grpc.NewServer(append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(g.metadata.intercept)},
		setup.serverOptions...)...)
	pbxv1.RegisterUserServiceServer(srv, g.users)
	pbxv1.RegisterApiKeyServiceServer(srv, fakeKeys{})
	grpc_health_v1.RegisterHealthServer(srv, g.health)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := Dial(lis.Addr().String(), nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h, err := New(context.Background(), conn, setup.cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	g.url = hs.URL
	return g
}

// do sends body (when not empty) as JSON and returns the answer's status and body.
func (g *gateway) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	header := http.Header{}
	if body != "" {
		header.Set("Content-Type", "application/json")
	}
	resp, b := g.send(t, method, path, body, header)
	return resp.StatusCode, b
}

// send makes a request with exactly these headers and returns the answer
// with its body read.
func (g *gateway) send(t *testing.T, method, path, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestGatewayEndToEnd(t *testing.T) {
	g := startGateway(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 []string
	}{
		{"create answers 201 with proto names", "POST", "/users", `{"name":"Ada","email":"ada@example.com","metadata":{"team":"ops"}}`,
			201, []string{`"sip_credentials":{`, `"tenant_id":"default"`, `"created_at":"2023-11-14T22:13:20Z"`, `"extension_allocated_at":null`, `"metadata":{}`}},
		{"unknown field is 400", "POST", "/users", `{"name":"Ada","email":"ada@example.com","nickname":"x"}`,
			400, []string{`"code":3`, `nickname`}},
		{"pool exhausted is 409", "POST", "/users", `{"name":"Ada","email":"full@example.com"}`,
			409, []string{`"code":8`, `exhausted`, `"reason":"EXTENSION_POOL_EXHAUSTED"`}},
		{"gRPC's own RESOURCE_EXHAUSTED is 503", "POST", "/users", `{"name":"Ada","email":"overloaded@example.com"}`,
			503, []string{`"code":8`, `Threadpool`, `"details":[]`}},
		{"list is a bare empty array", "GET", "/users", "", 200, []string{`[]`}},
		{"get returns the bare user", "GET", "/users/" + testUser.Id, "", 200, []string{`"id":"` + testUser.Id + `"`, `"tenant_id":"default"`}},
		{"malformed id is 400 with BadRequest", "GET", "/users/not-a-uuid", "", 400,
			[]string{`"@type":"type.googleapis.com/google.rpc.BadRequest"`, `"field_violations":[{`, `"field":"id"`}},
		{"missing user is 404", "GET", "/users/0b0c6a52-0000-4e40-9a8b-6c0b7e3b2f11", "", 404, []string{`"code":5`}},
		{"delete answers {}", "DELETE", "/users/" + testUser.Id, "", 200, []string{`{}`}},
		{"create API key answers 201 with the token", "POST", "/api-keys", `{"name":"ci","role":"operator"}`,
			201, []string{`"api_key":{`, `"role":"operator"`, `"last_used_at":null`, `"token":"pbx_ttt`}},
		{"list API keys is a bare array", "GET", "/api-keys", "", 200, []string{`[{"created_at":`, `"id":"` + testKey.Id + `"`}},
		{"delete API key answers {}", "DELETE", "/api-keys/" + testKey.Id, "", 200, []string{`{}`}},
		{"unknown API key is 404", "DELETE", "/api-keys/0b0c6a52-0000-4e40-9a8b-6c0b7e3b2f11", "", 404, []string{`"code":5`}},
		{"a service the backend does not register is 501", "POST", "/apply", `{}`, 501, []string{`"code":12`}},
		{"unknown path is 404 JSON", "GET", "/nope", "", 404, []string{`"code":5`}},
		{"oversized body is 413 JSON", "POST", "/users", `{"name":"` + strings.Repeat("a", 2048) + `"}`, 413, []string{`"code":3`, `"details":[]`}},
		{"openapi is served", "GET", "/openapi.json", "", 200, []string{`"swagger": "2.0"`, `"/users/{id}/sip-credentials"`, `"/api-keys/{id}"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := g.do(t, tc.method, tc.path, tc.body)
			if code != tc.status {
				t.Fatalf("status %d, want %d; body %s", code, tc.status, body)
			}
			compact := body
			if !strings.HasPrefix(tc.path, "/openapi") {
				compact = compactJSON(t, body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(compact, s) {
					t.Errorf("body %s lacks %s", compact, s)
				}
			}
		})
	}
	if !g.users.sawDeadline.Load() {
		t.Error("backend call carried no deadline")
	}
}

// maximalUsers are n users with every field at the server's validation limit
// (100-code-point name, 254-character email, 32 metadata entries of a 64-byte
// key and a 512-byte value): about 19.5 KB each in protobuf.
func maximalUsers(n int) []*pbxv1.User {
	users := make([]*pbxv1.User, n)
	for i := range users {
		metadata := make(map[string]string, 32)
		for k := range 32 {
			metadata[fmt.Sprintf("%02d%s", k, strings.Repeat("k", 62))] = strings.Repeat("v", 512)
		}
		users[i] = &pbxv1.User{
			Id: testUser.Id, TenantId: testUser.TenantId, Extension: int32(1000 + i),
			Name:     strings.Repeat("\U0001F600", 100),
			Email:    fmt.Sprintf("%04d%s@example.com", i, strings.Repeat("e", 238)),
			Metadata: metadata, CreatedAt: testUser.CreatedAt, ExtensionAllocatedAt: testUser.CreatedAt,
		}
	}
	return users
}

// A full pool of maximal users is some 19.5 MB, far over gRPC's default
// 4 MiB; the gateway must take it.
func TestGatewayListsAFullPoolOfMaximalUsers(t *testing.T) {
	g := startGateway(t)
	g.users.answerListWith(maximalUsers(1000))
	code, body := g.do(t, "GET", "/users", "")
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %.300s", code, body)
	}
	var users []map[string]any
	if err := json.Unmarshal([]byte(body), &users); err != nil || len(users) != 1000 {
		t.Fatalf("want a JSON array of 1000 users, got %d (%v)", len(users), err)
	}
}

// When gRPC itself refuses a message over a size limit (here the server's
// send limit), the list is the service failing: 503, not the 409 of a conflict.
func TestGatewayAnswers503WhenAMessageExceedsAGRPCSizeLimit(t *testing.T) {
	g := startGateway(t, withServerOptions(grpc.MaxSendMsgSize(64<<10)))
	g.users.answerListWith(maximalUsers(10))
	code, body := g.do(t, "GET", "/users", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"code":8`) {
		t.Fatalf("status %d body %.300s, want 503 with code 8", code, body)
	}
}

// A chunked body has no Content-Length, so only the read can catch it; it must
// still be 413, not the 400 grpc-gateway gives a truncated body.
func TestGatewayChunkedOversizedBodyIs413(t *testing.T) {
	g := startGateway(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	chunk := `{"name":"` + strings.Repeat("a", 2048) + `"}`
	_, err = fmt.Fprintf(conn, "POST /users HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"+
		"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), `"code":3`) {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
}

func TestGatewayHealthz(t *testing.T) {
	g := startGateway(t)
	g.health.SetServingStatus("", grpc_health_v1.HealthCheckResponse_SERVING)
	if code, body := g.do(t, "GET", "/healthz", ""); code != 200 {
		t.Fatalf("SERVING: status %d body %s", code, body)
	}
	g.health.SetServingStatus("", grpc_health_v1.HealthCheckResponse_NOT_SERVING)
	if code, body := g.do(t, "GET", "/healthz", ""); code != 503 {
		t.Fatalf("NOT_SERVING: status %d body %s", code, body)
	}
}

func TestGatewayHealthzServerDown(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close() // nothing listens there now
	conn, err := Dial(addr, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := serveOnce(t, conn, http.MethodGet, "/healthz")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d body %s", w.Code, w.Body.String())
	}
}

// serveOnce answers one bodyless request through a gateway over conn.
func serveOnce(t *testing.T, conn *grpc.ClientConn, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	h, err := New(context.Background(), conn, Config{MaxBodyBytes: 1024, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %q", s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
