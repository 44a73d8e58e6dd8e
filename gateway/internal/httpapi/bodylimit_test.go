package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

const testLimit = 16

// testLimits lets a batch create take four times the body of other requests.
var testLimits = BodyLimits{Default: testLimit, Batch: 4 * testLimit}

// echoMux answers with the body it received, so tests see what got through.
func echoMux(t *testing.T, called *bool) *runtime.ServeMux {
	t.Helper()
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, Marshaler()),
		runtime.WithErrorHandler(ErrorHandler),
	)
	echo := func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		*called = true
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read: %v", err)
		}
		_, _ = w.Write(b)
	}
	for _, path := range []string{"/echo", "/echo:batchCreate"} {
		if err := mux.HandlePath(http.MethodPost, path, echo); err != nil {
			t.Fatal(err)
		}
	}
	return mux
}

// jsonRequest is a POST of body to path with Content-Type: application/json.
func jsonRequest(path string, body io.Reader) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, body)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// readAfterAnswer notes whether a refusal (413, 415) was already written and
// flushed when the body was first read.
type readAfterAnswer struct {
	w                        *httptest.ResponseRecorder
	read, answeredBeforeRead bool
}

func (b *readAfterAnswer) Read(p []byte) (int, error) {
	if !b.read {
		b.read = true
		b.answeredBeforeRead = b.w.Code >= 400 && b.w.Flushed
	}
	return 0, io.EOF
}

func assert413(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	assertRefusal(t, w, http.StatusRequestEntityTooLarge)
}

// assertRefusal checks that CheckBody answered status, with code
// INVALID_ARGUMENT in the usual error shape.
func assertRefusal(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body.String())
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Message == "" || body.Code != 3 || body.Details == nil {
		t.Fatalf("%d body not in the {code,message,details} shape: %s (%v)", status, w.Body.String(), err)
	}
}

// A declared Content-Length over the limit is answered before the body is
// read: the body is only read afterwards, to be discarded.
func TestCheckBodyAnswersLargeContentLengthBeforeReading(t *testing.T) {
	var called bool
	w := httptest.NewRecorder()
	body := &readAfterAnswer{w: w}
	r := jsonRequest("/echo", body)
	r.ContentLength = testLimit + 1
	CheckBody(echoMux(t, &called), testLimits).ServeHTTP(w, r)
	assert413(t, w)
	if called {
		t.Fatal("handler ran for an over-limit body")
	}
	if body.read && !body.answeredBeforeRead {
		t.Fatal("body read before the 413 was written and flushed")
	}
	if w.Header().Get("Connection") != "close" {
		t.Fatalf("Connection = %q, want close: the rest of the body is not read", w.Header().Get("Connection"))
	}
	if w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		t.Fatalf("Content-Length = %q for a %d-byte answer", w.Header().Get("Content-Length"), w.Body.Len())
	}
}

func TestCheckBodyRejectsLargeChunkedBody(t *testing.T) {
	var called bool
	r := jsonRequest("/echo", strings.NewReader(strings.Repeat("x", testLimit+1)))
	r.ContentLength = -1
	w := httptest.NewRecorder()
	CheckBody(echoMux(t, &called), testLimits).ServeHTTP(w, r)
	assert413(t, w)
	if called {
		t.Fatal("handler ran for an over-limit body")
	}
}

func TestABatchCreateHasALimitOfItsOwn(t *testing.T) {
	for _, tc := range []struct {
		path string
		size int
		want int
	}{
		{"/echo:batchCreate", 4 * testLimit, http.StatusOK},
		{"/echo:batchCreate", 4*testLimit + 1, http.StatusRequestEntityTooLarge},
		{"/echo", testLimit + 1, http.StatusRequestEntityTooLarge},
	} {
		for _, cl := range []int64{int64(tc.size), -1} {
			var called bool
			r := jsonRequest(tc.path, strings.NewReader(strings.Repeat("z", tc.size)))
			r.ContentLength = cl
			w := httptest.NewRecorder()
			CheckBody(echoMux(t, &called), testLimits).ServeHTTP(w, r)
			if w.Code != tc.want || called != (tc.want == http.StatusOK) {
				t.Errorf("%s, %d bytes (Content-Length %d): status %d (handler ran: %v), want %d",
					tc.path, tc.size, cl, w.Code, called, tc.want)
			}
		}
	}
}

func TestCheckBodyPassesBodiesUpToTheLimit(t *testing.T) {
	payload := strings.Repeat("y", testLimit)
	for _, cl := range []int64{testLimit, -1} {
		var called bool
		r := jsonRequest("/echo", strings.NewReader(payload))
		r.ContentLength = cl
		w := httptest.NewRecorder()
		CheckBody(echoMux(t, &called), testLimits).ServeHTTP(w, r)
		if w.Code != http.StatusOK || w.Body.String() != payload {
			t.Fatalf("Content-Length %d: status %d body %q", cl, w.Code, w.Body.String())
		}
	}
}
