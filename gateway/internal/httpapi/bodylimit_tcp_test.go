package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// oversizedRequest is a POST /users whose body is size bytes, framed with a
// Content-Length or, when chunked, as one chunk and no Content-Length.
func oversizedRequest(size int, chunked bool) []byte {
	body := bytes.Repeat([]byte("x"), size)
	var req bytes.Buffer
	req.WriteString("POST /users HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n")
	if chunked {
		fmt.Fprintf(&req, "Transfer-Encoding: chunked\r\n\r\n%x\r\n", size)
		req.Write(body)
		req.WriteString("\r\n0\r\n\r\n")
	} else {
		fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n", size)
		req.Write(body)
	}
	return req.Bytes()
}

// writeAllThenRead talks like Python's urllib: it writes the whole request
// before it reads a byte of the answer. A server that closes the connection
// with part of the body unread makes Linux answer the rest with RST, which
// fails the write or destroys the answer waiting in the receive buffer.
func writeAllThenRead(addr string, request []byte) (*http.Response, []byte, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, nil, err
	}
	if _, err := conn.Write(request); err != nil {
		return nil, nil, fmt.Errorf("writing the request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer's body: %w", err)
	}
	return resp, body, nil
}

func TestOversizedBodyIs413EvenWhenTheClientWritesItAllBeforeReading(t *testing.T) {
	g := startGateway(t) // MaxBodyBytes 1024
	addr := strings.TrimPrefix(g.url, "http://")
	const attempts = 20
	for _, size := range []int{1 << 20, 4 << 20, 8 << 20} {
		for _, chunked := range []bool{false, true} {
			request := oversizedRequest(size, chunked)
			failed, firstFailure := 0, ""
			for range attempts {
				if problem := answer413(addr, request); problem != "" {
					if failed++; firstFailure == "" {
						firstFailure = problem
					}
				}
			}
			if failed > 0 {
				t.Errorf("%d-byte body, chunked=%v: %d of %d attempts got no 413; first: %s",
					size, chunked, failed, attempts, firstFailure)
			}
		}
	}
}

// answer413 sends request the urllib way and says what is wrong with the
// answer, or "" when it is the 413 in the JSON error shape.
func answer413(addr string, request []byte) string {
	resp, body, err := writeAllThenRead(addr, request)
	if err != nil {
		return err.Error()
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		return fmt.Sprintf("status %d, want 413; body %s", resp.StatusCode, body)
	}
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Code != 3 || e.Message == "" || e.Details == nil {
		return fmt.Sprintf("413 body not in the {code,message,details} shape: %s (%v)", body, err)
	}
	return ""
}

// startCheckBody serves checkBody with the given bounds over real TCP.
func startCheckBody(t *testing.T, linger lingerBounds) string {
	t.Helper()
	var called bool
	srv := httptest.NewServer(checkBody(echoMux(t, &called), testLimits, linger))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// A client that keeps sending gets its 413 while it sends, and the server
// stops reading (and closes) once it discarded the byte bound.
func TestRefusedBodyIsDiscardedOnlyUpToTheByteBound(t *testing.T) {
	addr := startCheckBody(t, lingerBounds{bytes: 1 << 20, time: 10 * time.Second})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	const declared = 1 << 30
	if _, err := fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", declared); err != nil {
		t.Fatal(err)
	}
	answer := make(chan int, 1)
	go func() {
		status := 0
		if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
			status = resp.StatusCode
		}
		answer <- status
	}()
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	sent := 0
	for sent < declared {
		n, err := conn.Write(chunk)
		sent += n
		if err != nil {
			break
		}
	}
	if got := <-answer; got != http.StatusRequestEntityTooLarge {
		t.Fatalf("answer while sending: status %d, want 413", got)
	}
	// What the socket buffers took on top of the bound stays far below this.
	if sent >= 256<<20 {
		t.Fatalf("the server kept reading: %d bytes sent", sent)
	}
}

// A client that stops sending (without closing) is cut off after the time
// bound, not after the server's ReadTimeout or never.
func TestRefusedBodyIsDiscardedOnlyUpToTheTimeBound(t *testing.T) {
	addr := startCheckBody(t, lingerBounds{bytes: 16 << 20, time: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\nxxxx", 1<<20); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Fatalf("status %d close=%v, want 413 and Connection: close", resp.StatusCode, resp.Close)
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("data after the 413 on a connection that should close")
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("connection closed after %v, want about 300ms", elapsed)
	}
}

// A client that sent Expect: 100-continue waits for a go-ahead before sending
// its body: it gets the whole 413 at once instead, never a 100 Continue, and
// no wait for the discarding of a body it never sends.
func TestOversizedBodyWithExpectContinueIs413WithoutContinue(t *testing.T) {
	g := startGateway(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(lingerMaxTime / 2))
	if _, err := fmt.Fprintf(conn, "POST /users HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"+
		"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n", 1<<20); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the 413's body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"code":3`) {
		t.Fatalf("status %d body %s, want 413", resp.StatusCode, body)
	}
}
