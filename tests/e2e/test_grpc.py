"""The gRPC side, through grpcurl (server reflection, health, CreateUser)."""

import json
import os
import subprocess

import pytest

import harness as h


def grpcurl(*args, token: str | None = None, timeout=20):
    """grpcurl with `args`; with a token, the call carries `authorization: Bearer <token>` metadata."""
    if not os.access(h.GRPCURL_BIN, os.X_OK):
        pytest.fail(f"grpcurl missing at {h.GRPCURL_BIN}")
    auth = ["-H", f"authorization: Bearer {token}"] if token else []
    return subprocess.run([str(h.GRPCURL_BIN), "-max-time", "10", *auth, *args],
                          capture_output=True, text=True, timeout=timeout)


def test_reflection_lists_services(shared_portal):
    r = grpcurl("-plaintext", shared_portal.grpc_addr, "list")
    assert r.returncode == 0, r.stderr
    services = set(r.stdout.split())
    for s in ("pbx.v1.UserService", "pbx.v1.ApplyService", "grpc.health.v1.Health"):
        assert s in services, f"{s} not listed: {sorted(services)}"

    d = grpcurl("-plaintext", shared_portal.grpc_addr, "describe", "pbx.v1.UserService")
    assert d.returncode == 0, d.stderr
    for m in ("CreateUser", "GetUser", "ListUsers", "DeleteUser", "GetSipCredentials"):
        assert f"rpc {m}" in d.stdout, d.stdout


HEALTH_PROTO = """syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
"""


def test_health_serving_via_reflection(shared_portal):
    """What an operator types: no proto files, descriptors from server reflection."""
    r = grpcurl("-plaintext", shared_portal.grpc_addr, "grpc.health.v1.Health/Check")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "SERVING", r.stdout


def test_health_serving_with_local_proto(shared_portal, tmp_path):
    """The health service itself, independent of reflection."""
    (tmp_path / "health.proto").write_text(HEALTH_PROTO)
    r = grpcurl("-plaintext", "-import-path", str(tmp_path), "-proto", "health.proto",
                shared_portal.grpc_addr, "grpc.health.v1.Health/Check")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "SERVING", r.stdout


def test_create_user_via_grpcurl(shared_portal):
    r = grpcurl("-plaintext", "-d", json.dumps({"name": "Grpc User", "email": "grpc.user@example.com"}),
                shared_portal.grpc_addr, "pbx.v1.UserService/CreateUser", token=shared_portal.admin_token)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    user = out["user"]
    creds = out.get("sip_credentials") or out.get("sipCredentials")
    assert isinstance(user["extension"], int) and 1000 <= user["extension"] <= 1999, out
    assert creds and h.PASSWORD_RE.match(creds["password"]), out
    # visible through REST
    g = shared_portal.get(f"/users/{user['id']}")
    assert g.status == 200 and g.json["extension"] == user["extension"], g
    assert shared_portal.delete(f"/users/{user['id']}").status in (200, 204)


def test_invalid_argument_via_grpcurl(shared_portal):
    r = grpcurl("-plaintext", "-d", "{}", shared_portal.grpc_addr, "pbx.v1.UserService/CreateUser",
                token=shared_portal.admin_token)
    assert r.returncode != 0
    assert "InvalidArgument" in r.stdout + r.stderr, r.stdout + r.stderr
