package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAccessLogOneLinePerRequestWithoutBody(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	h := AccessLog(log, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"password":"s3cret"}`))
	}))
	r := httptest.NewRequest(http.MethodPost, "/users", strings.NewReader(`{"name":"secret-name"}`))
	r.RemoteAddr = "127.0.0.1:4242"
	h.ServeHTTP(httptest.NewRecorder(), r)

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %q", out.String())
	}
	if strings.Contains(lines[0], "secret") {
		t.Fatalf("log leaks a body: %s", lines[0])
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"method": "POST", "path": "/users", "status": 201.0, "bytes": 21.0, "remote": "127.0.0.1:4242"} {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v", k, rec[k], v)
		}
	}
	if _, ok := rec["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms missing: %s", lines[0])
	}
}
