package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// serveWithRequestID runs one request through RequestID and returns the id
// the inner handler saw and the response's X-Request-Id.
func serveWithRequestID(t *testing.T, header []string) (seen, answered string) {
	t.Helper()
	h := RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen = RequestIDFrom(r.Context())
	}))
	r := httptest.NewRequest(http.MethodGet, "/users", nil)
	for _, v := range header {
		r.Header.Add("X-Request-Id", v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return seen, w.Header().Get("X-Request-Id")
}

func TestRequestIDKeepsAValidID(t *testing.T) {
	for _, id := range []string{"abc-123", "A.b_c:d-9", strings.Repeat("x", 128)} {
		seen, answered := serveWithRequestID(t, []string{id})
		if seen != id || answered != id {
			t.Errorf("X-Request-Id %q: handler saw %q, response has %q", id, seen, answered)
		}
	}
}

func TestRequestIDReplacesAnInvalidID(t *testing.T) {
	for _, id := range []string{"", "has space", `a"b`, "a\tb", "caf\u00e9", "a/b", strings.Repeat("x", 129)} {
		seen, answered := serveWithRequestID(t, []string{id})
		if !generatedID.MatchString(seen) || answered != seen {
			t.Errorf("X-Request-Id %q: handler saw %q, response has %q; want one new id", id, seen, answered)
		}
	}
}

func TestRequestIDGeneratesAFreshIDWhenAbsent(t *testing.T) {
	first, answered := serveWithRequestID(t, nil)
	if !generatedID.MatchString(first) || answered != first {
		t.Fatalf("handler saw %q, response has %q; want the same new id", first, answered)
	}
	if second, _ := serveWithRequestID(t, nil); second == first {
		t.Errorf("two requests got the same id %q", first)
	}
}

func TestRequestIDMetadataCarriesTheID(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/users", nil)
	if md := RequestIDMetadata(context.Background(), r); md != nil {
		t.Errorf("outside RequestID: want no metadata, got %v", md)
	}
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, "abc-123"))
	md := RequestIDMetadata(context.Background(), r)
	if got := md.Get("x-request-id"); len(got) != 1 || got[0] != "abc-123" {
		t.Errorf("x-request-id = %v, want [abc-123]", got)
	}
}

func TestIncomingHeadersDropsARawRequestID(t *testing.T) {
	for _, key := range []string{"Grpc-Metadata-X-Request-Id", "X-Request-Id"} {
		if got, ok := IncomingHeaders(key); ok {
			t.Errorf("IncomingHeaders(%q) = %q, true; want it dropped", key, got)
		}
	}
}

func TestGatewayForwardsTheRequestIDAndLogsIt(t *testing.T) {
	var logged bytes.Buffer
	g := startGateway(t, withLog(&logged))

	req, _ := http.NewRequest(http.MethodGet, g.url+"/users", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	req.Header.Set("Grpc-Metadata-X-Request-Id", "forged") // must not reach the server
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-Id") != "abc-123" {
		t.Fatalf("status %d, X-Request-Id %q; want 200 and abc-123", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	if sent := g.users.lastRequestIDs(); len(sent) != 1 || sent[0] != "abc-123" {
		t.Errorf("server got x-request-id %v, want [abc-123]", sent)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logged.Bytes()), &line); err != nil {
		t.Fatalf("access log %q: %v", logged.String(), err)
	}
	if line["request_id"] != "abc-123" {
		t.Errorf("access log request_id = %v, want abc-123: %s", line["request_id"], logged.String())
	}
}
