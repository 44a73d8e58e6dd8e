"""Who may call what (issue 10): every RPC and every REST route, with every kind of credential, answers exactly as the
role table says. The table is read from the running server (reflection shows each method's (pbx.v1.required_role)
option) and the REST routes from proto/pbx/v1/http.yaml, so a method added later is covered as it comes: without a
role the server does not even start, and without a REST route the suite fails here."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
import yaml

import harness as h
from test_grpc import grpcurl

LEVELS = {"ROLE_VIEWER": 1, "ROLE_OPERATOR": 2, "ROLE_ADMIN": 3}
ROLE_LEVEL = {"viewer": 1, "operator": 2, "admin": 3}
# Every way to call: no token, a malformed one, a well-formed unknown one, a revoked one, and one of each role.
CREDENTIALS = ("none", "malformed", "unknown", "revoked", "viewer", "operator", "admin")
UNAUTHENTICATED = 16
PERMISSION_DENIED = 7


def method_roles(portal) -> dict[str, int]:
    """"pbx.v1.UserService/CreateUser" -> the least role level, for every method of every pbx service."""
    listed = grpcurl("-plaintext", portal.grpc_addr, "list")
    assert listed.returncode == 0, listed.stderr
    roles = {}
    for service in (s for s in listed.stdout.split() if s.startswith("pbx.")):
        described = grpcurl("-plaintext", portal.grpc_addr, "describe", service)
        assert described.returncode == 0, described.stderr
        for name, body in re.findall(r"rpc (\w+) \([^)]*\) returns \([^)]*\)(.*?)(?=\n  rpc |\n}\n)",
                                     described.stdout, re.S):
            role = re.search(r"option \(\.?pbx\.v1\.required_role\) = (ROLE_\w+);", body)
            assert role, f"{service}/{name} has no (pbx.v1.required_role): it would be open to every key"
            roles[f"{service}/{name}"] = LEVELS[role.group(1)]
    assert roles, "reflection listed no pbx method"
    return roles


def rest_routes() -> dict[str, tuple[str, str, bool, str]]:
    """"pbx.v1.UserService/CreateUser" -> (HTTP method, path with a fresh id, whether it takes a body, and the
    gRPC request as JSON with the same ids where the path has them: {"id": ...} or {"user": {"id": ...}})."""
    rules = yaml.safe_load((h.REPO_ROOT / "proto" / "pbx" / "v1" / "http.yaml").read_text())["http"]["rules"]
    routes = {}
    for rule in rules:
        verb = next(v for v in ("get", "post", "patch", "put", "delete") if v in rule)
        service, _, method = rule["selector"].rpartition(".")
        request: dict = {}

        def fresh_id(variable: re.Match) -> str:
            *parents, leaf = variable[1].split(".")
            message = request
            for parent in parents:
                message = message.setdefault(parent, {})
            message[leaf] = str(uuid.uuid4())
            return message[leaf]

        path = re.sub(r"\{([^}]+)\}", fresh_id, rule[verb])
        routes[f"{service}/{method}"] = (verb.upper(), path, "body" in rule, json.dumps(request))
    return routes


@pytest.fixture(scope="module")
def callers(shared_portal):
    """A token for each kind of credential (None: no Authorization at all)."""
    admin = shared_portal.client
    tokens = {"none": None, "malformed": "not-a-token", "unknown": h.new_api_token(), "admin": admin.token}
    for role in ("viewer", "operator"):
        r = admin.post("/api-keys", {"name": f"matrix-{role}", "role": role})
        assert r.status == 201, r
        tokens[role] = r.json["token"]
    r = admin.post("/api-keys", {"name": "matrix-revoked", "role": "admin"})
    assert r.status == 201, r
    tokens["revoked"] = r.json["token"]
    assert admin.delete(f"/api-keys/{r.json['api_key']['id']}").status == 200
    h.wait_until(lambda: admin.with_token(tokens["revoked"]).get("/users").status == 401, 10, 0.1, "revocation")
    return tokens


@pytest.fixture(scope="module")
def role_table(shared_portal) -> dict[str, int]:
    return method_roles(shared_portal)


def expected(credential: str, required: int) -> str:
    if credential in ("none", "malformed", "unknown", "revoked"):
        return "unauthenticated"
    return "denied" if ROLE_LEVEL[credential] < required else "admitted"


def test_every_rpc_has_a_rest_route_and_every_route_an_rpc(role_table):
    assert set(role_table) == set(rest_routes())


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_every_rpc_answers_as_the_role_table_says(shared_portal, role_table, callers, credential):
    token = callers[credential]
    routes = rest_routes()
    wrong = []
    for method, required in sorted(role_table.items()):
        # A request the method parses (an id where its route has one), so that every call reaches the server.
        body = routes[method][3]
        auth = ["-H", f"authorization: Bearer {token}"] if token else []
        r = grpcurl("-plaintext", "-format-error", *auth, "-d", body, shared_portal.grpc_addr, method)
        status = re.search(r'"code": (\d+)', r.stderr)
        if r.returncode != 0 and status is None:
            wrong.append(f"{method}: the call did not reach the server: {r.stderr.strip()[:200]}")
            continue
        code = int(status[1]) if status else 0
        want = expected(credential, required)
        got = ("unauthenticated" if code == UNAUTHENTICATED else "denied" if code == PERMISSION_DENIED
               else "admitted")
        if got != want:
            wrong.append(f"{method}: want {want}, got code {code} ({r.stderr.strip()[:200]})")
    assert not wrong, f"with a {credential} credential:\n" + "\n".join(wrong)


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_every_rest_route_answers_as_the_role_table_says(shared_portal, role_table, callers, credential):
    client = shared_portal.client.with_token(callers[credential])
    wrong = []
    for method, (verb, path, has_body, _) in sorted(rest_routes().items()):
        r = client.call(verb, path, {} if has_body else None, timeout=30)
        want = expected(credential, role_table[method])
        got = {401: "unauthenticated", 403: "denied"}.get(r.status, "admitted")
        if got != want:
            wrong.append(f"{verb} {path} ({method}): want {want}, got {r!r}")
        elif got == "unauthenticated" and r.headers.get("WWW-Authenticate", "").split(" ")[0] != "Bearer":
            wrong.append(f"{verb} {path}: 401 without WWW-Authenticate: Bearer ({dict(r.headers)})")
        elif got == "denied" and 'error="insufficient_scope"' not in r.headers.get("WWW-Authenticate", ""):
            wrong.append(f"{verb} {path}: 403 without an insufficient_scope challenge ({dict(r.headers)})")
    assert not wrong, f"with a {credential} credential:\n" + "\n".join(wrong)


def test_no_answer_tells_whether_a_token_exists(shared_portal, callers):
    """Missing, malformed, unknown and revoked tokens get the very same answer."""
    bodies = set()
    for credential in ("none", "malformed", "unknown", "revoked"):
        r = shared_portal.client.with_token(callers[credential]).get("/users")
        assert r.status == 401, r
        bodies.add(r.text)
    assert len(bodies) == 1, bodies


def test_health_reflection_and_the_gateways_own_pages_stay_open(shared_portal):
    anonymous = shared_portal.client.with_token(None)
    for path in ("/healthz", "/openapi.json", "/metrics"):
        assert anonymous.get(path).status == 200, path
    assert grpcurl("-plaintext", shared_portal.grpc_addr, "grpc.health.v1.Health/Check").returncode == 0
    assert grpcurl("-plaintext", shared_portal.grpc_addr, "list").returncode == 0


def test_api_keys_are_created_listed_and_revoked(shared_portal):
    admin = shared_portal.client
    r = admin.post("/api-keys", {"name": "ci-deployer", "role": "operator"})
    assert r.status == 201, r
    key, token = r.json["api_key"], r.json["token"]
    assert set(key) >= {"id", "name", "role", "created_at"} and key["role"] == "operator", key
    assert re.fullmatch(r"pbx_[A-Za-z0-9_-]{43}", token), token
    listed = admin.get("/api-keys")
    assert listed.status == 200 and isinstance(listed.json, list), listed
    assert token not in listed.text and "token" not in listed.text.lower(), "the list shows secrets"
    assert any(k["id"] == key["id"] for k in listed.json)
    # Validated like user names; one live name; only the three roles.
    h.assert_error(admin.post("/api-keys", {"name": "ci-deployer", "role": "viewer"}), 409, h.ALREADY_EXISTS)
    h.assert_error(admin.post("/api-keys", {"name": "x", "role": "root"}), 400, h.INVALID_ARGUMENT, fields=["role"])
    h.assert_error(admin.post("/api-keys", {"name": "bad\nname", "role": "viewer"}), 400, h.INVALID_ARGUMENT,
                   fields=["name"])
    # The key works, and stops working when revoked.
    assert admin.with_token(token).get("/users").status == 200
    assert admin.delete(f"/api-keys/{key['id']}").status == 200
    assert admin.with_token(token).get("/users").status == 401
    h.assert_error(admin.delete(f"/api-keys/{key['id']}"), 404, h.NOT_FOUND)


def test_revocation_reaches_another_server_within_five_seconds(portal_pair):
    a, b = portal_pair
    r = a.client.post("/api-keys", {"name": "roaming", "role": "viewer"})
    assert r.status == 201, r
    token, key_id = r.json["token"], r.json["api_key"]["id"]
    assert b.client.with_token(token).get("/users").status == 200, "a key made on one server works on the other"
    revoked_at = time.monotonic()
    assert a.client.delete(f"/api-keys/{key_id}").status == 200
    h.wait_until(lambda: b.client.with_token(token).get("/users").status == 401, 5, 0.05,
                 "the other server to refuse the revoked token")
    print(f"BENCHMARK revocation reached the other server after {time.monotonic() - revoked_at:.2f} s")
