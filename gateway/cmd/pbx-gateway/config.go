package main

import (
	"fmt"
	"strconv"
)

// config comes from the environment only (PBX_ prefix, defaults from the
// project contract) so deploy scripts and tests configure it the same way.
type config struct {
	httpListen   string
	grpcTarget   string
	maxBodyBytes int64
}

func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		httpListen: envOr(getenv, "PBX_HTTP_LISTEN", "127.0.0.1:8080"),
		grpcTarget: envOr(getenv, "PBX_GRPC_TARGET", "127.0.0.1:50051"),
	}
	raw := envOr(getenv, "PBX_MAX_BODY_BYTES", "65536")
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		return config{}, fmt.Errorf("PBX_MAX_BODY_BYTES=%q: want a positive integer", raw)
	}
	c.maxBodyBytes = n
	return c, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
