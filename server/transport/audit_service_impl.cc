#include "server/transport/audit_service_impl.h"

#include "server/transport/proto_convert.h"
#include "server/transport/status_mapping.h"

namespace pbx {

grpc::Status AuditServiceImpl::ListAuditEvents(grpc::ServerContext*,
                                               const v1::ListAuditEventsRequest* request,
                                               v1::ListAuditEventsResponse* response) {
  absl::StatusOr<std::vector<UserChangeEvent>> events =
      operations_.ListChangeEvents(request->limit(), request->user_id());
  if (!events.ok()) return ToGrpcStatus(events.status());
  response->mutable_events()->Reserve(static_cast<int>(events->size()));
  for (const UserChangeEvent& event : *events) ToProto(event, response->add_events());
  return grpc::Status::OK;
}

}  // namespace pbx
