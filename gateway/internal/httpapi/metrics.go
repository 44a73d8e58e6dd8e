package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// UnmatchedRoute labels requests no route answered: unknown paths (404), a
// known path with the wrong method (405), and bodies refused by CheckBody
// (413, 415) before routing.
const UnmatchedRoute = "unmatched"

// The same buckets as the server's pbx_grpc_server_handling_seconds, so the
// two sides of a call compare directly.
var requestBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Methods outside this set are labelled "other": the method is chosen by the
// client, and every new value would be a new time series.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// Metrics counts REST requests and serves them, with the Go runtime and
// process collectors, at GET /metrics. Each Metrics has its own registry.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	endpoint http.Handler
}

func NewMetrics() *Metrics {
	registry := prometheus.NewRegistry()
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pbx_http_requests_total",
			Help: "REST requests answered, by method, route pattern and HTTP status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pbx_http_request_duration_seconds",
			Help:    "Time to answer a REST request, by method and route pattern.",
			Buckets: requestBuckets,
		}, []string{"method", "route"}),
	}
	registry.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Scrapes are counted apart, in promhttp_metric_handler_requests_total.
	m.endpoint = promhttp.InstrumentMetricHandler(registry,
		promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	return m
}

type routeKey struct{}

// Instrument measures every request that next answers. The route label is
// what Route found; UnmatchedRoute when the mux matched nothing.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := UnmatchedRoute
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		method := r.Method
		if !knownMethods[method] {
			method = "other"
		}
		m.requests.WithLabelValues(method, route, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	})
}

// Route is a grpc-gateway middleware: it runs once the mux has matched a
// pattern and hands that pattern (never the raw path, which carries ids) to
// Instrument.
func (m *Metrics) Route(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		if route, ok := r.Context().Value(routeKey{}).(*string); ok {
			if pattern, ok := runtime.HTTPPattern(r.Context()); ok {
				*route = RouteLabel(pattern)
			}
		}
		next(w, r, pathParams)
	}
}

// "/users/{id=*}/sip-credentials" -> "/users/{id}/sip-credentials", as the
// routes are written in http.yaml and the OpenAPI document.
var wholeSegmentVariable = regexp.MustCompile(`\{([^=}]+)=\*\}`)

// RouteLabel is the route label of a grpc-gateway pattern.
func RouteLabel(pattern runtime.Pattern) string {
	return wholeSegmentVariable.ReplaceAllString(pattern.String(), "{$1}")
}

// WithEndpoint answers GET /metrics itself and hands everything else to
// next, so scrapes stay out of the access log and of pbx_http_requests_total.
func (m *Metrics) WithEndpoint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			m.endpoint.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
