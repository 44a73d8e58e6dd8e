"""The change audit: GET /audit/events?limit=N&user_id=<uuid> (role viewer), newest first.

One event per change to a user (user.create, user.batch_create per created user, user.update, user.delete,
user.sip_credentials.rotate) and per read of SIP credentials (user.sip_credentials.read), naming the calling API key
(actor_key_id, actor_key_name) and the call's X-Request-Id. changes: create -> name/email/metadata/extension with
old_value null; update -> only the fields whose value changed, old and new; delete -> old values, new null; rotate
-> sip_password with both null. No event ever holds a password. A refused change writes no event.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

import harness as h

ACTIONS = {"user.create", "user.batch_create", "user.update", "user.delete", "user.sip_credentials.rotate",
           "user.sip_credentials.read"}


@pytest.fixture(scope="module")
def keys(shared_portal):
    operator, op_key = h.create_api_key(shared_portal.client, "audit-operator", "operator")
    viewer, viewer_key = h.create_api_key(shared_portal.client, "audit-viewer", "viewer")
    return {"operator": operator, "operator_key": op_key, "viewer": viewer, "viewer_key": viewer_key}


# Every SIP password this module received; no audit answer may contain any of them.
PASSWORDS: set[str] = set()


def _rid(tag: str) -> str:
    return f"audit-{tag}-{uuid.uuid4().hex[:12]}"


def _events(keys, user_id: str | None = None, limit: int | None = None) -> list[dict]:
    q = []
    if limit is not None:
        q.append(f"limit={limit}")
    if user_id is not None:
        q.append(f"user_id={user_id}")
    r = keys["viewer"].get("/audit/events" + ("?" + "&".join(q) if q else ""))
    assert r.status == 200 and isinstance(r.json, list), f"GET /audit/events -> {r!r}"
    leaked = [p for p in PASSWORDS if p in r.text]
    assert not leaked, f"an audit answer contains {len(leaked)} SIP password(s)"
    for e in r.json:
        for k in ("id", "time", "actor_key_id", "actor_key_name", "request_id", "action", "user_id", "extension",
                  "changes"):
            assert k in e, f"event lacks {k!r}: {e!r}"
        assert e["action"] in ACTIONS, e
        assert not any("password" in str(c.get("field")) and (c.get("old_value") is not None or
                                                               c.get("new_value") is not None)
                       for c in e["changes"]), f"a password value in an event: {e!r}"
    return r.json


def _create(keys, prefix: str, metadata=None, rid: str | None = None) -> dict:
    headers = {"X-Request-Id": rid} if rid else None
    r = keys["operator"].create_user(f"{prefix} Name", h.unique_email(prefix), metadata, headers=headers)
    assert r.status == 201, r
    PASSWORDS.add(r.json["sip_credentials"]["password"])
    return r.json


def _changes(e: dict) -> dict:
    """{field: (old_value, new_value)} of an event; a field named twice fails."""
    fields = [c["field"] for c in e["changes"]]
    assert len(fields) == len(set(fields)), f"a field changed twice in one event: {e!r}"
    return {c["field"]: (c.get("old_value"), c.get("new_value")) for c in e["changes"]}


def _ext_value(v, ext: int) -> bool:
    return v == ext or v == str(ext)


def _assert_actor(e: dict, key: dict, rid: str | None, action: str, user: dict):
    assert e["action"] == action, e
    assert e["actor_key_id"] == key["id"] and e["actor_key_name"] == key["name"], (e, key)
    if rid is not None:
        assert e["request_id"] == rid, f"request_id: want {rid!r}: {e!r}"
    assert e["user_id"] == user["id"] and e["extension"] == user["extension"], (e, user)
    t = datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
    now = datetime.now(timezone.utc)
    assert now - timedelta(minutes=5) < t < now + timedelta(minutes=1), f"odd event time {e['time']!r}"


def _newest_id(keys) -> int:
    ev = _events(keys, limit=1)
    return int(ev[0]["id"]) if ev else 0


def test_create_event(shared_portal, keys):
    rid = _rid("create")
    made = _create(keys, "Audit Create", {"dept": "eng"}, rid)
    u = made["user"]
    ev = _events(keys, u["id"])
    assert len(ev) == 1, ev
    e = ev[0]
    _assert_actor(e, keys["operator_key"], rid, "user.create", u)
    ch = _changes(e)
    assert set(ch) == {"name", "email", "metadata", "extension"}, e
    assert ch["name"] == (None, u["name"]) and ch["email"][0] is None, e
    assert str(ch["email"][1]).lower() == u["email"].lower(), e
    assert ch["metadata"] == (None, {"dept": "eng"}), e
    assert ch["extension"][0] is None and _ext_value(ch["extension"][1], u["extension"]), e


def test_actor_is_the_calling_key(shared_portal, keys):
    """The admin key (the portal's bootstrap key) as the actor, read from GET /api-keys."""
    r = shared_portal.get("/api-keys")
    assert r.status == 200, r
    admins = [k for k in r.json if k["role"] == "admin"]
    assert len(admins) == 1, r.json
    rid = _rid("admin")
    c = shared_portal.create_user("Audit Admin Made", h.unique_email("audit-admin"), headers={"X-Request-Id": rid})
    assert c.status == 201, c
    PASSWORDS.add(c.json["sip_credentials"]["password"])
    e = _events(keys, c.json["user"]["id"])[0]
    _assert_actor(e, admins[0], rid, "user.create", c.json["user"])


def test_update_event_lists_only_changed_fields(shared_portal, keys):
    made = _create(keys, "Audit Update", {"a": "1"})
    u = made["user"]
    op = keys["operator"]

    rid = _rid("update-name")
    r = op.call("PATCH", f"/users/{u['id']}", {"name": "Audit Renamed"}, headers={"X-Request-Id": rid})
    assert r.status == 200, r
    e = _events(keys, u["id"])[0]
    _assert_actor(e, keys["operator_key"], rid, "user.update", u)
    assert _changes(e) == {"name": (u["name"], "Audit Renamed")}, e

    rid = _rid("update-meta")
    r = op.call("PATCH", f"/users/{u['id']}", {"metadata": {"b": "2", "c": "3"}}, headers={"X-Request-Id": rid})
    assert r.status == 200, r
    e = _events(keys, u["id"])[0]
    _assert_actor(e, keys["operator_key"], rid, "user.update", u)
    assert _changes(e) == {"metadata": ({"a": "1"}, {"b": "2", "c": "3"})}, e

    # The name is named but unchanged: only the e-mail is a change.
    rid = _rid("update-email")
    email = h.unique_email("audit-update-new")
    r = op.call("PATCH", f"/users/{u['id']}", {"name": "Audit Renamed", "email": email}, headers={"X-Request-Id": rid})
    assert r.status == 200, r
    e = _events(keys, u["id"])[0]
    _assert_actor(e, keys["operator_key"], rid, "user.update", u)
    ch = _changes(e)
    assert set(ch) == {"email"}, f"unchanged fields listed: {e!r}"
    assert str(ch["email"][0]).lower() == u["email"].lower() and str(ch["email"][1]).lower() == email.lower(), e
    assert len(_events(keys, u["id"])) == 4


def test_delete_event_holds_the_old_values(shared_portal, keys):
    made = _create(keys, "Audit Delete", {"k": "v"})
    u = made["user"]
    rid = _rid("delete")
    r = keys["operator"].delete(f"/users/{u['id']}", headers={"X-Request-Id": rid})
    assert r.status in (200, 204), r
    ev = _events(keys, u["id"])
    assert [e["action"] for e in ev] == ["user.delete", "user.create"], ev
    e = ev[0]
    _assert_actor(e, keys["operator_key"], rid, "user.delete", u)
    ch = _changes(e)
    assert set(ch) == {"name", "email", "metadata", "extension"}, e
    assert ch["name"] == (u["name"], None) and ch["metadata"] == ({"k": "v"}, None), e
    assert str(ch["email"][0]).lower() == u["email"].lower() and ch["email"][1] is None, e
    assert _ext_value(ch["extension"][0], u["extension"]) and ch["extension"][1] is None, e


def test_rotate_and_read_events_hold_no_password(shared_portal, keys):
    made = _create(keys, "Audit Rotate")
    u = made["user"]
    op = keys["operator"]
    rid_rot = _rid("rotate")
    r = op.post(f"/users/{u['id']}/sip-credentials:rotate", {}, headers={"X-Request-Id": rid_rot})
    assert r.status == 200, r
    PASSWORDS.add(r.json["sip_credentials"]["password"])
    rid_read = _rid("read")
    s = op.get(f"/users/{u['id']}/sip-credentials", headers={"X-Request-Id": rid_read})
    assert s.status == 200, s

    ev = _events(keys, u["id"])  # checks that no password is in the answer
    assert [e["action"] for e in ev] == ["user.sip_credentials.read", "user.sip_credentials.rotate", "user.create"], ev
    _assert_actor(ev[0], keys["operator_key"], rid_read, "user.sip_credentials.read", u)
    assert not ev[0]["changes"], f"a read changes nothing: {ev[0]!r}"
    _assert_actor(ev[1], keys["operator_key"], rid_rot, "user.sip_credentials.rotate", u)
    assert ev[1]["changes"] == [{"field": "sip_password", "old_value": None, "new_value": None}], ev[1]
    raw = keys["viewer"].get(f"/audit/events?user_id={u['id']}").text
    assert made["sip_credentials"]["password"] not in raw and r.json["sip_credentials"]["password"] not in raw


def test_batch_create_writes_one_event_per_user(shared_portal, keys):
    rid = _rid("batch")
    tag = uuid.uuid4().hex[:8]
    entries = [{"name": f"Audit Batch {i}", "email": f"audit.batch.{tag}.{i}@example.com", "metadata": {"i": str(i)}}
               for i in range(3)]
    r = keys["operator"].post("/users:batchCreate", {"requests": entries}, headers={"X-Request-Id": rid})
    assert r.status == 200, r
    for i, item in enumerate(r.json["users"]):
        u = item["user"]
        PASSWORDS.add(item["sip_credentials"]["password"])
        ev = _events(keys, u["id"])
        assert len(ev) == 1, f"batch user #{i}: want one event, got {ev!r}"
        _assert_actor(ev[0], keys["operator_key"], rid, "user.batch_create", u)
        ch = _changes(ev[0])
        assert set(ch) == {"name", "email", "metadata", "extension"}, ev[0]
        assert ch["name"] == (None, entries[i]["name"]) and ch["metadata"] == (None, {"i": str(i)}), ev[0]
        assert _ext_value(ch["extension"][1], u["extension"]) and ch["extension"][0] is None, ev[0]
    # validate_only is no change.
    newest = _newest_id(keys)
    more = [{"name": "Audit Batch V", "email": h.unique_email("audit-batch-v")}]
    v = keys["operator"].post("/users:batchCreate", {"requests": more, "validate_only": True})
    assert v.status == 200, v
    assert _newest_id(keys) == newest, "validate_only wrote an event"


def test_newest_first_limit_and_filter(shared_portal, keys):
    made = _create(keys, "Audit Order")
    u = made["user"]
    op = keys["operator"]
    assert op.call("PATCH", f"/users/{u['id']}", {"name": "Audit Order 2"}).status == 200
    assert op.post(f"/users/{u['id']}/sip-credentials:rotate", {}).status == 200
    assert op.get(f"/users/{u['id']}/sip-credentials").status == 200
    assert op.delete(f"/users/{u['id']}").status in (200, 204)

    ev = _events(keys, u["id"])
    assert [e["action"] for e in ev] == ["user.delete", "user.sip_credentials.read", "user.sip_credentials.rotate",
                                         "user.update", "user.create"], ev
    ids = [int(e["id"]) for e in ev]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5, ids
    times = [datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in ev]
    assert times == sorted(times, reverse=True), times
    # Globally, the newest two are this user's last two.
    assert [e["id"] for e in _events(keys, limit=2)] == [e["id"] for e in ev[:2]]
    assert [e["id"] for e in _events(keys, u["id"], limit=3)] == [e["id"] for e in ev[:3]]
    # The filter: another user's events are not listed.
    other = _create(keys, "Audit Order Other")
    assert [e["user_id"] for e in _events(keys, other["user"]["id"])] == [other["user"]["id"]]
    assert all(e["user_id"] == u["id"] for e in _events(keys, u["id"]))
    assert _events(keys, str(uuid.uuid4())) == []


def test_default_limit_50_max_1000(shared_portal, keys):
    tag = uuid.uuid4().hex[:8]
    entries = [{"name": f"Audit Many {i}", "email": f"audit.many.{tag}.{i}@example.com"} for i in range(55)]
    r = keys["operator"].post("/users:batchCreate", {"requests": entries})
    assert r.status == 200, r
    PASSWORDS.update(x["sip_credentials"]["password"] for x in r.json["users"])
    everything = _events(keys, limit=1000)
    assert len(everything) >= 55
    default = _events(keys)
    assert len(default) == 50, f"default limit: want 50 events, got {len(default)}"
    assert [e["id"] for e in default] == [e["id"] for e in everything[:50]]
    ids = [int(e["id"]) for e in everything]
    assert ids == sorted(ids, reverse=True), "not newest first"
    for bad in (1001, 5000):
        h.assert_error(keys["viewer"].get(f"/audit/events?limit={bad}"), 400, h.INVALID_ARGUMENT,
                       fields={"limit"})
    for bad in ("not-a-uuid", "1000", "00000000-0000-0000-0000-00000000000"):
        h.assert_error(keys["viewer"].get(f"/audit/events?user_id={bad}"), 400, h.INVALID_ARGUMENT,
                       fields={"user_id"})


def test_refused_changes_write_no_event(shared_portal, keys):
    a = _create(keys, "Audit Refused A")["user"]
    b = _create(keys, "Audit Refused B")["user"]
    op, viewer = keys["operator"], keys["viewer"]
    newest = _newest_id(keys)

    h.assert_error(op.call("PATCH", f"/users/{b['id']}", {"email": a["email"].upper()}), 409, h.ALREADY_EXISTS)
    h.assert_error(op.create_user("Dup", a["email"]), 409, h.ALREADY_EXISTS)
    h.assert_error(op.call("PATCH", f"/users/{b['id']}", {"email": "not-an-email"}), 400, h.INVALID_ARGUMENT)
    h.assert_error(op.call("PATCH", f"/users/{b['id']}", {"extension": 1999}), 400, h.INVALID_ARGUMENT)
    h.assert_error(op.call("PATCH", f"/users/{uuid.uuid4()}", {"name": "Nobody"}), 404, h.NOT_FOUND)
    h.assert_error(viewer.call("PATCH", f"/users/{b['id']}", {"name": "Viewer"}), 403, h.PERMISSION_DENIED)
    h.assert_error(viewer.post(f"/users/{b['id']}/sip-credentials:rotate", {}), 403, h.PERMISSION_DENIED)
    h.assert_error(viewer.get(f"/users/{b['id']}/sip-credentials"), 403, h.PERMISSION_DENIED)
    h.assert_error(viewer.delete(f"/users/{b['id']}"), 403, h.PERMISSION_DENIED)
    h.assert_error(op.post(f"/users/{uuid.uuid4()}/sip-credentials:rotate", {}), 404, h.NOT_FOUND)
    h.assert_error(op.post("/users:batchCreate", {"requests": [{"name": "X", "email": a["email"]}]}), 409,
                   h.ALREADY_EXISTS)
    h.assert_error(op.post("/users:batchCreate", {"requests": [{"name": "", "email": "bad"}]}), 400,
                   h.INVALID_ARGUMENT)
    assert _newest_id(keys) == newest, f"a refused change wrote events: {_events(keys, limit=10)!r}"
    assert [e["action"] for e in _events(keys, b["id"])] == ["user.create"]


def test_idempotent_replay_is_no_second_change_but_a_recorded_read(shared_portal, keys):
    """A replayed create changes nothing, but its answer hands the SIP passwords out again: recorded as reads."""
    key = str(uuid.uuid4())
    body = {"name": "Audit Replay", "email": h.unique_email("audit-replay"), "request_id": key}
    first = keys["operator"].post("/users", body)
    assert first.status == 201, first
    PASSWORDS.add(first.json["sip_credentials"]["password"])
    again = keys["operator"].post("/users", body)
    assert again.status == 201 and again.json["user"]["id"] == first.json["user"]["id"], again
    ev = _events(keys, first.json["user"]["id"])
    assert [e["action"] for e in ev] == ["user.sip_credentials.read", "user.create"], ev
    # Another key with the same id and body gets no passwords.
    h.assert_error(shared_portal.client.post("/users", body), 409, h.ALREADY_EXISTS)

    bkey = str(uuid.uuid4())
    batch = {"requests": [{"name": "Audit Replay B", "email": h.unique_email("audit-replay-b")}], "request_id": bkey}
    b1 = keys["operator"].post("/users:batchCreate", batch)
    assert b1.status == 200, b1
    PASSWORDS.add(b1.json["users"][0]["sip_credentials"]["password"])
    b2 = keys["operator"].post("/users:batchCreate", batch)
    assert b2.status == 200 and b2.json == b1.json, b2
    ev = _events(keys, b1.json["users"][0]["user"]["id"])
    assert [e["action"] for e in ev] == ["user.sip_credentials.read", "user.batch_create"], ev


def test_audit_roles(shared_portal, keys):
    assert keys["viewer"].get("/audit/events?limit=1").status == 200
    assert keys["operator"].get("/audit/events?limit=1").status == 200
    r = shared_portal.client.with_token(None).get("/audit/events")
    h.assert_error(r, 401, 16)


def test_audit_via_grpc(shared_portal, keys):
    made = _create(keys, "Audit Grpc")
    # A change over gRPC records the caller's x-request-id and key.
    rid = _rid("grpc")
    code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/RotateSipCredentials",
                            {"id": made["user"]["id"]}, keys["operator"].token, headers={"x-request-id": rid})
    assert code == 0, out
    PASSWORDS.add((out.get("sip_credentials") or out.get("sipCredentials"))["password"])
    e = _events(keys, made["user"]["id"])[0]
    _assert_actor(e, keys["operator_key"], rid, "user.sip_credentials.rotate", made["user"])
    code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.AuditService/ListAuditEvents",
                            {"user_id": made["user"]["id"], "limit": 10}, keys["viewer"].token)
    assert code == 0, out
    assert [e["action"] for e in out["events"]] == ["user.sip_credentials.rotate", "user.create"], out
    assert not [p for p in PASSWORDS if p in str(out)]


def test_no_password_in_the_whole_audit(shared_portal, keys):
    """Last: every password this module saw, against the whole audit (the read checks it)."""
    assert PASSWORDS, "no password collected"
    _events(keys, limit=1000)
