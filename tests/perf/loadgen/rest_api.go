package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// restAPI calls the gateway over HTTP/1.1 keep-alive connections (one per
// worker at most), reading every response body to the end but not decoding it.
type restAPI struct {
	base          string
	authorization string
	client        *http.Client
}

func newRESTAPI(base string, workers int, token string) *restAPI {
	transport := &http.Transport{
		MaxIdleConns:        workers,
		MaxIdleConnsPerHost: workers,
		MaxConnsPerHost:     workers,
		DisableCompression:  true,
	}
	return &restAPI{base: strings.TrimRight(base, "/"), authorization: "Bearer " + token,
		client: &http.Client{Transport: transport, Timeout: requestTimeout}}
}

func (r *restAPI) close() { r.client.CloseIdleConnections() }

// call issues one request and fails unless the status is `want`.
func (r *restAPI) call(ctx context.Context, method, path string, body []byte, want int) error {
	_, err := r.callForBody(ctx, method, path, body, want)
	return err
}

// callForBody is call that hands back the response body.
func (r *restAPI) callForBody(ctx context.Context, method, path string, body []byte, want int) ([]byte, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, reader)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", r.authorization)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Read it all: the connection is reused only after the body is drained.
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: HTTP %d (want %d): %.200s", method, path, resp.StatusCode, want, payload)
	}
	return payload, nil
}

// createBody is POST /users's body (and one entry of a batch's).
type createBody struct {
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

func (r *restAPI) create(ctx context.Context, _ int, user newUser) error {
	body, err := json.Marshal(createBody{user.name, user.email, user.metadata})
	if err != nil {
		return err
	}
	return r.call(ctx, http.MethodPost, "/users", body, http.StatusCreated)
}

func (r *restAPI) batchCreate(ctx context.Context, _ int, users []newUser) error {
	request := struct {
		Requests     []createBody `json:"requests"`
		ValidateOnly bool         `json:"validate_only"`
	}{Requests: make([]createBody, len(users))}
	for i, user := range users {
		request.Requests[i] = createBody{user.name, user.email, user.metadata}
	}
	body, err := json.Marshal(request)
	if err != nil {
		return err
	}
	return r.call(ctx, http.MethodPost, "/users:batchCreate", body, http.StatusOK)
}

func (r *restAPI) update(ctx context.Context, id, name string) error {
	body, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		return err
	}
	return r.call(ctx, http.MethodPatch, "/users/"+id, body, http.StatusOK)
}

func (r *restAPI) rotate(ctx context.Context, id string) error {
	return r.call(ctx, http.MethodPost, "/users/"+id+"/sip-credentials:rotate", []byte("{}"), http.StatusOK)
}

func (r *restAPI) listRegistrations(ctx context.Context) error {
	return r.call(ctx, http.MethodGet, "/registrations", nil, http.StatusOK)
}

func (r *restAPI) list(ctx context.Context) error {
	return r.call(ctx, http.MethodGet, "/users", nil, http.StatusOK)
}

func (r *restAPI) get(ctx context.Context, id string) error {
	return r.call(ctx, http.MethodGet, "/users/"+id, nil, http.StatusOK)
}

func (r *restAPI) delete(ctx context.Context, id string) error {
	return r.call(ctx, http.MethodDelete, "/users/"+id, nil, http.StatusOK)
}

// The answers of POST /apply and POST /apply:preview are decoded (the only
// REST answers that are): what they say is what makes the measurement valid.
func (r *restAPI) apply(ctx context.Context, note string) (bool, error) {
	body, err := json.Marshal(map[string]string{"note": note})
	if err != nil {
		return false, err
	}
	payload, err := r.callForBody(ctx, http.MethodPost, "/apply", body, http.StatusOK)
	if err != nil {
		return false, err
	}
	var answer struct {
		Audit *struct {
			Changed *bool `json:"changed"`
		} `json:"audit"`
	}
	if err := json.Unmarshal(payload, &answer); err != nil {
		return false, err
	}
	if answer.Audit == nil || answer.Audit.Changed == nil {
		return false, fmt.Errorf("POST /apply: no audit.changed in %.200s", payload)
	}
	return *answer.Audit.Changed, nil
}

func (r *restAPI) preview(ctx context.Context) (bool, error) {
	payload, err := r.callForBody(ctx, http.MethodPost, "/apply:preview", []byte("{}"), http.StatusOK)
	if err != nil {
		return false, err
	}
	var answer struct {
		WouldWrite *bool `json:"would_write"`
	}
	if err := json.Unmarshal(payload, &answer); err != nil {
		return false, err
	}
	if answer.WouldWrite == nil {
		return false, fmt.Errorf("POST /apply:preview: no would_write in %.200s", payload)
	}
	return *answer.WouldWrite, nil
}
