"""Idempotent CreateUser (AIP-155): request_id in the body or the Idempotency-Key header (the gateway maps it onto
request_id; both present and different -> 400).

Same key + same body -> 201 with the same user and SIP password, never a second user, never 409; same key + other
body -> 409 (ALREADY_EXISTS, ErrorInfo REQUEST_ID_REUSED) saying the key was used for another request; a key that
is no UUID -> 400 naming request_id. 50 concurrent requests with one key make one user. A create whose answer was
lost (the connection cut by reliability.CuttableProxy after the request went through) is answered by its retry.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

import harness as h
import reliability as R


@pytest.fixture(scope="module")
def op(shared_portal):
    client, _ = h.create_api_key(shared_portal.client, "idem-operator", "operator")
    return client


def _body(prefix: str, key: str | None = None, **extra) -> dict:
    b = {"name": f"{prefix} Name", "email": h.unique_email(prefix), "metadata": {"src": prefix.lower()[:30]}}
    if key is not None:
        b["request_id"] = key
    b.update(extra)
    return b


def _with_email(portal, email: str) -> list[dict]:
    return [u for u in portal.list_users() if u["email"].lower() == email.lower()]


def _assert_same_answer(first: h.Response, again: h.Response):
    assert first.status == 201, first
    assert again.status == 201, f"retry with the same key: want 201 (the same answer), got {again!r}"
    assert again.json["user"]["id"] == first.json["user"]["id"], (first, again)
    assert again.json["user"]["extension"] == first.json["user"]["extension"], (first, again)
    assert again.json["sip_credentials"] == first.json["sip_credentials"], \
        "the retry did not answer the same SIP credentials"
    assert again.json["user"] == first.json["user"], (first, again)


def _assert_key_reused(r: h.Response):
    h.assert_error(r, 409, h.ALREADY_EXISTS)
    msg = r.json["message"]
    assert re.search(r"request[_ ]?id|idempotency|key", msg, re.I), f"409 does not name the key: {msg!r}"
    reasons = {i.get("reason") for i in h.error_infos(r.json)}
    assert "REQUEST_ID_REUSED" in reasons, f"no ErrorInfo REQUEST_ID_REUSED: {r!r}"


def test_same_key_same_body_answers_the_same_user(shared_portal, op):
    key = str(uuid.uuid4())
    body = _body("Idem Same", key)
    first = op.post("/users", body)
    assert first.status == 201, first
    for _ in range(3):
        _assert_same_answer(first, op.post("/users", body))
    # The same key as the header instead of in the body: the same request.
    no_field = {k: v for k, v in body.items() if k != "request_id"}
    _assert_same_answer(first, op.post("/users", no_field, headers={"Idempotency-Key": key}))
    # Both in the body and the header, equal: the same request.
    _assert_same_answer(first, op.post("/users", body, headers={"Idempotency-Key": key}))
    assert len(_with_email(shared_portal, body["email"])) == 1
    # The credentials stored are the ones answered.
    s = shared_portal.get(f"/users/{first.json['user']['id']}/sip-credentials")
    assert s.status == 200 and s.json == first.json["sip_credentials"], s

    # Without a key, the same body is an ordinary second create: e-mail taken.
    h.assert_error(op.post("/users", no_field), 409, h.ALREADY_EXISTS)


def test_header_key_alone(shared_portal, op):
    key = str(uuid.uuid4())
    body = _body("Idem Header")
    first = op.post("/users", body, headers={"Idempotency-Key": key})
    assert first.status == 201, first
    _assert_same_answer(first, op.post("/users", body, headers={"Idempotency-Key": key}))
    _assert_same_answer(first, op.post("/users", dict(body, request_id=key)))
    other = _body("Idem Header Other")
    _assert_key_reused(op.post("/users", other, headers={"Idempotency-Key": key}))
    assert not _with_email(shared_portal, other["email"])
    assert len(_with_email(shared_portal, body["email"])) == 1


def test_same_key_other_body_is_409(shared_portal, op):
    key = str(uuid.uuid4())
    body = _body("Idem Other", key)
    first = op.post("/users", body)
    assert first.status == 201, first
    before = shared_portal.count_users()
    new_email = h.unique_email("idem-other-2")
    for changed in (dict(body, name="Another Name"), dict(body, email=new_email),
                    dict(body, metadata={"src": "else"}), {k: v for k, v in body.items() if k != "metadata"}):
        _assert_key_reused(op.post("/users", changed))
    assert shared_portal.count_users() == before, "a refused request stored a user"
    assert not _with_email(shared_portal, new_email)
    # The original is still answered.
    _assert_same_answer(first, op.post("/users", body))


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", str(uuid.uuid4()) + "0", "{" + str(uuid.uuid4()) + "}",
                                 str(uuid.uuid4()).replace("-", "_")])
def test_key_that_is_no_uuid_is_400(shared_portal, op, bad):
    body = _body("Idem Bad")
    r = op.post("/users", dict(body, request_id=bad))
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={"request_id"})
    r = op.post("/users", body, headers={"Idempotency-Key": bad})
    h.assert_error(r, 400, h.INVALID_ARGUMENT)
    assert "request_id" in h.violated_fields(r.json) or "request_id" in r.json["message"], \
        f"400 for a bad Idempotency-Key does not name request_id: {r!r}"
    assert not _with_email(shared_portal, body["email"])


def test_header_and_body_keys_differ_is_400(shared_portal, op):
    body = _body("Idem Differ", str(uuid.uuid4()))
    r = op.post("/users", body, headers={"Idempotency-Key": str(uuid.uuid4())})
    h.assert_error(r, 400, h.INVALID_ARGUMENT)
    assert not _with_email(shared_portal, body["email"])


def test_50_concurrent_requests_with_one_key_make_one_user(portal):
    op, _ = h.create_api_key(portal.client, "idem-concurrent", "operator")
    key = str(uuid.uuid4())
    body = _body("Idem Race", key)
    barrier = threading.Barrier(50)

    def one(_):
        barrier.wait(10)
        return op.post("/users", body, timeout=30)

    with ThreadPoolExecutor(max_workers=50) as ex:
        answers = list(ex.map(one, range(50)))
    bad = [r for r in answers if r.status != 201]
    assert not bad, f"{len(bad)} of 50 answers were not 201, e.g. {bad[0]!r}"
    assert len({r.json["user"]["id"] for r in answers}) == 1, "several users answered"
    assert len({r.json["sip_credentials"]["password"] for r in answers}) == 1, "several passwords answered"
    users = portal.list_users()
    assert len(users) == 1 and users[0]["id"] == answers[0].json["user"]["id"], users
    assert users[0]["extension"] == 1000
    # No extension was burned by the losers: the next user gets 1001.
    r = op.post("/users", _body("Idem Race Next"))
    assert r.status == 201 and r.json["user"]["extension"] == 1001, r


def test_idempotent_create_via_grpc(shared_portal, op):
    key = str(uuid.uuid4())
    msg = _body("Idem Grpc", key)
    code, first = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/CreateUser", msg, op.token)
    assert code == 0, first
    code, again = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/CreateUser", msg, op.token)
    assert code == 0, f"retry with the same request_id: {again}"
    assert again["user"]["id"] == first["user"]["id"], (first, again)
    creds = lambda o: o.get("sip_credentials") or o.get("sipCredentials")  # noqa: E731
    assert creds(again)["password"] == creds(first)["password"], (first, again)
    code, other = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/CreateUser",
                              dict(msg, name="Other Name"), op.token)
    assert code == h.ALREADY_EXISTS, other
    code, bad = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/CreateUser",
                            dict(_body("Idem Grpc Bad"), request_id="nope"), op.token)
    assert code == h.INVALID_ARGUMENT, bad
    assert len(_with_email(shared_portal, msg["email"])) == 1
    # The same key over REST is the same request.
    r = op.post("/users", msg)
    assert r.status == 201 and r.json["user"]["id"] == first["user"]["id"], r


# --------------------------------------------------------------------------- answers lost in transit

def _send_and_lose_answer(proxy: R.CuttableProxy, client: h.Client, body, headers=None) -> dict:
    """POST /users through the proxy, losing the answer: returns {"response": ...} or {"error": ...}."""
    out: dict = {}

    def go():
        try:
            out["response"] = client.post("/users", body, headers=headers, timeout=20)
        except (OSError, http.client.HTTPException) as e:
            out["error"] = repr(e)
    proxy.answer_seen.clear()
    proxy.dropping_answers = True
    t = threading.Thread(target=go, daemon=True)
    t.start()
    assert proxy.answer_seen.wait(15), "no answer came back through the proxy"
    proxy.cut()
    t.join(20)
    assert not t.is_alive(), "the client still waits after the cut"
    proxy.dropping_answers = False
    proxy.restore()
    return out


def test_in_doubt_create_client_lost_the_answer(shared_portal, op):
    """Client -> proxy -> gateway: the create is done, its answer is lost on the way back; the retry with the same
    key answers the user the first request made."""
    proxy = R.CuttableProxy("127.0.0.1", shared_portal.gateway.http_port)
    try:
        via = h.Client(f"http://127.0.0.1:{proxy.port}", token=op.token)
        key = str(uuid.uuid4())
        body = _body("Idem Doubt", key)
        lost = _send_and_lose_answer(proxy, via, body)
        assert "response" not in lost, f"the answer was not lost: {lost}"
        made = _with_email(shared_portal, body["email"])
        assert len(made) == 1, f"the lost create did not store its user: {made}"

        again = via.post("/users", body)
        assert again.status == 201, f"retry of the in-doubt create: {again!r}"
        assert again.json["user"]["id"] == made[0]["id"], (again, made)
        s = shared_portal.get(f"/users/{made[0]['id']}/sip-credentials")
        assert s.json == again.json["sip_credentials"], "the retry answered other credentials than stored"
        assert len(_with_email(shared_portal, body["email"])) == 1

        # The same with the Idempotency-Key header.
        key2 = str(uuid.uuid4())
        body2 = _body("Idem Doubt Header")
        lost = _send_and_lose_answer(proxy, via, body2, headers={"Idempotency-Key": key2})
        assert "response" not in lost, lost
        again = via.post("/users", body2, headers={"Idempotency-Key": key2})
        assert again.status == 201, again
        made = _with_email(shared_portal, body2["email"])
        assert len(made) == 1 and made[0]["id"] == again.json["user"]["id"], (made, again)
    finally:
        proxy.close()


def test_in_doubt_create_gateway_lost_the_server(portals, new_db):
    """Gateway -> proxy -> server: the server commits the create, but its answer never reaches the gateway, whose
    connection then breaks; the client gets an error (not 201). The retry with the same key answers that user."""
    url = new_db()
    backend = portals.start(url)  # the server the proxy fronts (its own gateway stays unused)
    proxy = R.CuttableProxy("127.0.0.1", backend.server.grpc_port)
    try:
        gw = h.Gateway(f"127.0.0.1:{proxy.port}", "tests_e2e_test_idempotent_create.py.test_in_doubt_create_gateway_lost_the_server.proxied")
        front = h.Client(gw.base_url, token=backend.admin_token)
        try:
            h.wait_until(lambda: front.get("/users", timeout=3).status == 200, 20, 0.1, "the proxied gateway")
            key = str(uuid.uuid4())
            body = _body("Idem Doubt Gw", key)
            out: dict = {}

            def go():
                try:
                    out["response"] = front.post("/users", body, timeout=30)
                except (OSError, http.client.HTTPException) as e:
                    out["error"] = repr(e)
            proxy.dropping_answers = True
            t = threading.Thread(target=go, daemon=True)
            t.start()
            # The server committed (seen through the backend's own gateway), its answer is being swallowed.
            h.wait_until(lambda: _with_email(backend, body["email"]), 15, 0.05, "the create to be stored")
            time.sleep(0.2)
            proxy.cut()
            t.join(30)
            assert not t.is_alive(), "the client still waits after the gateway lost the server"
            first = out.get("response")
            assert first is None or first.status != 201, f"the answer was not lost: {first!r}"
            proxy.dropping_answers = False
            proxy.restore()

            def retried():
                r = front.post("/users", body, timeout=10)
                return r if r.status not in (502, 503, 504) else None
            again = h.wait_until(retried, 20, 0.2, "the gateway to reach the server again")
            made = _with_email(backend, body["email"])
            assert again.status == 201, f"retry of the in-doubt create: {again!r}"
            assert len(made) == 1 and again.json["user"]["id"] == made[0]["id"], (again, made)
            assert backend.count_users() == 1
        finally:
            assert gw.proc.stop() == 0, f"proxied gateway exit code; log {gw.proc.stderr_path}"
    finally:
        proxy.close()


def test_concurrent_same_key_different_bodies(portal):
    """One key, ten different bodies at once: one user, the one whose request won; the others are 409."""
    op, _ = h.create_api_key(portal.client, "idem-concurrent-diff", "operator")
    key = str(uuid.uuid4())
    bodies = [_body(f"Idem Diff {i}", key) for i in range(10)]
    barrier = threading.Barrier(10)

    def one(b):
        barrier.wait(10)
        return op.post("/users", b, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as ex:
        answers = list(ex.map(one, bodies))
    won = [r for r in answers if r.status == 201]
    assert len(won) == 1, f"want one 201, got {[r.status for r in answers]}"
    for r in answers:
        if r is not won[0]:
            _assert_key_reused(r)
    users = portal.list_users()
    assert [u["id"] for u in users] == [won[0].json["user"]["id"]], users


def test_key_of_a_create_is_not_a_batch_key(shared_portal, op):
    """A key names one request: a create's key sent with a batch (or the reverse) is another request -> 409."""
    key = str(uuid.uuid4())
    body = _body("Idem Cross", key)
    first = op.post("/users", body)
    assert first.status == 201, first
    entry = {k: v for k, v in body.items() if k != "request_id"}
    before = shared_portal.count_users()
    r = op.post("/users:batchCreate", {"requests": [entry], "request_id": key})
    _assert_key_reused(r)

    key2 = str(uuid.uuid4())
    entry2 = _body("Idem Cross Batch")
    b = op.post("/users:batchCreate", {"requests": [entry2], "request_id": key2})
    assert b.status == 200, b
    _assert_key_reused(op.post("/users", dict(entry2, request_id=key2)))
    assert shared_portal.count_users() == before + 1
