package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pbxv1 "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
)

type document struct {
	SecurityDefinitions map[string]map[string]string `json:"securityDefinitions"`
	Paths               map[string]map[string]struct {
		OperationID string                `json:"operationId"`
		Security    []map[string][]string `json:"security"`
		Parameters  []struct {
			In string `json:"in"`
		} `json:"parameters"`
		Responses map[string]struct {
			Description string `json:"description"`
		} `json:"responses"`
	} `json:"paths"`
}

func load(t *testing.T) document {
	t.Helper()
	w := httptest.NewRecorder()
	Serve(w, httptest.NewRequest(http.MethodGet, "/openapi.json", nil), nil)
	var doc document
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// requiredRoles maps the operationId of every method of the pbx.v1 services
// to the role its (pbx.v1.required_role) option names ("operator").
func requiredRoles(t *testing.T) map[string]string {
	t.Helper()
	_ = pbxv1.File_pbx_v1_api_key_service_proto // the generated package registers the files
	roles := map[string]string{}
	protoregistry.GlobalFiles.RangeFilesByPackage("pbx.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			svc := fd.Services().Get(i)
			for j := range svc.Methods().Len() {
				m := svc.Methods().Get(j)
				role := proto.GetExtension(m.Options(), pbxv1.E_RequiredRole).(pbxv1.Role)
				if role == pbxv1.Role_ROLE_UNSPECIFIED {
					t.Errorf("%s has no required_role", m.FullName())
				}
				roles[fmt.Sprintf("%s_%s", svc.Name(), m.Name())] =
					strings.ToLower(strings.TrimPrefix(role.String(), "ROLE_"))
			}
		}
		return true
	})
	if len(roles) < 11 {
		t.Fatalf("found only %d methods: %v", len(roles), roles)
	}
	return roles
}

// The document tells clients (and the fuzzer) that every operation needs the
// token, and what a refused one answers; the gateway's own endpoints are no
// operations.
func TestEveryOperationNeedsABearerToken(t *testing.T) {
	doc := load(t)
	bearer := doc.SecurityDefinitions["bearer"]
	if bearer["type"] != "apiKey" || bearer["in"] != "header" || bearer["name"] != "Authorization" {
		t.Fatalf("securityDefinitions.bearer = %v", bearer)
	}
	roles := requiredRoles(t)
	seen := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			name := strings.ToUpper(method) + " " + path
			role, ok := roles[op.OperationID]
			if !ok {
				t.Errorf("%s: operation %s is no method of a pbx.v1 service", name, op.OperationID)
				continue
			}
			seen[op.OperationID] = true
			if len(op.Security) != 1 || len(op.Security[0]) != 1 || op.Security[0]["bearer"] == nil {
				t.Errorf("%s: security = %v, want [{bearer: []}]", name, op.Security)
			}
			if !strings.HasPrefix(op.Responses["401"].Description, "UNAUTHENTICATED") {
				t.Errorf("%s: no 401", name)
			}
			if d := op.Responses["403"].Description; !regexp.MustCompile(`\brole ` + role + `\b`).MatchString(d) {
				t.Errorf("%s: 403 %q does not name the role %s", name, d, role)
			}
			hasBody := false
			for _, p := range op.Parameters {
				hasBody = hasBody || p.In == "body"
			}
			for _, code := range []string{"413", "415"} {
				if _, ok := op.Responses[code]; ok != hasBody {
					t.Errorf("%s: documents %s: %v, takes a body: %v", name, code, ok, hasBody)
				}
			}
		}
	}
	for id := range roles {
		if !seen[id] {
			t.Errorf("method %s is not in the document", id)
		}
	}
	for _, path := range []string{"/healthz", "/openapi.json", "/metrics"} {
		if _, ok := doc.Paths[path]; ok {
			t.Errorf("%s is in the document", path)
		}
	}
}
