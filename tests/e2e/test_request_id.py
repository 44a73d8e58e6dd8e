"""The request id: X-Request-Id at the gateway, x-request-id metadata at the server, in both processes' JSON
logs, in the response, and in the Apply audit row."""

from __future__ import annotations

import json
import re
import uuid

import harness as h
import lab as L
from test_grpc import grpcurl

GENERATED_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def log_lines(proc: h.Proc) -> list[dict]:
    """The process's JSON log lines (anything else on stderr is skipped)."""
    lines = []
    for text in proc.stderr_tail(10_000_000).splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines


def wait_for_log(proc: h.Proc, request_id: str, **fields) -> dict:
    """The first log line carrying request_id (and the given fields); the server writes its "rpc" line as the
    call returns, so it may land a moment after the response."""
    def find():
        return next((line for line in log_lines(proc) if line.get("request_id") == request_id
                     and all(line.get(k) == v for k, v in fields.items())), None)
    return h.wait_until(find, 5, 0.05, f"a {proc.role} log line with request_id {request_id!r} and {fields}")


def test_rest_request_id_is_echoed_and_reaches_the_server_log(shared_portal):
    r = shared_portal.get("/users", headers={"X-Request-Id": "abc-123"})
    assert r.status == 200, r
    assert r.headers.get("X-Request-Id") == "abc-123", r.headers
    line = wait_for_log(shared_portal.server.proc, "abc-123", msg="rpc", method="/pbx.v1.UserService/ListUsers")
    assert line["code"] == "OK" and line["level"] == "info", line
    wait_for_log(shared_portal.gateway.proc, "abc-123", msg="request", path="/users")


def test_request_without_an_id_gets_a_generated_one(shared_portal):
    r = shared_portal.get(f"/users/{uuid.uuid4()}")
    assert r.status == 404, r
    request_id = r.headers.get("X-Request-Id", "")
    assert GENERATED_ID_RE.match(request_id), f"no generated X-Request-Id: {r.headers}"
    line = wait_for_log(shared_portal.server.proc, request_id, msg="rpc", method="/pbx.v1.UserService/GetUser")
    assert line["code"] == "NOT_FOUND", line


def test_an_invalid_id_is_replaced_not_logged(shared_portal):
    forged = 'x","level":"forged'
    r = shared_portal.get("/users", headers={"X-Request-Id": forged})
    assert r.status == 200, r
    request_id = r.headers.get("X-Request-Id", "")
    assert GENERATED_ID_RE.match(request_id), f"the invalid id was not replaced: {r.headers}"
    wait_for_log(shared_portal.server.proc, request_id, msg="rpc", method="/pbx.v1.UserService/ListUsers")
    assert not [line for line in log_lines(shared_portal.server.proc) if line.get("level") == "forged"]


def test_grpc_caller_id_travels_and_comes_back_in_response_headers(shared_portal):
    r = grpcurl("-plaintext", "-v", "-H", "x-request-id: grpc-req-7", shared_portal.grpc_addr,
                "pbx.v1.UserService/ListUsers", token=shared_portal.admin_token)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^x-request-id: grpc-req-7$", r.stdout, re.M), f"not in the response headers:\n{r.stdout}"
    wait_for_log(shared_portal.server.proc, "grpc-req-7", msg="rpc", method="/pbx.v1.UserService/ListUsers")


def test_grpc_caller_without_an_id_gets_one(shared_portal):
    r = grpcurl("-plaintext", "-v", shared_portal.grpc_addr, "pbx.v1.UserService/ListUsers",
                token=shared_portal.admin_token)
    assert r.returncode == 0, r.stderr
    m = re.search(r"^x-request-id: ([0-9a-f]{32})$", r.stdout, re.M)
    assert m, f"no generated x-request-id in the response headers:\n{r.stdout}"
    wait_for_log(shared_portal.server.proc, m.group(1), msg="rpc", method="/pbx.v1.UserService/ListUsers")


def test_apply_records_the_request_id_in_its_audit_row(apply_portal, lab):
    L.create_user(apply_portal, "Request Id", "request.id@example.com")
    r = apply_portal.client.post("/apply", {}, headers={"X-Request-Id": "apply-req-1"},
                                 timeout=180)
    assert r.status == 200, f"{r!r}\nserver stderr:\n{apply_portal.server.proc.stderr_tail()}"
    assert r.headers.get("X-Request-Id") == "apply-req-1", r.headers
    assert r.json["audit"]["request_id"] == "apply-req-1", r.json
    audit_id = r.json["audit"]["id"]

    assert L.audit_entry(apply_portal, audit_id)["request_id"] == "apply-req-1"
    status = apply_portal.client.get("/apply/status")
    assert status.status == 200, status
    assert status.json["last_apply"]["request_id"] == "apply-req-1", status.json
    assert status.json["last_successful_apply"]["request_id"] == "apply-req-1", status.json
    # The server's own lines of that Apply carry it too, not only the per-call line.
    wait_for_log(apply_portal.server.proc, "apply-req-1", msg="apply succeeded")
    wait_for_log(apply_portal.server.proc, "apply-req-1", msg="rpc", method="/pbx.v1.ApplyService/Apply", code="OK")
