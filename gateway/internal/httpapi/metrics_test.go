package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, g *gateway) string {
	t.Helper()
	code, body := g.do(t, http.MethodGet, "/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d body %s", code, body)
	}
	return body
}

// scrapeFor scrapes until every line is there or a second has passed: a
// refused body (413) is answered before its handler has discarded the rest
// and recorded the request, so its count may lag the client's answer.
func scrapeFor(t *testing.T, g *gateway, lines ...string) string {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		text := scrape(t, g)
		missing := false
		for _, line := range lines {
			missing = missing || !strings.Contains(text, "\n"+line+"\n")
		}
		if !missing || time.Now().After(deadline) {
			return text
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func requireLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, line := range lines {
		if !strings.Contains(text, "\n"+line+"\n") {
			t.Errorf("exposition lacks the line %q", line)
		}
	}
}

func TestMetricsLabelRequestsByRoutePatternNotPath(t *testing.T) {
	g := startGateway(t)
	const missing = "0b0c6a52-0000-4e40-9a8b-6c0b7e3b2f11"
	requests := []struct{ method, path, body string }{
		{"GET", "/users/" + testUser.Id, ""},
		{"GET", "/users/" + testUser.Id, ""},
		{"GET", "/users/" + missing, ""},
		{"DELETE", "/users/" + testUser.Id, ""},
		{"POST", "/users", `{"name":"Ada","email":"ada@example.com"}`},
		{"GET", "/users/" + testUser.Id + "/nothing-here", ""},
		{"PUT", "/users", "{}"},
		{"POST", "/users", `{"name":"` + strings.Repeat("a", 2048) + `"}`},
		{"BREW", "/users", ""},
	}
	for _, rq := range requests {
		g.do(t, rq.method, rq.path, rq.body)
	}
	g.send(t, "POST", "/users", "name=Ada", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})

	want := []string{
		`pbx_http_requests_total{code="200",method="GET",route="/users/{id}"} 2`,
		`pbx_http_requests_total{code="404",method="GET",route="/users/{id}"} 1`,
		`pbx_http_requests_total{code="200",method="DELETE",route="/users/{id}"} 1`,
		`pbx_http_requests_total{code="201",method="POST",route="/users"} 1`,
		// Nothing matched: unknown path, wrong method, body refused before routing, made-up method.
		`pbx_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`pbx_http_requests_total{code="405",method="PUT",route="unmatched"} 1`,
		`pbx_http_requests_total{code="413",method="POST",route="unmatched"} 1`,
		`pbx_http_requests_total{code="415",method="POST",route="unmatched"} 1`,
		`pbx_http_request_duration_seconds_count{method="GET",route="/users/{id}"} 3`,
		`pbx_http_request_duration_seconds_bucket{method="GET",route="/users/{id}",le="+Inf"} 3`,
	}
	text := scrapeFor(t, g, want...)
	requireLines(t, text, want...)
	if !strings.Contains(text, `method="other",route="unmatched"`) {
		t.Error("a made-up method is not labelled other")
	}
	for _, leak := range []string{testUser.Id, missing, "nothing-here", "BREW"} {
		if strings.Contains(text, leak) {
			t.Errorf("a label carries %q from the request", leak)
		}
	}
	for _, family := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(text, "\n"+family+" ") {
			t.Errorf("no %s: runtime and process collectors missing", family)
		}
	}
}

func TestMetricsCountHealthzAndOpenAPIByTheirRoutes(t *testing.T) {
	g := startGateway(t)
	g.do(t, "GET", "/healthz", "")
	g.do(t, "GET", "/openapi.json", "")
	text := scrape(t, g)
	if !strings.Contains(text, `method="GET",route="/healthz"}`) {
		t.Error("GET /healthz is not counted under its route")
	}
	requireLines(t, text, `pbx_http_requests_total{code="200",method="GET",route="/openapi.json"} 1`)
}

func TestMetricsScrapesAreCountedApartFromAPIRequests(t *testing.T) {
	g := startGateway(t)
	scrape(t, g)
	text := scrape(t, g)
	if strings.Contains(text, `route="/metrics"`) || strings.Contains(text, "pbx_http_requests_total{") {
		t.Errorf("scrapes counted as API requests:\n%s", text)
	}
	requireLines(t, text, `promhttp_metric_handler_requests_total{code="200"} 1`)
}
