package main

import (
	"strings"
	"testing"
	"time"

	"github.com/synergycall/pbx-portal/gateway/internal/testpki"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	c, err := configFromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.httpListen != "127.0.0.1:8080" || c.grpcTarget != "127.0.0.1:50051" || c.maxBodyBytes != 65536 || c.maxBatchBodyBytes != 20<<20 ||
		c.callTimeout != 180*time.Second || c.httpTLS != nil || c.grpcTLS != nil {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestConfigFromEnv(t *testing.T) {
	c, err := configFromEnv(env(map[string]string{
		"PBX_HTTP_LISTEN": "127.0.0.1:9", "PBX_GRPC_TARGET": "127.0.0.1:7", "PBX_MAX_BODY_BYTES": "10",
		"PBX_GATEWAY_CALL_TIMEOUT_S": "7", "PBX_MAX_BATCH_BODY_BYTES": "100",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.httpListen != "127.0.0.1:9" || c.grpcTarget != "127.0.0.1:7" || c.maxBodyBytes != 10 ||
		c.maxBatchBodyBytes != 100 || c.callTimeout != 7*time.Second {
		t.Fatalf("config = %+v", c)
	}
}

func TestConfigRejectsBadBodyLimit(t *testing.T) {
	for _, key := range []string{"PBX_MAX_BODY_BYTES", "PBX_MAX_BATCH_BODY_BYTES"} {
		for _, v := range []string{"0", "-1", "64k", "x"} {
			if _, err := configFromEnv(env(map[string]string{key: v})); err == nil {
				t.Errorf("%s=%q accepted", key, v)
			}
		}
	}
}

func TestConfigRejectsBadCallTimeout(t *testing.T) {
	for _, v := range []string{"0", "-1", "x", "1.5", "10000000000"} {
		if _, err := configFromEnv(env(map[string]string{"PBX_GATEWAY_CALL_TIMEOUT_S": v})); err == nil {
			t.Errorf("PBX_GATEWAY_CALL_TIMEOUT_S=%q accepted", v)
		}
	}
}

// pki is a CA with a server and a client certificate, as PEM files.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	ca := testpki.NewCA(t, "portal CA")
	server := ca.Issue(t, "pbx-server", "127.0.0.1")
	client := ca.Issue(t, "pbx-gateway")
	return pki{
		caFile:     testpki.WriteFile(t, "ca.pem", ca.CertPEM),
		serverCert: testpki.WriteFile(t, "server.pem", server.CertPEM),
		serverKey:  testpki.WriteFile(t, "server.key", server.KeyPEM),
		clientCert: testpki.WriteFile(t, "client.pem", client.CertPEM),
		clientKey:  testpki.WriteFile(t, "client.key", client.KeyPEM),
	}
}

func TestConfigTLSFromEnv(t *testing.T) {
	p := newPKI(t)
	c, err := configFromEnv(env(map[string]string{
		"PBX_HTTP_TLS_CERT_FILE": p.serverCert, "PBX_HTTP_TLS_KEY_FILE": p.serverKey,
		"PBX_GRPC_TLS_CA_FILE": p.caFile, "PBX_GRPC_TLS_CERT_FILE": p.clientCert, "PBX_GRPC_TLS_KEY_FILE": p.clientKey,
		"PBX_GRPC_TLS_SERVER_NAME": "pbx-server.internal",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.httpTLS == nil || len(c.httpTLS.Certificates) != 1 {
		t.Fatalf("httpTLS = %+v, want the server certificate", c.httpTLS)
	}
	if c.grpcTLS == nil || c.grpcTLS.RootCAs == nil || len(c.grpcTLS.Certificates) != 1 ||
		c.grpcTLS.ServerName != "pbx-server.internal" {
		t.Fatalf("grpcTLS = %+v, want the CA, the client certificate and the server name", c.grpcTLS)
	}

	// The CA alone: TLS to the server without a client certificate.
	c, err = configFromEnv(env(map[string]string{"PBX_GRPC_TLS_CA_FILE": p.caFile}))
	if err != nil {
		t.Fatal(err)
	}
	if c.grpcTLS == nil || len(c.grpcTLS.Certificates) != 0 || c.grpcTLS.ServerName != "" || c.httpTLS != nil {
		t.Fatalf("config = %+v", c)
	}
}

// A missing, unreadable or mismatched file, or a setting that needs another,
// stops the gateway at start with an error naming the variables.
func TestConfigRejectsBadTLS(t *testing.T) {
	p := newPKI(t)
	missing := p.caFile + ".missing"
	garbage := testpki.WriteFile(t, "garbage.pem", []byte("not PEM\n"))
	tests := []struct {
		name string
		env  map[string]string
		want []string // in the error
	}{
		{"HTTP certificate without key", map[string]string{"PBX_HTTP_TLS_CERT_FILE": p.serverCert},
			[]string{"PBX_HTTP_TLS_CERT_FILE and PBX_HTTP_TLS_KEY_FILE"}},
		{"HTTP key without certificate", map[string]string{"PBX_HTTP_TLS_KEY_FILE": p.serverKey},
			[]string{"PBX_HTTP_TLS_CERT_FILE and PBX_HTTP_TLS_KEY_FILE"}},
		{"HTTP certificate missing", map[string]string{"PBX_HTTP_TLS_CERT_FILE": missing, "PBX_HTTP_TLS_KEY_FILE": p.serverKey},
			[]string{"PBX_HTTP_TLS_CERT_FILE", missing, "no such file"}},
		{"HTTP certificate not PEM", map[string]string{"PBX_HTTP_TLS_CERT_FILE": garbage, "PBX_HTTP_TLS_KEY_FILE": p.serverKey},
			[]string{"PBX_HTTP_TLS_CERT_FILE", "PEM"}},
		{"HTTP key of another certificate", map[string]string{"PBX_HTTP_TLS_CERT_FILE": p.serverCert, "PBX_HTTP_TLS_KEY_FILE": p.clientKey},
			[]string{"PBX_HTTP_TLS_KEY_FILE", "does not match"}},
		{"client certificate without CA", map[string]string{"PBX_GRPC_TLS_CERT_FILE": p.clientCert, "PBX_GRPC_TLS_KEY_FILE": p.clientKey},
			[]string{"need PBX_GRPC_TLS_CA_FILE"}},
		{"server name without CA", map[string]string{"PBX_GRPC_TLS_SERVER_NAME": "pbx-server.internal"},
			[]string{"need PBX_GRPC_TLS_CA_FILE"}},
		{"CA missing", map[string]string{"PBX_GRPC_TLS_CA_FILE": missing},
			[]string{"PBX_GRPC_TLS_CA_FILE", missing, "no such file"}},
		{"CA without a certificate", map[string]string{"PBX_GRPC_TLS_CA_FILE": p.clientKey},
			[]string{"PBX_GRPC_TLS_CA_FILE", "no PEM certificate"}},
		{"client certificate without key", map[string]string{"PBX_GRPC_TLS_CA_FILE": p.caFile, "PBX_GRPC_TLS_CERT_FILE": p.clientCert},
			[]string{"PBX_GRPC_TLS_CERT_FILE and PBX_GRPC_TLS_KEY_FILE"}},
		{"client key missing", map[string]string{"PBX_GRPC_TLS_CA_FILE": p.caFile, "PBX_GRPC_TLS_CERT_FILE": p.clientCert,
			"PBX_GRPC_TLS_KEY_FILE": missing}, []string{"PBX_GRPC_TLS_KEY_FILE", missing, "no such file"}},
		{"client key of another certificate", map[string]string{"PBX_GRPC_TLS_CA_FILE": p.caFile,
			"PBX_GRPC_TLS_CERT_FILE": p.clientCert, "PBX_GRPC_TLS_KEY_FILE": p.serverKey}, []string{"does not match"}},
	}
	for _, tc := range tests {
		_, err := configFromEnv(env(tc.env))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
}
