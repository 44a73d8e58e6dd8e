#include "server/transport/apply_service_impl.h"

#include "server/transport/call_pipeline.h"
#include "server/transport/proto_convert.h"
#include "server/transport/request_id.h"
#include "server/transport/status_mapping.h"

namespace pbx {

grpc::Status ApplyServiceImpl::Apply(grpc::ServerContext* context,
                                     const v1::ApplyRequest* request,
                                     v1::ApplyResponse* response) {
  // Admitted by the call pipeline, so the caller is known; identity never
  // comes from the request (a header or a body field anyone can type).
  const std::optional<Principal> caller = CallerOf(*context);
  if (!caller) return NoCallerStatus();
  // The deprecated triggered_by is read as the note, for older clients.
  const std::string& note = request->note().empty() ? request->triggered_by() : request->note();
  absl::StatusOr<ApplyAuditEntry> entry =
      operations_.Apply(*caller, note, RequestIdOf(*context), request->force(),
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
  for (const HostApplyStatus& host : status->hosts) ToProto(host, response->add_hosts());
  return grpc::Status::OK;
}

grpc::Status ApplyServiceImpl::PreviewApply(grpc::ServerContext*, const v1::PreviewApplyRequest*,
                                            v1::PreviewApplyResponse* response) {
  absl::StatusOr<ApplyPreview> preview = inspector_.Preview();
  if (!preview.ok()) return ToGrpcStatus(preview.status());
  ToProto(*preview, response);
  return grpc::Status::OK;
}

grpc::Status ApplyServiceImpl::GetApplyDrift(grpc::ServerContext*, const v1::GetApplyDriftRequest*,
                                             v1::GetApplyDriftResponse* response) {
  absl::StatusOr<DriftStatus> drift = inspector_.Drift();
  if (!drift.ok()) return ToGrpcStatus(drift.status());
  ToProto(*drift, response);
  return grpc::Status::OK;
}

}  // namespace pbx
