"""RotateSipCredentials (AIP-136): POST /users/{id}/sip-credentials:rotate and pbx.v1.UserService/RotateSipCredentials.

A new random 24-character [A-Za-z0-9] password replaces the old one in the portal at once (GET sip-credentials
answers it, GET /apply/status shows a pending change); the PBX keeps the old one until the next Apply, then only
the new one registers (real REGISTERs with sipp against the lab). Role: operator.
"""

from __future__ import annotations

import uuid

import pytest

import harness as h
import lab as L

ROTATE = "/users/{}/sip-credentials:rotate"


@pytest.fixture(scope="module")
def keys(shared_portal):
    operator, _ = h.create_api_key(shared_portal.client, "rotate-operator", "operator")
    viewer, _ = h.create_api_key(shared_portal.client, "rotate-viewer", "viewer")
    return {"operator": operator, "viewer": viewer}


def _create(portal, prefix: str) -> dict:
    r = portal.create_user(f"{prefix} Name", h.unique_email(prefix))
    assert r.status == 201, r
    return r.json


def _creds(portal, uid: str) -> dict:
    r = portal.get(f"/users/{uid}/sip-credentials")
    assert r.status == 200, r
    return r.json


def _assert_rotated(r: h.Response, old: dict) -> dict:
    assert r.status == 200, f"rotate: want 200, got {r!r}"
    assert isinstance(r.json, dict) and set(r.json) == {"sip_credentials"}, r
    c = r.json["sip_credentials"]
    assert c["user_id"] == old["user_id"] and c["extension"] == old["extension"], (c, old)
    assert c["username"] == old["username"] == str(old["extension"]), (c, old)
    assert h.SIP_PASSWORD_RE.match(c["password"]), f"new password is not 24 characters of [A-Za-z0-9]: {c!r}"
    assert c["password"] != old["password"], "the rotation kept the old password"
    return c


def test_rotate_answers_and_stores_a_new_password(shared_portal, keys):
    made = _create(shared_portal, "Rot New")
    other = _create(shared_portal, "Rot Other")
    uid, old = made["user"]["id"], made["sip_credentials"]
    op = keys["operator"]

    c1 = _assert_rotated(op.post(ROTATE.format(uid), {}), old)
    assert _creds(shared_portal, uid) == c1, "GET sip-credentials does not answer the rotated password"

    # Without any body at all, again: another new password.
    c2 = _assert_rotated(op.post(ROTATE.format(uid)), c1)
    assert c2["password"] != old["password"]
    assert _creds(shared_portal, uid) == c2

    # The user itself and the other users' credentials are untouched.
    g = shared_portal.get(f"/users/{uid}")
    assert g.status == 200 and g.json == made["user"], g
    assert _creds(shared_portal, other["user"]["id"]) == other["sip_credentials"]


def test_rotated_passwords_are_distinct(shared_portal, keys):
    made = _create(shared_portal, "Rot Many")
    uid = made["user"]["id"]
    seen = {made["sip_credentials"]["password"]}
    cur = made["sip_credentials"]
    for _ in range(10):
        cur = _assert_rotated(keys["operator"].post(ROTATE.format(uid), {}), cur)
        assert cur["password"] not in seen, "a rotation repeated an earlier password"
        seen.add(cur["password"])


def test_rotate_unknown_404_malformed_400(shared_portal, keys):
    op = keys["operator"]
    for uid in (str(uuid.uuid4()), "00000000-0000-0000-0000-000000000000"):
        h.assert_error(op.post(ROTATE.format(uid), {}), 404, h.NOT_FOUND)
    for bad in ("not-a-uuid", "1000"):
        h.assert_error(op.post(ROTATE.format(bad), {}), 400, h.INVALID_ARGUMENT, fields={"id"})


def test_viewer_may_not_rotate(shared_portal, keys):
    made = _create(shared_portal, "Rot Role")
    uid = made["user"]["id"]
    h.assert_error(keys["viewer"].post(ROTATE.format(uid), {}), 403, h.PERMISSION_DENIED)
    assert _creds(shared_portal, uid) == made["sip_credentials"], "a refused rotation changed the password"
    _assert_rotated(keys["operator"].post(ROTATE.format(uid), {}), made["sip_credentials"])


def test_rotate_via_grpc(shared_portal, keys):
    made = _create(shared_portal, "Rot Grpc")
    uid, old = made["user"]["id"], made["sip_credentials"]
    code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/RotateSipCredentials", {"id": uid},
                            keys["operator"].token)
    assert code == 0, out
    c = out.get("sip_credentials") or out.get("sipCredentials")
    assert c and c["userId" if "userId" in c else "user_id"] == uid, out
    assert h.SIP_PASSWORD_RE.match(c["password"]) and c["password"] != old["password"], out
    assert _creds(shared_portal, uid)["password"] == c["password"]
    code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/RotateSipCredentials",
                            {"id": str(uuid.uuid4())}, keys["operator"].token)
    assert code == h.NOT_FOUND, out


def _pending(portal) -> bool:
    r = portal.client.get("/apply/status")
    assert r.status == 200, r
    return r.json["pending_changes"]


def test_pbx_keeps_the_old_password_until_apply(apply_portal, lab):
    made = L.create_users(apply_portal, 2, "Rotate")
    L.apply_ok(apply_portal)
    creds = {m["sip_credentials"]["extension"]: m["sip_credentials"] for m in made}
    uid, old = creds[1000]["user_id"], creds[1000]["password"]
    assert lab.register(1000, old, tag="rot-initial").returncode == 0, "the applied password does not register"
    assert _pending(apply_portal) is False

    r = apply_portal.client.post(ROTATE.format(uid), {})
    new = _assert_rotated(r, creds[1000])["password"]
    assert _pending(apply_portal) is True, "a rotated password is not a pending change"

    # Not applied yet: the PBX still takes the old password only.
    before_old = lab.register(1000, old, tag="rot-old-before-apply")
    assert before_old.returncode == 0, f"the old password stopped working before Apply:\n{before_old.explain()}"
    before_new = lab.register(1000, new, tag="rot-new-before-apply")
    assert before_new.returncode != 0, "the new password registered before Apply"
    assert old in lab.pjsip_file.read_text() and new not in lab.pjsip_file.read_text()

    L.apply_ok(apply_portal)
    assert _pending(apply_portal) is False
    after_new = lab.register(1000, new, tag="rot-new-after-apply")
    assert after_new.returncode == 0, f"the new password does not register after Apply:\n{after_new.explain()}"
    after_old = lab.register(1000, old, tag="rot-old-after-apply")
    assert after_old.returncode != 0, "the old password still registers after Apply"
    # The other user was not touched.
    kept = lab.register(1001, creds[1001]["password"], tag="rot-other")
    assert kept.returncode == 0, f"the other user's password stopped working:\n{kept.explain()}"
