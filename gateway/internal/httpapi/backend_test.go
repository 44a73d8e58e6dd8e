package httpapi

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
)

func TestCallDeadline(t *testing.T) {
	icpt := CallDeadline(time.Minute)
	remaining := func(ctx context.Context) time.Duration {
		var got time.Duration
		_ = icpt(ctx, "/m", nil, nil, nil, func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			d, ok := ctx.Deadline()
			if !ok {
				t.Fatal("no deadline set")
			}
			got = time.Until(d)
			return nil
		})
		return got
	}
	if r := remaining(context.Background()); r <= 50*time.Second || r > time.Minute {
		t.Errorf("default deadline: %v left, want about 1m", r)
	}
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if r := remaining(short); r > time.Second {
		t.Errorf("shorter caller deadline lost: %v left", r)
	}
	long, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	if r := remaining(long); r > time.Minute {
		t.Errorf("longer caller deadline not capped: %v left", r)
	}
}
