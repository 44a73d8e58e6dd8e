package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/protobuf/proto"

	pbxv1 "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
)

func TestCreatedStatus(t *testing.T) {
	for _, tc := range []struct {
		msg  proto.Message
		want int
	}{
		{&pbxv1.CreateUserResponse{}, http.StatusCreated},
		{&pbxv1.CreateApiKeyResponse{}, http.StatusCreated},
		{&pbxv1.ListApiKeysResponse{}, http.StatusOK},
		{&pbxv1.DeleteApiKeyResponse{}, http.StatusOK},
		{&pbxv1.GetUserResponse{}, http.StatusOK},
		{&pbxv1.DeleteUserResponse{}, http.StatusOK},
		{&pbxv1.ApplyResponse{}, http.StatusOK},
	} {
		w := httptest.NewRecorder()
		if err := CreatedStatus(context.Background(), w, tc.msg); err != nil {
			t.Fatal(err)
		}
		if w.Code != tc.want {
			t.Errorf("%T: status %d, want %d", tc.msg, w.Code, tc.want)
		}
	}
}
