package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
)

func users(n int) []*pb.User {
	list := make([]*pb.User, n)
	for i := range list {
		list[i] = &pb.User{
			Id: fmt.Sprintf("id-%d", i), Name: fmt.Sprintf("User \"%d\" <é>", i), Email: fmt.Sprintf("u%d@example.com", i),
			Metadata: map[string]string{"team": "ops"}, Extension: int32(1000 + i),
			CreatedAt: timestamppb.New(time.Unix(1700000000+int64(i), 123000)),
		}
	}
	return list
}

// The long-list path must be invisible on the wire: byte for byte what JSONPb
// writes, for lists below, at and above the threshold, and for odd splits.
func TestListMarshalerWritesWhatJSONPbWrites(t *testing.T) {
	plain := &gwruntime.JSONPb{MarshalOptions: Marshaler().MarshalOptions}
	for _, n := range []int{0, 1, longListMin - 1, longListMin, 1000, 1001} {
		list := users(n)
		want, err := plain.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Marshaler().Marshal(list)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d: output differs from JSONPb's\n got %.200s\nwant %.200s", n, got, want)
		}
		var decoded []map[string]any
		if err := json.Unmarshal(got, &decoded); err != nil || len(decoded) != n {
			t.Fatalf("n=%d: not a JSON array of %d: %v", n, n, err)
		}
		if n > 0 && decoded[n-1]["extension"] != float64(1000+n-1) {
			t.Fatalf("n=%d: order lost: last is %v", n, decoded[n-1]["extension"])
		}
	}
}

func TestListMarshalerReportsAnEncodingError(t *testing.T) {
	list := users(1000)
	list[700].Name = "bad \xff utf-8"
	if _, err := Marshaler().Marshal(list); err == nil {
		t.Fatal("invalid UTF-8 in a string field was encoded")
	}
}

func TestListMarshalerLeavesOtherValuesToJSONPb(t *testing.T) {
	msg := &pb.GetUserResponse{User: users(1)[0]}
	got, err := Marshaler().Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := (&gwruntime.JSONPb{MarshalOptions: Marshaler().MarshalOptions}).Marshal(msg)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func BenchmarkMarshalThousandUsers(b *testing.B) {
	list := users(1000)
	for _, tc := range []struct {
		name string
		m    gwruntime.Marshaler
	}{{"jsonpb", &gwruntime.JSONPb{MarshalOptions: Marshaler().MarshalOptions}}, {"list", Marshaler()}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := tc.m.Marshal(list); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
