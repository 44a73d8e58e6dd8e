package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/synergycall/pbx-portal/gateway/internal/httpapi"
)

// config comes from the environment only (PBX_ prefix, defaults from the
// project contract) so deploy scripts and tests configure it the same way.
// Certificate and key files are read here, once: a missing or bad one stops
// the gateway at start (restart it to take renewed certificates).
//
//	PBX_HTTP_LISTEN             REST listener address (127.0.0.1:8080)
//	PBX_HTTP_TLS_CERT_FILE      with PBX_HTTP_TLS_KEY_FILE: serve HTTPS only, with this
//	PBX_HTTP_TLS_KEY_FILE       PEM certificate chain and key (unset: plain HTTP)
//	PBX_GRPC_TARGET             the server's gRPC address (127.0.0.1:50051); several replicas:
//	                            host1:port1,host2:port2 or a target URI (dns:///name:port),
//	                            called round robin, healthy ones only (see httpapi.Dial)
//	PBX_GRPC_TLS_CA_FILE        PEM CA certificates that verify the server; set: TLS to the
//	                            server, unset: plaintext, to a loopback address only
//	PBX_GRPC_TLS_CERT_FILE      with PBX_GRPC_TLS_KEY_FILE: the gateway's client certificate
//	PBX_GRPC_TLS_KEY_FILE       (chain) and key, for a server that asks for one (mTLS)
//	PBX_GRPC_TLS_SERVER_NAME    the name the server's certificate must carry (default: the
//	                            host of PBX_GRPC_TARGET; a list of several hosts needs it)
//	PBX_MAX_BODY_BYTES          largest request body (65536)
//	PBX_MAX_BATCH_BODY_BYTES    largest body of a batch create (20971520: 1000 users with
//	                            every field at its limit are about 19 MB of JSON)
//	PBX_GATEWAY_CALL_TIMEOUT_S  deadline of each backend call (180)
type config struct {
	httpListen string
	// httpTLS makes the REST listener HTTPS only; nil: plain HTTP.
	httpTLS    *tls.Config
	grpcTarget string
	// grpcTLS is the TLS of the connection to the server; nil: plaintext.
	grpcTLS           *tls.Config
	maxBodyBytes      int64
	maxBatchBodyBytes int64
	// Bounds every backend call. An Apply may first wait for another one to
	// finish (the server's PBX_APPLY_LOCK_TIMEOUT_S, 120 s by default), so the
	// default leaves room for that.
	callTimeout time.Duration
}

func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		httpListen: envOr(getenv, "PBX_HTTP_LISTEN", "127.0.0.1:8080"),
		grpcTarget: envOr(getenv, "PBX_GRPC_TARGET", "127.0.0.1:50051"),
	}
	var err error
	if c.httpTLS, err = httpTLSFromEnv(getenv); err != nil {
		return config{}, err
	}
	replicas, err := httpapi.ParseTarget(c.grpcTarget)
	if err != nil {
		return config{}, fmt.Errorf("PBX_GRPC_TARGET=%q: %w", c.grpcTarget, err)
	}
	if c.grpcTLS, err = grpcTLSFromEnv(getenv); err != nil {
		return config{}, err
	}
	if err := setReplicaServerName(c.grpcTLS, replicas); err != nil {
		return config{}, err
	}
	if c.maxBodyBytes, err = positiveInt(getenv, "PBX_MAX_BODY_BYTES", "65536"); err != nil {
		return config{}, err
	}
	if c.maxBatchBodyBytes, err = positiveInt(getenv, "PBX_MAX_BATCH_BODY_BYTES", "20971520"); err != nil {
		return config{}, err
	}
	seconds, err := positiveInt(getenv, "PBX_GATEWAY_CALL_TIMEOUT_S", "180")
	if err != nil {
		return config{}, err
	}
	if seconds > math.MaxInt64/int64(time.Second) {
		return config{}, fmt.Errorf("PBX_GATEWAY_CALL_TIMEOUT_S=%d: too large", seconds)
	}
	c.callTimeout = time.Duration(seconds) * time.Second
	return c, nil
}

// setReplicaServerName gives TLS to a list of replicas the name their
// certificates are verified for: PBX_GRPC_TLS_SERVER_NAME when set, else the
// host all entries share. Entries on different hosts leave it ambiguous.
func setReplicaServerName(tlsConfig *tls.Config, replicas []string) error {
	if tlsConfig == nil || tlsConfig.ServerName != "" || len(replicas) < 2 {
		return nil
	}
	host := httpapi.SharedHost(replicas)
	if host == "" {
		return errors.New("PBX_GRPC_TARGET lists replicas on several hosts over TLS: set PBX_GRPC_TLS_SERVER_NAME " +
			"to the name their certificates carry")
	}
	tlsConfig.ServerName = host
	return nil
}

// positiveInt reads key (def when unset) as a positive decimal integer.
func positiveInt(getenv func(string) string, key, def string) (int64, error) {
	raw := envOr(getenv, key, def)
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", key, raw)
	}
	return n, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
