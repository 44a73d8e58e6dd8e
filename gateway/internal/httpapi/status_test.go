package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// poolExhausted is the server's extension-pool error, ErrorInfo and all.
func poolExhausted() error {
	st, _ := status.New(codes.ResourceExhausted, "extension pool 1000-1999 is exhausted").WithDetails(
		&errdetails.ErrorInfo{Domain: serverErrorDomain, Reason: reasonExtensionPoolExhausted})
	return st.Err()
}

func withErrorInfo(t *testing.T, st *status.Status, domain, reason string) error {
	t.Helper()
	st, err := st.WithDetails(&errdetails.ErrorInfo{Domain: domain, Reason: reason})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestHTTPStatusTable(t *testing.T) {
	want := map[codes.Code]int{
		codes.InvalidArgument:   400,
		codes.NotFound:          404,
		codes.AlreadyExists:     409,
		codes.ResourceExhausted: 503, // without the pool's ErrorInfo: gRPC's own, the service failing
		codes.Unavailable:       503,
		codes.Internal:          500,
		codes.Unimplemented:     501,
		codes.DeadlineExceeded:  504,
	}
	for c, w := range want {
		if got := HTTPStatus(status.New(c, "x")); got != w {
			t.Errorf("HTTPStatus(%v) = %d, want %d", c, got, w)
		}
	}
	// Every code but RESOURCE_EXHAUSTED follows grpc-gateway.
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if c == codes.ResourceExhausted {
			continue
		}
		if got, def := HTTPStatus(status.New(c, "x")), runtime.HTTPStatusFromCode(c); got != def {
			t.Errorf("HTTPStatus(%v) = %d, want grpc-gateway default %d", c, got, def)
		}
	}
}

// Only the extension pool's RESOURCE_EXHAUSTED is the caller's conflict; the
// ErrorInfo must match in domain and reason.
func TestHTTPStatusOfResourceExhausted(t *testing.T) {
	exhausted := status.New(codes.ResourceExhausted, "x")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"extension pool exhausted", poolExhausted(), 409},
		{"gRPC's message size limit", status.Error(codes.ResourceExhausted,
			"grpc: received message larger than max (4895689 vs. 4194304)"), 503},
		{"another reason", withErrorInfo(t, exhausted, serverErrorDomain, "SOMETHING_ELSE"), 503},
		{"the reason from another domain", withErrorInfo(t, exhausted, "example.com", reasonExtensionPoolExhausted), 503},
	}
	for _, tc := range tests {
		if got := HTTPStatus(status.Convert(tc.err)); got != tc.want {
			t.Errorf("%s: HTTPStatus = %d, want %d", tc.name, got, tc.want)
		}
	}
}

type errorBody struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

func serveError(t *testing.T, err error) (*httptest.ResponseRecorder, errorBody) {
	t.Helper()
	return serveErrorFor(t, httptest.NewRequest(http.MethodGet, "/x", nil), err)
}

// serveErrorFor answers err to the request r as the gateway does.
func serveErrorFor(t *testing.T, r *http.Request, err error) (*httptest.ResponseRecorder, errorBody) {
	t.Helper()
	mux := runtime.NewServeMux(runtime.WithErrorHandler(ErrorHandler))
	w := httptest.NewRecorder()
	ErrorHandler(context.Background(), mux, Marshaler(), w, r, err)
	var body errorBody
	if jerr := json.Unmarshal(w.Body.Bytes(), &body); jerr != nil {
		t.Fatalf("error body %q is not JSON: %v", w.Body.String(), jerr)
	}
	return w, body
}

func TestErrorHandlerAnswers409ForThePoolExhausted(t *testing.T) {
	w, body := serveError(t, poolExhausted())
	if w.Code != http.StatusConflict {
		t.Fatalf("status = %d, want 409", w.Code)
	}
	if body.Code != int(codes.ResourceExhausted) || body.Message != "extension pool 1000-1999 is exhausted" {
		t.Fatalf("body = %+v", body)
	}
	if len(body.Details) != 1 || !strings.Contains(string(body.Details[0]), `"reason":"EXTENSION_POOL_EXHAUSTED"`) {
		t.Fatalf("the ErrorInfo detail is not passed on: %s", w.Body.String())
	}
}

// A transport failure (here the client's message size limit, as ListUsers hit
// it) is the service failing: 503, never the 409 of a conflict, in the usual
// body.
func TestErrorHandlerAnswers503ForGRPCsOwnResourceExhausted(t *testing.T) {
	const msg = "grpc: received message larger than max (4895689 vs. 4194304)"
	w, body := serveError(t, status.Error(codes.ResourceExhausted, msg))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
	if body.Code != int(codes.ResourceExhausted) || body.Message != msg {
		t.Fatalf("body = %+v", body)
	}
	if body.Details == nil {
		t.Fatalf("details must be emitted as [] even when empty: %s", w.Body.String())
	}
}

func TestErrorHandlerKeepsExplicitStatus(t *testing.T) {
	err := &runtime.HTTPStatusError{HTTPStatus: 413, Err: status.Error(codes.ResourceExhausted, "big")}
	if w, _ := serveError(t, err); w.Code != 413 {
		t.Fatalf("status = %d, want 413", w.Code)
	}
}

// RFC 6750: every 401 carries a Bearer challenge, with error="invalid_token"
// only when the client sent credentials; a 403 says insufficient_scope; other
// answers have none.
func TestErrorHandlerAnswersBearerChallenges(t *testing.T) {
	const unauthenticated = "missing or invalid API token"
	tests := []struct {
		name          string
		authorization string
		err           error
		status        int
		challenge     string
	}{
		{"no token", "", status.Error(codes.Unauthenticated, unauthenticated), 401, `Bearer realm="pbx"`},
		{"a token the server refused", "Bearer pbx_unknown", status.Error(codes.Unauthenticated, unauthenticated),
			401, `Bearer realm="pbx", error="invalid_token"`},
		{"another scheme", "Basic YTpi", status.Error(codes.Unauthenticated, unauthenticated),
			401, `Bearer realm="pbx", error="invalid_token"`},
		{"role too low", "Bearer pbx_viewer", status.Error(codes.PermissionDenied, "the API key ci has role viewer"),
			403, `Bearer realm="pbx", error="insufficient_scope"`},
		{"not found", "Bearer pbx_admin", status.Error(codes.NotFound, "user not found"), 404, ""},
		{"explicit 413", "", &runtime.HTTPStatusError{HTTPStatus: 413, Err: status.Error(codes.InvalidArgument, "big")}, 413, ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		if tc.authorization != "" {
			r.Header.Set("Authorization", tc.authorization)
		}
		w, _ := serveErrorFor(t, r, tc.err)
		if w.Code != tc.status {
			t.Errorf("%s: status %d body %s, want %d", tc.name, w.Code, w.Body.String(), tc.status)
		}
		if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
			t.Errorf("%s: WWW-Authenticate = %q, want %q", tc.name, got, tc.challenge)
		}
	}
}

func TestErrorHandlerRendersBadRequest(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "invalid user").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "name", Description: "must not be empty"},
			{Field: "email", Description: "not an email address"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w, body := serveError(t, st.Err())
	if w.Code != http.StatusBadRequest || len(body.Details) != 1 {
		t.Fatalf("status %d body %s", w.Code, w.Body.String())
	}
	var d struct {
		Type       string `json:"@type"`
		Violations []struct {
			Field       string `json:"field"`
			Description string `json:"description"`
		} `json:"field_violations"`
	}
	if err := json.Unmarshal(body.Details[0], &d); err != nil {
		t.Fatal(err)
	}
	if d.Type != "type.googleapis.com/google.rpc.BadRequest" || len(d.Violations) != 2 || d.Violations[1].Field != "email" {
		t.Fatalf("detail = %s", body.Details[0])
	}
}

func TestRoutingErrorHandlerAnswers405ForAWrongMethod(t *testing.T) {
	mux := runtime.NewServeMux(runtime.WithRoutingErrorHandler(RoutingErrorHandler))
	if err := mux.HandlePath(http.MethodGet, "/users", func(w http.ResponseWriter, r *http.Request, _ map[string]string) {}); err != nil {
		t.Fatal(err)
	}
	for method, want := range map[string]int{http.MethodPut: http.StatusMethodNotAllowed} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, "/users", nil))
		if rec.Code != want {
			t.Errorf("%s /users = %d, want %d (body %s)", method, rec.Code, want, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /nowhere = %d, want 404", rec.Code)
	}
}
