package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

const testLimit = 16

// echoMux answers with the body it received, so tests see what got through.
func echoMux(t *testing.T, called *bool) *runtime.ServeMux {
	t.Helper()
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, Marshaler()),
		runtime.WithErrorHandler(ErrorHandler),
	)
	err := mux.HandlePath(http.MethodPost, "/echo", func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		*called = true
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read: %v", err)
		}
		_, _ = w.Write(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return mux
}

// countingReader fails the test if the body is read at all.
type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += len(p)
	return 0, io.EOF
}

func assert413(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413; body %s", w.Code, w.Body.String())
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Message == "" || body.Code != 3 || body.Details == nil {
		t.Fatalf("413 body not in the {code,message,details} shape: %s (%v)", w.Body.String(), err)
	}
}

func TestLimitBodyRejectsLargeContentLengthWithoutReading(t *testing.T) {
	var called bool
	body := &countingReader{}
	r := httptest.NewRequest(http.MethodPost, "/echo", body)
	r.ContentLength = testLimit + 1
	w := httptest.NewRecorder()
	LimitBody(echoMux(t, &called), testLimit).ServeHTTP(w, r)
	assert413(t, w)
	if called || body.n != 0 {
		t.Fatalf("body was read (called=%v, read=%d)", called, body.n)
	}
}

func TestLimitBodyRejectsLargeChunkedBody(t *testing.T) {
	var called bool
	r := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(strings.Repeat("x", testLimit+1)))
	r.ContentLength = -1
	w := httptest.NewRecorder()
	LimitBody(echoMux(t, &called), testLimit).ServeHTTP(w, r)
	assert413(t, w)
	if called {
		t.Fatal("handler ran for an over-limit body")
	}
}

func TestLimitBodyPassesBodiesUpToTheLimit(t *testing.T) {
	payload := strings.Repeat("y", testLimit)
	for _, cl := range []int64{testLimit, -1} {
		var called bool
		r := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(payload))
		r.ContentLength = cl
		w := httptest.NewRecorder()
		LimitBody(echoMux(t, &called), testLimit).ServeHTTP(w, r)
		if w.Code != http.StatusOK || w.Body.String() != payload {
			t.Fatalf("Content-Length %d: status %d body %q", cl, w.Code, w.Body.String())
		}
	}
}
