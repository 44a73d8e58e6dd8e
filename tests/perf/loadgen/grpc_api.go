package main

import (
	"context"
	"time"

	pbxv1 "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// requestTimeout bounds every request, so a stuck one counts as an error
// instead of hanging the run.
const requestTimeout = 30 * time.Second

// maxResponseBytes lets ListUsers of a full pool of users at the validation
// limits (about 19.5 MB) through gRPC's default 4 MiB receive limit; the same
// bound as the gateway's maxBackendResponseBytes, where it is worked out.
const maxResponseBytes = 64 << 20

// grpcAPI calls the server directly over one shared connection, as another
// service would.
type grpcAPI struct {
	conn  *grpc.ClientConn
	users pbxv1.UserServiceClient
}

func dialGRPC(target, token string) (*grpcAPI, error) {
	bearer := "Bearer " + token
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxResponseBytes)),
		// Every call carries the API token, as a service calling the portal would.
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any,
			cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(metadata.AppendToOutgoingContext(ctx, "authorization", bearer),
				method, req, reply, cc, opts...)
		}),
	)
	if err != nil {
		return nil, err
	}
	return &grpcAPI{conn: conn, users: pbxv1.NewUserServiceClient(conn)}, nil
}

func (g *grpcAPI) close() { _ = g.conn.Close() }

func (g *grpcAPI) create(ctx context.Context, _ int, name, email string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := g.users.CreateUser(ctx, &pbxv1.CreateUserRequest{Name: name, Email: email})
	return err
}

func (g *grpcAPI) list(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := g.users.ListUsers(ctx, &pbxv1.ListUsersRequest{})
	return err
}

func (g *grpcAPI) get(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := g.users.GetUser(ctx, &pbxv1.GetUserRequest{Id: id})
	return err
}

func (g *grpcAPI) delete(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := g.users.DeleteUser(ctx, &pbxv1.DeleteUserRequest{Id: id})
	return err
}
