"""Apply error reporting, error body shape, OpenAPI document, health."""

import socket
import time
import uuid

import pytest

import harness as h
import lab as L


def test_apply_without_a_reachable_host_fails_with_its_audit_id(shared_portal):
    """This portal has no Asterisk host configured: the Apply fails with 500, but is audited."""
    r = shared_portal.call("POST", "/apply", {"note": "e2e-admin"})
    h.assert_error(r, 500, h.INTERNAL)
    entry = L.audit_entry(shared_portal, L.error_audit_id(r))
    assert entry["outcome"] == "APPLY_OUTCOME_FAILURE", entry
    assert entry["triggered_by"] == "admin" and entry["note"] == "e2e-admin", entry
    assert entry["error_detail"], entry


def test_healthz_ok(shared_portal):
    assert shared_portal.healthz_status() == 200


def test_error_bodies_have_status_shape(shared_portal):
    p = shared_portal
    ok = p.create_user("Shape", "shape@example.com")
    assert ok.status == 201, ok
    probes = [
        ("POST", "/users", {}, None, 400),
        ("POST", "/users", None, b"not json", 400),
        ("POST", "/users", {"name": "Shape2", "email": "SHAPE@example.com"}, None, 409),
        ("GET", f"/users/{uuid.uuid4()}", None, None, 404),
        ("DELETE", f"/users/{uuid.uuid4()}", None, None, 404),
        ("GET", f"/users/{uuid.uuid4()}/sip-credentials", None, None, 404),
        ("GET", "/users/nope", None, None, 400),
        ("POST", "/users", None, b'{"name":"' + b"x" * 70000 + b'"}', 413),
        ("POST", "/apply", {"unknown": 1}, None, 400),
        ("GET", "/apply/audit?limit=5000", None, None, 400),
        ("GET", "/no/such/path", None, None, 404),
        ("PUT", "/users", {}, None, None),  # 404/405/501: whatever it is, same shape
    ]
    problems = []
    for method, path, body, raw, want in probes:
        r = p.call(method, path, body, raw=raw)
        try:
            if want is not None:
                assert r.status == want, f"want {want}"
            assert r.status >= 400
            h.assert_error_shape(r)
            assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers.get("Content-Type")
        except AssertionError as e:
            problems.append(f"{method} {path}: {e} / got {r!r}")
    assert not problems, "\n".join(problems)
    assert p.delete(f"/users/{ok.json['user']['id']}").status in (200, 204)


def test_openapi_document(shared_portal):
    r = shared_portal.get("/openapi.json")
    assert r.status == 200, r
    doc = r.json
    assert isinstance(doc, dict), r
    paths = doc.get("paths") or {}
    assert "/users" in paths and "/apply" in paths, sorted(paths)
    assert {"get", "post"} <= set(paths["/users"]), paths["/users"]
    assert "post" in paths["/apply"]
    assert "/users/{id}" in paths and {"get", "delete"} <= set(paths["/users/{id}"])
    assert "/users/{id}/sip-credentials" in paths


def test_not_healthy_before_first_database_check(portals):
    """/healthz must not say 200 before the server knows the database is usable.
    The database here is a TCP listener that never answers, so the server's first check hangs for
    PBX_DB_CONNECT_TIMEOUT_S; during that time (and after it) health must not be SERVING."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)
        port = hole.getsockname()[1]
        p = portals.start(f"postgresql://postgres@127.0.0.1:{port}/pbx", wait=False,
                          server_env={"PBX_DB_CONNECT_TIMEOUT_S": "5"})
        h.wait_until(lambda: p.healthz_status(timeout=1) is not None, 20, 0.05, "gateway to listen")
        seen = []
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            seen.append(p.healthz_status(timeout=6))
            time.sleep(0.05)
        assert p.server.proc.alive(), p.server.proc.stderr_tail()
        assert 200 not in seen, (f"/healthz answered 200 {seen.count(200)} of {len(seen)} times while the "
                                 f"database never answered")
