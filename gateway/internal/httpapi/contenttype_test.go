package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestIsJSON(t *testing.T) {
	for _, ct := range []string{
		"application/json",
		"application/json; charset=utf-8",
		"application/json;charset=UTF-8",
		"Application/JSON",
		"application/json; profile=x",
	} {
		if !isJSON(http.Header{"Content-Type": {ct}}) {
			t.Errorf("Content-Type %q refused", ct)
		}
	}
	for _, values := range [][]string{
		nil,
		{""},
		{"text/plain"},
		{"text/plain; charset=utf-8"},
		{"application/x-www-form-urlencoded"},
		{"multipart/form-data; boundary=x"},
		{"application/json-patch+json"},
		{"application/jsonx"},
		{"application/json; charset=iso-8859-1"},
		{"application/json; charset"},
		{"application/json, text/plain"},
		{"application/json", "text/plain"},
	} {
		if isJSON(http.Header{"Content-Type": values}) {
			t.Errorf("Content-Type %q accepted", values)
		}
	}
}

// A body that is not JSON is refused with 415 before any of it is read (and
// before the limit is looked at), like a 413; the mux never sees it.
func TestCheckBodyRefusesABodyThatIsNotJSON(t *testing.T) {
	for _, tc := range []struct {
		name, contentType string
		contentLength     int64
	}{
		{"text/plain", "text/plain", 5},
		{"text/plain over the limit", "text/plain;charset=UTF-8", testLimit * 4},
		{"form", "application/x-www-form-urlencoded", 5},
		{"multipart", "multipart/form-data; boundary=b", 5},
		{"no Content-Type", "", 5},
		{"chunked text/plain", "text/plain", -1},
		{"chunked without Content-Type", "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var called bool
			w := httptest.NewRecorder()
			body := &readAfterAnswer{w: w}
			r := httptest.NewRequest(http.MethodPost, "/echo", body)
			r.ContentLength = tc.contentLength
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			CheckBody(echoMux(t, &called), testLimits).ServeHTTP(w, r)
			assertRefusal(t, w, http.StatusUnsupportedMediaType)
			if called {
				t.Fatal("handler ran for a body that is not JSON")
			}
			if body.read && !body.answeredBeforeRead {
				t.Fatal("body read before the 415 was written and flushed")
			}
			if w.Header().Get("Connection") != "close" || w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
				t.Fatalf("headers %v: want Connection: close and the answer's Content-Length", w.Header())
			}
		})
	}
}

// JSON (with parameters) passes, and so does a request without a body,
// whatever it says or does not say about its type: curl -X POST /apply.
func TestCheckBodyPassesJSONAndRequestsWithoutBody(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		contentLength           int64
	}{
		{"json", "application/json", `{"a":1}`, 7},
		{"json with charset", "application/json; charset=utf-8", `{"a":1}`, 7},
		{"chunked json", "application/json", `{"a":1}`, -1},
		{"no body, no Content-Type", "", "", 0},
		{"no body, text/plain", "text/plain", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var called bool
			r := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(tc.body))
			r.ContentLength = tc.contentLength
			if tc.body == "" {
				r.Body = http.NoBody
			}
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			w := httptest.NewRecorder()
			CheckBody(echoMux(t, &called), testLimits).ServeHTTP(w, r)
			if w.Code != http.StatusOK || !called || w.Body.String() != tc.body {
				t.Fatalf("status %d called %v body %q", w.Code, called, w.Body.String())
			}
		})
	}
}

// Through the whole gateway: a text/plain POST, as a web page may send one
// without a CORS preflight, never reaches the server; a POST without a body
// does.
func TestGatewayRefusesNonJSONBodiesWith415(t *testing.T) {
	g := startGateway(t)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		header := http.Header{}
		if ct != "" {
			header.Set("Content-Type", ct)
		}
		resp, body := g.send(t, "POST", "/api-keys", `{"name":"csrf","role":"admin"}`, header)
		if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(compactJSON(t, body), `"code":3`) {
			t.Errorf("Content-Type %q: status %d body %s, want 415 with code 3", ct, resp.StatusCode, body)
		}
		if md := g.metadata.lastCall(); md != nil {
			t.Fatalf("Content-Type %q: the server was called", ct)
		}
	}
	resp, body := g.send(t, "POST", "/api-keys", "", http.Header{})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST without a body: status %d body %s, want it passed on (201)", resp.StatusCode, body)
	}
}

// A text/plain body sent whole before the answer is read gets its 415, as an
// oversized JSON body gets its 413: no reset.
func TestNonJSONBodyIs415EvenWhenTheClientWritesItAllBeforeReading(t *testing.T) {
	g := startGateway(t)
	addr := strings.TrimPrefix(g.url, "http://")
	for _, size := range []int{100, 4 << 20} {
		request := fmt.Sprintf("POST /users HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
			size, strings.Repeat("x", size))
		resp, body, err := writeAllThenRead(addr, []byte(request))
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if resp.StatusCode != http.StatusUnsupportedMediaType || !resp.Close {
			t.Fatalf("%d bytes: status %d close=%v body %s", size, resp.StatusCode, resp.Close, body)
		}
	}
}
