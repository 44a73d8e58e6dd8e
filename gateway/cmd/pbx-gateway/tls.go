package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// httpTLSFromEnv is the TLS of the REST listener: PBX_HTTP_TLS_CERT_FILE and
// PBX_HTTP_TLS_KEY_FILE, both or neither (nil: plain HTTP).
func httpTLSFromEnv(getenv func(string) string) (*tls.Config, error) {
	certFile, keyFile := getenv("PBX_HTTP_TLS_CERT_FILE"), getenv("PBX_HTTP_TLS_KEY_FILE")
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	pair, err := loadKeyPair("PBX_HTTP_TLS_CERT_FILE", certFile, "PBX_HTTP_TLS_KEY_FILE", keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// grpcTLSFromEnv is the TLS of the connection to the server (nil:
// plaintext): PBX_GRPC_TLS_CA_FILE turns it on; the client certificate and the
// server name only mean something with it.
func grpcTLSFromEnv(getenv func(string) string) (*tls.Config, error) {
	caFile, serverName := getenv("PBX_GRPC_TLS_CA_FILE"), getenv("PBX_GRPC_TLS_SERVER_NAME")
	certFile, keyFile := getenv("PBX_GRPC_TLS_CERT_FILE"), getenv("PBX_GRPC_TLS_KEY_FILE")
	if caFile == "" {
		if certFile != "" || keyFile != "" || serverName != "" {
			return nil, errors.New("PBX_GRPC_TLS_CERT_FILE, PBX_GRPC_TLS_KEY_FILE and PBX_GRPC_TLS_SERVER_NAME " +
				"need PBX_GRPC_TLS_CA_FILE (TLS to the server)")
		}
		return nil, nil
	}
	roots, err := loadCertPool("PBX_GRPC_TLS_CA_FILE", caFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		pair, err := loadKeyPair("PBX_GRPC_TLS_CERT_FILE", certFile, "PBX_GRPC_TLS_KEY_FILE", keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// loadCertPool reads the PEM certificates in path (named by the variable key).
func loadCertPool(key, path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s=%s: no PEM certificate in the file", key, path)
	}
	return pool, nil
}

// loadKeyPair reads a PEM certificate (chain) and its private key, both
// required once either is set.
func loadKeyPair(certKey, certFile, keyKey, keyFile string) (tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, fmt.Errorf("%s and %s: set both or neither", certKey, keyKey)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s=%s, %s=%s: %w", certKey, certFile, keyKey, keyFile, err)
	}
	return pair, nil
}
