#include "server/transport/apply_service_impl.h"

#include "absl/strings/ascii.h"

#include "server/transport/proto_convert.h"
#include "server/transport/request_id.h"
#include "server/transport/status_mapping.h"

namespace pbx {
namespace {

std::string Metadata(const grpc::ServerContext& context, const std::string& key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

// The request's triggered_by, else the x-admin-user header (forwarded by the
// gateway), else the caller's address.
std::string TriggeredBy(const grpc::ServerContext& context, const v1::ApplyRequest& request) {
  // Blank counts as absent, so a whitespace-only field never hides the header.
  if (!absl::StripAsciiWhitespace(request.triggered_by()).empty()) return request.triggered_by();
  if (std::string admin = Metadata(context, "x-admin-user");
      !absl::StripAsciiWhitespace(admin).empty()) {
    return admin;
  }
  if (std::string forwarded = Metadata(context, "x-forwarded-for"); !forwarded.empty()) {
    return forwarded.substr(0, forwarded.find(','));
  }
  return context.peer();
}

}  // namespace

grpc::Status ApplyServiceImpl::Apply(grpc::ServerContext* context,
                                     const v1::ApplyRequest* request,
                                     v1::ApplyResponse* response) {
  absl::StatusOr<ApplyAuditEntry> entry =
      operations_.Apply(TriggeredBy(*context, *request), RequestIdOf(*context),
                        [context] { return context->IsCancelled(); });
  if (!entry.ok()) return ToGrpcStatus(entry.status());
  ToProto(*entry, response->mutable_audit());
  return grpc::Status::OK;
}

grpc::Status ApplyServiceImpl::ListApplyAudit(grpc::ServerContext*,
                                              const v1::ListApplyAuditRequest* request,
                                              v1::ListApplyAuditResponse* response) {
  absl::StatusOr<std::vector<ApplyAuditEntry>> entries = operations_.ListAudit(request->limit());
  if (!entries.ok()) return ToGrpcStatus(entries.status());
  for (const ApplyAuditEntry& entry : *entries) ToProto(entry, response->add_entries());
  return grpc::Status::OK;
}

grpc::Status ApplyServiceImpl::GetApplyStatus(grpc::ServerContext*,
                                              const v1::GetApplyStatusRequest*,
                                              v1::GetApplyStatusResponse* response) {
  absl::StatusOr<ApplyStatus> status = operations_.GetStatus();
  if (!status.ok()) return ToGrpcStatus(status.status());
  if (status->last_apply) ToProto(*status->last_apply, response->mutable_last_apply());
  if (status->last_successful_apply) {
    ToProto(*status->last_successful_apply, response->mutable_last_successful_apply());
  }
  response->set_pending_changes(status->pending_changes);
  response->set_current_content_hash(status->current_content_hash);
  return grpc::Status::OK;
}

}  // namespace pbx
