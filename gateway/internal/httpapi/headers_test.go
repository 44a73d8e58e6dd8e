package httpapi

import "testing"

func TestIncomingHeadersForwardsAdminUser(t *testing.T) {
	for _, key := range []string{"X-Admin-User", "x-admin-user"} {
		if got, ok := IncomingHeaders(key); !ok || got != "x-admin-user" {
			t.Errorf("IncomingHeaders(%q) = %q, %v; want x-admin-user, true", key, got, ok)
		}
	}
	if _, ok := IncomingHeaders("X-Unrelated"); ok {
		t.Error("an arbitrary header must not be forwarded")
	}
}
