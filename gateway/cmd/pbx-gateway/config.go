package main

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// config comes from the environment only (PBX_ prefix, defaults from the
// project contract) so deploy scripts and tests configure it the same way.
type config struct {
	httpListen   string
	grpcTarget   string
	maxBodyBytes int64
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
	if c.maxBodyBytes, err = positiveInt(getenv, "PBX_MAX_BODY_BYTES", "65536"); err != nil {
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
