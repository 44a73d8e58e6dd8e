package main

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/synergycall/pbx-portal/gateway/internal/httpapi"
)

// startServing runs the gateway's REST side as run does, from env, on a
// loopback port, against a backend address where nothing listens (what the
// gateway answers by itself needs none). It returns the listener's address.
func startServing(t *testing.T, vars map[string]string) string {
	t.Helper()
	cfg, err := configFromEnv(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := httpapi.Dial("127.0.0.1:1", cfg.grpcTLS, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	log := slog.New(slog.DiscardHandler)
	handler, err := httpapi.New(context.Background(), conn, httpapi.Config{MaxBodyBytes: 1024, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, log, newHTTPServer(handler, cfg.httpTLS, log), lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return lis.Addr().String()
}

func get(t *testing.T, client *http.Client, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, client, req)
}

// do sends req and reads its answer to the end.
func do(t *testing.T, client *http.Client, req *http.Request) *http.Response {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestServesHTTPSOnlyWhenGivenACertificate(t *testing.T) {
	p := newPKI(t)
	addr := startServing(t, map[string]string{"PBX_HTTP_TLS_CERT_FILE": p.serverCert, "PBX_HTTP_TLS_KEY_FILE": p.serverKey})
	roots, err := loadCertPool("PBX_GRPC_TLS_CA_FILE", p.caFile)
	if err != nil {
		t.Fatal(err)
	}

	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2: proto == "HTTP/2.0",
		}}
		resp := get(t, client, "https://"+addr+"/openapi.json")
		if resp.StatusCode != http.StatusOK || resp.Proto != proto || resp.TLS == nil {
			t.Fatalf("%s: status %d over %s", proto, resp.StatusCode, resp.Proto)
		}
		// The body checks hold over either protocol.
		for _, tc := range []struct {
			contentType, body string
			status            int
		}{
			{"text/plain", "hello", http.StatusUnsupportedMediaType},
			{"application/json", `{"name":"` + strings.Repeat("a", 2048) + `"}`, http.StatusRequestEntityTooLarge},
		} {
			resp, err := client.Post("https://"+addr+"/users", tc.contentType, strings.NewReader(tc.body))
			if err != nil {
				t.Fatalf("%s %s: %v", proto, tc.contentType, err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s: status %d, want %d", proto, tc.contentType, resp.StatusCode, tc.status)
			}
		}
		if proto == "HTTP/2.0" {
			// A refused body ends its own stream, not the connection the
			// client's other requests share.
			reused := false
			trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
				http.MethodGet, "https://"+addr+"/openapi.json", nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp := do(t, client, req); resp.StatusCode != http.StatusOK || !reused {
				t.Errorf("HTTP/2: status %d; connection reused after the refusals: %v", resp.StatusCode, reused)
			}
		}
		client.CloseIdleConnections()
	}

	// Plain HTTP on the HTTPS port reaches no route.
	if resp := get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/openapi.json"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain HTTP: status %d, want 400", resp.StatusCode)
	}
}

func TestServesPlainHTTPByDefault(t *testing.T) {
	addr := startServing(t, nil)
	if resp := get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/openapi.json"); resp.StatusCode != http.StatusOK || resp.TLS != nil {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
