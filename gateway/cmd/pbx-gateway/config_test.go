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

// PBX_GRPC_TARGET takes one address, a list of replicas or a target URI, as
// they are (httpapi.Dial reads them again).
func TestConfigGRPCTargetForms(t *testing.T) {
	for _, target := range []string{
		"127.0.0.1:50051", "localhost:50051", "[::1]:50051", "127.0.0.1:50051,127.0.0.1:50052",
		"127.0.0.1:50051, 127.0.0.1:50052,[::1]:50051", "dns:///pbx-servers.internal:50051", "unix:///run/pbx/grpc.sock",
	} {
		c, err := configFromEnv(env(map[string]string{"PBX_GRPC_TARGET": target}))
		if err != nil {
			t.Errorf("PBX_GRPC_TARGET=%q: %v", target, err)
		} else if c.grpcTarget != target {
			t.Errorf("PBX_GRPC_TARGET=%q: grpcTarget = %q", target, c.grpcTarget)
		}
	}
}

// A bad list stops the gateway at start, naming the variable and the entry.
func TestConfigRejectsBadTargetList(t *testing.T) {
	tests := []struct{ target, want string }{
		{"127.0.0.1:50051,", "entry 2 of the list is empty"},
		{",127.0.0.1:50051", "entry 1 of the list is empty"},
		{"127.0.0.1:50051,,127.0.0.1:50052", "entry 2 of the list is empty"},
		{"127.0.0.1:50051,127.0.0.1", `"127.0.0.1": want host:port`},
		{"pbx-server", `"pbx-server": want host:port`},
		{"127.0.0.1:50051,127.0.0.1:0", "port must be a number from 1 to 65535"},
		{"127.0.0.1:50051,127.0.0.1:65536", "port must be a number from 1 to 65535"},
		{"127.0.0.1:50051,127.0.0.1:grpc", "port must be a number from 1 to 65535"},
		{"127.0.0.1:50051,127.0.0.1:50051", `"127.0.0.1:50051" is listed twice`},
		{"PBX-A:50051,pbx-a:50051", `"pbx-a:50051" is listed twice`},
		{"[::1]:50051,[0:0::1]:50051", `"[0:0::1]:50051" is listed twice`},
		{"127.0.0.1:50051,dns:///pbx-servers.internal:50051", "host:port entries only"},
	}
	for _, tc := range tests {
		_, err := configFromEnv(env(map[string]string{"PBX_GRPC_TARGET": tc.target}))
		if err == nil {
			t.Errorf("PBX_GRPC_TARGET=%q: accepted", tc.target)
			continue
		}
		if !strings.Contains(err.Error(), "PBX_GRPC_TARGET=") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PBX_GRPC_TARGET=%q: error %q, want the variable and %q", tc.target, err, tc.want)
		}
	}
}

// Over TLS every replica of a list is verified for one name: the host all
// entries share, or PBX_GRPC_TLS_SERVER_NAME, which replicas on several hosts
// need. One address or a URI keeps grpc-go's default (the target's host).
func TestConfigTLSServerNameOfReplicas(t *testing.T) {
	p := newPKI(t)
	serverName := func(vars map[string]string) (string, error) {
		vars["PBX_GRPC_TLS_CA_FILE"] = p.caFile
		c, err := configFromEnv(env(vars))
		if err != nil {
			return "", err
		}
		return c.grpcTLS.ServerName, nil
	}
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"PBX_GRPC_TARGET": "pbx-a.internal:50051"}, ""},
		{map[string]string{"PBX_GRPC_TARGET": "dns:///pbx-servers.internal:50051"}, ""},
		{map[string]string{"PBX_GRPC_TARGET": "pbx-a.internal:50051,pbx-a.internal:50052"}, "pbx-a.internal"},
		{map[string]string{"PBX_GRPC_TARGET": "127.0.0.1:50051,127.0.0.1:50052"}, "127.0.0.1"},
		{map[string]string{"PBX_GRPC_TARGET": "pbx-a.internal:50051,pbx-b.internal:50051",
			"PBX_GRPC_TLS_SERVER_NAME": "pbx-server.internal"}, "pbx-server.internal"},
		{map[string]string{"PBX_GRPC_TARGET": "pbx-a.internal:50051,pbx-a.internal:50052",
			"PBX_GRPC_TLS_SERVER_NAME": "pbx-server.internal"}, "pbx-server.internal"},
	} {
		got, err := serverName(tc.vars)
		if err != nil || got != tc.want {
			t.Errorf("%v: server name %q, %v; want %q", tc.vars, got, err, tc.want)
		}
	}
	_, err := serverName(map[string]string{"PBX_GRPC_TARGET": "pbx-a.internal:50051,pbx-b.internal:50051"})
	if err == nil || !strings.Contains(err.Error(), "set PBX_GRPC_TLS_SERVER_NAME") {
		t.Errorf("replicas on two hosts without PBX_GRPC_TLS_SERVER_NAME: err = %v", err)
	}
	// Without TLS there is no name to verify: a list of several hosts is fine.
	if _, err := configFromEnv(env(map[string]string{"PBX_GRPC_TARGET": "127.0.0.1:50051,[::1]:50051"})); err != nil {
		t.Errorf("plaintext replicas on two hosts: %v", err)
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
