#ifndef PBX_TESTS_UNIT_STATUS_DETAILS_H_
#define PBX_TESTS_UNIT_STATUS_DETAILS_H_

#include <optional>

#include <grpcpp/support/status.h>

#include "google/rpc/status.pb.h"

namespace pbx::testing {

// The only detail of type `Detail` in a gRPC status' google.rpc.Status, or
// nullopt when there is none (or more than one detail of any type).
template <typename Detail>
std::optional<Detail> SoleDetail(const grpc::Status& status) {
  google::rpc::Status details;
  Detail detail;
  if (!details.ParseFromString(status.error_details()) || details.details_size() != 1 ||
      details.code() != static_cast<int>(status.error_code()) ||
      !details.details(0).UnpackTo(&detail)) {
    return std::nullopt;
  }
  return detail;
}

}  // namespace pbx::testing

#endif  // PBX_TESTS_UNIT_STATUS_DETAILS_H_
