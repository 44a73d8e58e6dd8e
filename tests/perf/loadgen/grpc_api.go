package main

import (
	"context"
	"fmt"
	"time"

	pbxv1 "github.com/synergycall/pbx-portal/gateway/gen/pbx/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
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
	conn          *grpc.ClientConn
	users         pbxv1.UserServiceClient
	registrations pbxv1.RegistrationServiceClient
	applies       pbxv1.ApplyServiceClient
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
	return &grpcAPI{conn: conn, users: pbxv1.NewUserServiceClient(conn),
		registrations: pbxv1.NewRegistrationServiceClient(conn), applies: pbxv1.NewApplyServiceClient(conn)}, nil
}

func (g *grpcAPI) close() { _ = g.conn.Close() }

func createRequest(user newUser) *pbxv1.CreateUserRequest {
	return &pbxv1.CreateUserRequest{Name: user.name, Email: user.email, Metadata: user.metadata}
}

func (g *grpcAPI) create(ctx context.Context, _ int, user newUser) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := g.users.CreateUser(ctx, createRequest(user))
	return err
}

func (g *grpcAPI) batchCreate(ctx context.Context, _ int, users []newUser) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	request := &pbxv1.BatchCreateUsersRequest{Requests: make([]*pbxv1.CreateUserRequest, len(users))}
	for i, user := range users {
		request.Requests[i] = createRequest(user)
	}
	response, err := g.users.BatchCreateUsers(ctx, request)
	if err == nil && len(response.GetUsers()) != len(users) {
		err = fmt.Errorf("BatchCreateUsers answered %d users, want %d", len(response.GetUsers()), len(users))
	}
	return err
}

func (g *grpcAPI) update(ctx context.Context, id, name string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := g.users.UpdateUser(ctx, &pbxv1.UpdateUserRequest{
		User: &pbxv1.User{Id: id, Name: name}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
	return err
}

func (g *grpcAPI) rotate(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := g.users.RotateSipCredentials(ctx, &pbxv1.RotateSipCredentialsRequest{Id: id})
	return err
}

func (g *grpcAPI) listRegistrations(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := g.registrations.ListRegistrations(ctx, &pbxv1.ListRegistrationsRequest{})
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

func (g *grpcAPI) apply(ctx context.Context, note string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	response, err := g.applies.Apply(ctx, &pbxv1.ApplyRequest{Note: note})
	if err != nil {
		return false, err
	}
	return response.GetAudit().GetChanged(), nil
}

func (g *grpcAPI) preview(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	response, err := g.applies.PreviewApply(ctx, &pbxv1.PreviewApplyRequest{})
	if err != nil {
		return false, err
	}
	return response.GetWouldWrite(), nil
}
