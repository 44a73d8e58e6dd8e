package httpapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// After a 413 the rest of the refused body is read and thrown away before the
// connection is closed, as nginx's lingering close does. Many clients
// (Python's urllib, most scripts) write the whole request before they read a
// byte of the answer; closing with part of their body unread makes Linux
// answer it with RST, which fails the client's write or destroys the 413
// waiting in its receive buffer. The reading is bounded in bytes and in time,
// so a refused body costs little more than an accepted one:
const (
	// 256 times the default limit: a mistaken upload of a few MiB still gets
	// its 413 (16 MiB takes milliseconds on loopback or a LAN), while a
	// client that streams far more than any API request is cut off.
	lingerMaxBytes = 16 << 20
	// A client that sends slowly, or stops sending without closing, holds the
	// connection no longer than this, a third of http.Server's ReadTimeout
	// (30 s) that bounds reading an accepted body.
	lingerMaxTime = 10 * time.Second
)

// lingerBounds caps the discarding after a 413 (lingerMaxBytes and
// lingerMaxTime in production; tests use smaller ones).
type lingerBounds struct {
	bytes int64
	time  time.Duration
}

// CheckBody refuses a request body the API does not take before the mux
// parses any of it, in the same JSON error shape as every other error (code
// INVALID_ARGUMENT):
//   - 415 for a body that is not JSON (see isJSON), whatever its size: a web
//     page can send text/plain or a form to the API without a CORS preflight,
//     and only JSON is parsed;
//   - 413 for a body over limit bytes. grpc-gateway has no limit of its own,
//     and a body cut short by http.MaxBytesReader inside its decoder surfaces
//     as a 400, so the decision is made here: a declared Content-Length over
//     the limit is refused before reading; a body of unknown length (chunked)
//     is read up to the limit and handed on from memory, which is cheap at the
//     limits we use (64 KiB default).
//
// Either way a refused body gets its answer first and, over HTTP/1, is then
// discarded within lingerMaxBytes and lingerMaxTime, and the connection is
// closed.
func CheckBody(mux *runtime.ServeMux, limits BodyLimits) http.Handler {
	return checkBody(mux, limits, lingerBounds{bytes: lingerMaxBytes, time: lingerMaxTime})
}

// BodyLimits are the largest request bodies: Batch for a batch create (up to
// 1000 users, PBX_MAX_BATCH_BODY_BYTES), Default for every other request.
type BodyLimits struct {
	Default int64
	Batch   int64
}

// batchSuffix ends the path of every batch method (AIP-233's :batchCreate).
const batchSuffix = ":batchCreate"

func (l BodyLimits) forRequest(r *http.Request) int64 {
	if strings.HasSuffix(r.URL.Path, batchSuffix) {
		return l.Batch
	}
	return l.Default
}

func checkBody(mux *runtime.ServeMux, limits BodyLimits, linger lingerBounds) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := limits.forRequest(r)
		if hasBody(r) && !isJSON(r.Header) {
			refuseBody(mux, w, r, unsupportedMediaType(), linger)
			return
		}
		if r.ContentLength > limit {
			refuseBody(mux, w, r, tooLarge(limit), linger)
			return
		}
		if hasUnknownLength(r) {
			data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			if err != nil {
				badBody(mux, w, r, err)
				return
			}
			if int64(len(data)) > limit {
				refuseBody(mux, w, r, tooLarge(limit), linger)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(data))
			r.ContentLength = int64(len(data))
		}
		mux.ServeHTTP(w, r)
	})
}

// refuseBody answers the refusal at once, then discards what is left of the body
// within linger, and has the server close the connection: the body may not
// have been read to its end, and nothing of it may be taken for a next request.
//
// Answering first means a client that reads while it writes (curl, Go's
// client, one that sent Expect: 100-continue) stops sending right away, and
// one that writes everything first finds the answer waiting once it is done.
//
// Not over HTTP/2: each request has a stream of its own there, whose unread
// rest net/http resets once the handler returns, while the connection (which
// other requests share) stays open; Connection: close would make it send
// GOAWAY and end them all.
func refuseBody(mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, refusal *runtime.HTTPStatusError, linger lingerBounds) {
	if r.ProtoMajor >= 2 {
		answerWithLength(mux, w, r, refusal)
		return
	}
	rc := http.NewResponseController(w)
	// For HTTP/1, net/http otherwise wants the body consumed or abandoned
	// before the answer; full duplex lets it be read after the answer. Only
	// net/http's own writers support it, and every writer in New unwraps to
	// one; anywhere else (a test recorder) the discarding below is a plain read.
	_ = rc.EnableFullDuplex()
	w.Header().Set("Connection", "close")
	answerWithLength(mux, w, r, refusal)
	_ = rc.Flush()
	// Replaces the read deadline http.Server set from ReadTimeout when the
	// request started; unsupported only where reads cannot block anyway.
	_ = rc.SetReadDeadline(time.Now().Add(linger.time))
	// Ends at the end of the body, at the byte cap, at the deadline or when
	// the client closes; whichever it is, the answer has already been sent.
	_, _ = io.CopyN(io.Discard, r.Body, linger.bytes)
}

// tooLarge uses INVALID_ARGUMENT as the gRPC code in the body: the request is
// wrong, while RESOURCE_EXHAUSTED would say the extension pool or the service
// ran out of something.
func tooLarge(limit int64) *runtime.HTTPStatusError {
	return &runtime.HTTPStatusError{
		HTTPStatus: http.StatusRequestEntityTooLarge,
		Err:        status.Error(codes.InvalidArgument, fmt.Sprintf("request body exceeds %d bytes", limit)),
	}
}

// answerWithLength sends the error with its Content-Length so that the client
// knows where it ends while the body is still being discarded: without one,
// net/http would send it chunked (or delimited by the close) and finish it
// only once the handler returns, which would leave a client that stopped
// sending waiting for the discarding to time out.
func answerWithLength(mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, err error) {
	answer := &bufferedAnswer{ResponseWriter: w, status: http.StatusOK}
	writeError(mux, answer, r, err)
	w.Header().Set("Content-Length", strconv.Itoa(answer.body.Len()))
	w.WriteHeader(answer.status)
	_, _ = w.Write(answer.body.Bytes())
}

// bufferedAnswer holds back the status and body written through it, so they
// can be sent with a Content-Length; headers go straight to the real writer.
type bufferedAnswer struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (b *bufferedAnswer) WriteHeader(status int)      { b.status = status }
func (b *bufferedAnswer) Write(p []byte) (int, error) { return b.body.Write(p) }

func badBody(mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, err error) {
	writeError(mux, w, r, status.Errorf(codes.InvalidArgument, "reading request body: %v", err))
}

func writeError(mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, err error) {
	_, out := runtime.MarshalerForRequest(mux, r)
	runtime.HTTPError(r.Context(), mux, out, w, r, err)
}
