package main

import (
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	c, err := configFromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.httpListen != "127.0.0.1:8080" || c.grpcTarget != "127.0.0.1:50051" || c.maxBodyBytes != 65536 ||
		c.callTimeout != 180*time.Second {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestConfigFromEnv(t *testing.T) {
	c, err := configFromEnv(env(map[string]string{
		"PBX_HTTP_LISTEN": "127.0.0.1:9", "PBX_GRPC_TARGET": "127.0.0.1:7", "PBX_MAX_BODY_BYTES": "10",
		"PBX_GATEWAY_CALL_TIMEOUT_S": "7",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.httpListen != "127.0.0.1:9" || c.grpcTarget != "127.0.0.1:7" || c.maxBodyBytes != 10 ||
		c.callTimeout != 7*time.Second {
		t.Fatalf("config = %+v", c)
	}
}

func TestConfigRejectsBadBodyLimit(t *testing.T) {
	for _, v := range []string{"0", "-1", "64k", "x"} {
		if _, err := configFromEnv(env(map[string]string{"PBX_MAX_BODY_BYTES": v})); err == nil {
			t.Errorf("PBX_MAX_BODY_BYTES=%q accepted", v)
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
