package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	adminToken  = "pbx_admin-token"
	viewerToken = "pbx_viewer-token"
)

// fakeAuth authenticates like the server: health stays open; every other call
// needs the authorization metadata of a known token, and a viewer may only
// list. One message for every refused token, as the server has.
func fakeAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, "/grpc.health.v1.") {
		return handler(ctx, req)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	switch strings.Join(md.Get("authorization"), ",") {
	case "Bearer " + adminToken:
		return handler(ctx, req)
	case "Bearer " + viewerToken:
		if strings.HasSuffix(info.FullMethod, "/ListUsers") {
			return handler(ctx, req)
		}
		return nil, status.Error(codes.PermissionDenied, "the API key viewer has role viewer; "+info.FullMethod+" needs operator")
	}
	return nil, status.Error(codes.Unauthenticated, "missing or invalid API token")
}

func authGateway(t *testing.T) *gateway {
	t.Helper()
	g := startGateway(t, withServerOptions(grpc.ChainUnaryInterceptor(fakeAuth)))
	g.health.SetServingStatus("", grpc_health_v1.HealthCheckResponse_SERVING)
	return g
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// The Authorization header reaches the server as authorization metadata, once:
// not also as grpcgateway-authorization, which the server would not consume.
func TestGatewayForwardsAuthorizationOnce(t *testing.T) {
	g := authGateway(t)
	resp, body := g.send(t, "GET", "/users", "", bearer(adminToken))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	md := g.metadata.lastCall()
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+adminToken {
		t.Fatalf("authorization metadata = %q, want the header once", got)
	}
	for key, values := range md {
		for _, v := range values {
			if key != "authorization" && strings.Contains(v, adminToken) {
				t.Errorf("the token is also in metadata %s", key)
			}
		}
	}
}

// X-Admin-User means nothing any more: neither it nor a Grpc-Metadata-
// spelling of it (or of authorization) reaches the server.
func TestGatewayForwardsNeitherAdminUserNorGrpcMetadataHeaders(t *testing.T) {
	g := authGateway(t)
	header := bearer(adminToken)
	header.Set("X-Admin-User", "mallory")
	header.Set("Grpc-Metadata-X-Admin-User", "mallory")
	header.Set("Grpc-Metadata-Authorization", "Bearer "+viewerToken)
	resp, body := g.send(t, "GET", "/users", "", header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	md := g.metadata.lastCall()
	for key, values := range md {
		if strings.Contains(key, "admin-user") {
			t.Errorf("metadata %s = %q forwarded", key, values)
		}
		for _, v := range values {
			if strings.Contains(v, "mallory") || strings.Contains(v, viewerToken) {
				t.Errorf("metadata %s carries %q", key, v)
			}
		}
	}
	if got := md.Get("authorization"); len(got) != 1 {
		t.Errorf("authorization metadata = %q, want the Authorization header alone", got)
	}
}

// UNAUTHENTICATED is 401 with a Bearer challenge, and a missing token and an
// unknown one get the same answer but for the challenge's error code, which
// only says whether the client sent credentials.
func TestGatewayAnswers401WithABearerChallenge(t *testing.T) {
	g := authGateway(t)
	missing, missingBody := g.send(t, "GET", "/users", "", http.Header{})
	unknown, unknownBody := g.send(t, "GET", "/users", "", bearer("pbx_unknown"))
	for _, tc := range []struct {
		name      string
		resp      *http.Response
		body      string
		challenge string
	}{
		{"no token", missing, missingBody, `Bearer realm="pbx"`},
		{"unknown token", unknown, unknownBody, `Bearer realm="pbx", error="invalid_token"`},
	} {
		if tc.resp.StatusCode != http.StatusUnauthorized || !strings.Contains(compactJSON(t, tc.body), `"code":16`) {
			t.Errorf("%s: status %d body %s, want 401 with code 16", tc.name, tc.resp.StatusCode, tc.body)
		}
		if got := tc.resp.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != tc.challenge {
			t.Errorf("%s: WWW-Authenticate = %q, want %q", tc.name, got, tc.challenge)
		}
	}
	if missingBody != unknownBody {
		t.Errorf("a missing and an unknown token are told apart: %s vs %s", missingBody, unknownBody)
	}
}

func TestGatewayAnswers403WhenTheRoleIsTooLow(t *testing.T) {
	g := authGateway(t)
	header := bearer(viewerToken)
	header.Set("Content-Type", "application/json")
	resp, body := g.send(t, "POST", "/users", `{"name":"Ada","email":"ada@example.com"}`, header)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(compactJSON(t, body), `"code":7`) {
		t.Fatalf("status %d body %s, want 403 with code 7", resp.StatusCode, body)
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="pbx", error="insufficient_scope"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	if resp, body := g.send(t, "GET", "/users", "", bearer(viewerToken)); resp.StatusCode != http.StatusOK {
		t.Fatalf("viewer listing: status %d body %s", resp.StatusCode, body)
	}
}

// What the gateway answers itself needs no token.
func TestGatewayHealthOpenAPIAndMetricsNeedNoToken(t *testing.T) {
	g := authGateway(t)
	for _, path := range []string{"/healthz", "/openapi.json", "/metrics"} {
		if resp, body := g.send(t, "GET", path, "", http.Header{}); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d body %.200s", path, resp.StatusCode, body)
		}
	}
}
