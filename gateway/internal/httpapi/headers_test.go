package httpapi

import "testing"

func TestIncomingHeaders(t *testing.T) {
	// The runtime forwards Authorization itself; the matcher must not add a
	// grpcgateway-authorization copy.
	for _, key := range []string{"Authorization", "authorization", "X-Admin-User", "x-admin-user", "X-Unrelated",
		"Grpc-Metadata-Authorization", "X-Request-Id"} {
		if got, ok := IncomingHeaders(key); ok {
			t.Errorf("IncomingHeaders(%q) = %q, true; want it not forwarded", key, got)
		}
	}
	// grpc-gateway's defaults otherwise.
	if got, ok := IncomingHeaders("Accept-Language"); !ok || got != "grpcgateway-Accept-Language" {
		t.Errorf("IncomingHeaders(Accept-Language) = %q, %v", got, ok)
	}
}
