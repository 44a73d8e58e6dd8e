"""UpdateUser (AIP-134): PATCH /users/{id} and pbx.v1.UserService/UpdateUser.

The fields the update mask names change (name, email, metadata replaced whole); everything else is never touched.
Over REST the gateway fills the mask from the body's fields when none is sent (?update_mask= sends one). A path
that cannot change (id, extension, tenant_id, created_at, extension_allocated_at) or is unknown is a 400; values
are validated as at create, every violation at once, named "user.<field>"; an e-mail another user holds
(case-insensitive) is a 409. Role: operator.
"""

from __future__ import annotations

import uuid

import pytest

import harness as h

IMMUTABLE = {
    "id": None,  # filled with the user's own id
    "extension": 1999,
    "tenant_id": "00000000-0000-0000-0000-000000000001",
    "created_at": "2020-01-01T00:00:00Z",
    "extension_allocated_at": "2020-01-01T00:00:00Z",
}


@pytest.fixture(scope="module")
def keys(shared_portal):
    operator, _ = h.create_api_key(shared_portal.client, "update-operator", "operator")
    viewer, _ = h.create_api_key(shared_portal.client, "update-viewer", "viewer")
    return {"operator": operator, "viewer": viewer}


def _create(portal, prefix: str, metadata=None) -> dict:
    r = portal.create_user(f"{prefix} Name", h.unique_email(prefix), metadata)
    assert r.status == 201, r
    return r.json


def _get(portal, uid: str) -> dict:
    r = portal.get(f"/users/{uid}")
    assert r.status == 200, r
    return r.json


def _patch(client: h.Client, uid: str, body, mask: str | None = None) -> h.Response:
    path = f"/users/{uid}" + (f"?update_mask={mask}" if mask is not None else "")
    return client.call("PATCH", path, body)


def _same_but(before: dict, after: dict, changed: dict):
    """AFTER is BEFORE with exactly the CHANGED fields replaced (e-mail compared case-insensitively)."""
    for k in ("id", "tenant_id", "name", "email", "metadata", "extension", "created_at", "extension_allocated_at"):
        want = changed.get(k, before[k])
        got = after[k]
        if k == "email":
            assert got.lower() == want.lower(), f"email: want {want!r}, got {got!r} (after: {after!r})"
        else:
            assert got == want, f"{k}: want {want!r}, got {got!r}\nbefore: {before!r}\nafter:  {after!r}"


def test_patch_changes_name_email_and_replaces_metadata(shared_portal, keys):
    made = _create(shared_portal, "Upd All", {"dept": "eng", "floor": "3"})
    uid, before = made["user"]["id"], made["user"]
    email = h.unique_email("upd-all-new")

    r = _patch(keys["operator"], uid, {"name": "Renamed Person", "email": email, "metadata": {"team": "blue"}})
    assert r.status == 200, r
    h.assert_user_shape(r.json)
    # The answer is the User itself, as GET /users/{id} shows it.
    assert "user" not in r.json, f"PATCH answered a wrapper, not the User: {r!r}"
    _same_but(before, r.json, {"name": "Renamed Person", "email": email, "metadata": {"team": "blue"}})
    assert r.json == _get(shared_portal, uid), "PATCH's answer differs from the stored user"

    # The SIP credentials are not part of an update.
    s = shared_portal.get(f"/users/{uid}/sip-credentials")
    assert s.status == 200 and s.json == made["sip_credentials"], s


def test_fields_outside_the_mask_are_never_touched(shared_portal, keys):
    made = _create(shared_portal, "Upd Mask", {"keep": "me"})
    uid, cur = made["user"]["id"], made["user"]
    op = keys["operator"]

    # Only name: e-mail and metadata stay.
    r = _patch(op, uid, {"name": "Only Name"})
    assert r.status == 200, r
    _same_but(cur, r.json, {"name": "Only Name"})
    cur = _get(shared_portal, uid)
    _same_but(made["user"], cur, {"name": "Only Name"})

    # Only metadata: replaced whole, name and e-mail stay.
    r = _patch(op, uid, {"metadata": {"other": "value"}})
    assert r.status == 200, r
    _same_but(cur, r.json, {"metadata": {"other": "value"}})
    cur = _get(shared_portal, uid)

    # Only e-mail.
    email = h.unique_email("upd-mask-new")
    r = _patch(op, uid, {"email": email})
    assert r.status == 200, r
    _same_but(cur, r.json, {"email": email})
    cur = _get(shared_portal, uid)

    # Empty metadata clears it (metadata named, replaced by nothing).
    r = _patch(op, uid, {"metadata": {}})
    assert r.status == 200, r
    _same_but(cur, r.json, {"metadata": {}})
    cur = _get(shared_portal, uid)

    # An explicit mask wins over the body: only the name changes although the body carries an e-mail too.
    r = _patch(op, uid, {"name": "Masked Name", "email": h.unique_email("never-stored")}, mask="name")
    assert r.status == 200, r
    _same_but(cur, r.json, {"name": "Masked Name"})
    _same_but(cur, _get(shared_portal, uid), {"name": "Masked Name"})


def test_name_is_trimmed_as_at_create(shared_portal, keys):
    uid = _create(shared_portal, "Upd Trim")["user"]["id"]
    r = _patch(keys["operator"], uid, {"name": "   Trimmed Name  "})
    assert r.status == 200, r
    assert r.json["name"] == "Trimmed Name", r.json
    assert _get(shared_portal, uid)["name"] == "Trimmed Name"


@pytest.mark.parametrize("path", sorted(IMMUTABLE))
def test_immutable_path_is_400_naming_it(shared_portal, keys, path):
    made = _create(shared_portal, f"Upd Imm {path}")
    uid = made["user"]["id"]
    before = _get(shared_portal, uid)
    value = uid if path == "id" else IMMUTABLE[path]

    # The body names the field: the gateway puts it into the mask.
    r = _patch(keys["operator"], uid, {path: value})
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={f"user.{path}"})
    # With a field that could change alongside: all or nothing, the name stays.
    r = _patch(keys["operator"], uid, {"name": "Must Not Change", path: value})
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={f"user.{path}"})
    # An explicit mask naming it.
    r = _patch(keys["operator"], uid, {"name": "Must Not Change"}, mask=f"name,{path}")
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={f"user.{path}"})
    assert _get(shared_portal, uid) == before


def test_unknown_mask_path_is_400(shared_portal, keys):
    uid = _create(shared_portal, "Upd Unknown")["user"]["id"]
    before = _get(shared_portal, uid)
    for mask in ("nickname", "name,nickname", "sip_password"):
        r = _patch(keys["operator"], uid, {"name": "Must Not Change"}, mask=mask)
        h.assert_error(r, 400, h.INVALID_ARGUMENT)
    assert _get(shared_portal, uid) == before


def test_every_violation_listed_with_user_prefix(shared_portal, keys):
    made = _create(shared_portal, "Upd Invalid", {"a": "b"})
    uid = made["user"]["id"]
    before = _get(shared_portal, uid)

    r = _patch(keys["operator"], uid, {"name": "a\nb", "email": "not-an-email", "metadata": {"bad key!": "x"}})
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={"user.name", "user.email", "user.metadata"})
    got = h.violated_fields(r.json)
    assert all(str(f).startswith("user.") for f in got), f"violations not named user.<field>: {sorted(got)}"

    for body, field in (({"name": "   "}, "user.name"), ({"name": ""}, "user.name"), ({"email": ""}, "user.email"),
                        ({"email": "two@@example.com"}, "user.email"),
                        ({"metadata": {f"k{i}": "v" for i in range(33)}}, "user.metadata"),
                        ({"metadata": {"k": "v" * 513}}, "user.metadata")):
        r = _patch(keys["operator"], uid, body)
        h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={field})
    assert _get(shared_portal, uid) == before, "a refused update changed the user"


def test_email_taken_by_another_user_is_409(shared_portal, keys):
    a = _create(shared_portal, "Upd Email A")["user"]
    b = _create(shared_portal, "Upd Email B")["user"]
    op = keys["operator"]

    for taken in (a["email"], a["email"].upper(), a["email"].capitalize()):
        r = _patch(op, b["id"], {"email": taken})
        h.assert_error(r, 409, h.ALREADY_EXISTS)
        # Together with a valid name change: nothing is stored.
        r = _patch(op, b["id"], {"email": taken, "name": "Must Not Change"})
        h.assert_error(r, 409, h.ALREADY_EXISTS)
    assert _get(shared_portal, b["id"]) == b

    # Changing only the case of one's own e-mail is no conflict.
    r = _patch(op, a["id"], {"email": a["email"].upper()})
    assert r.status == 200, r
    assert r.json["email"].lower() == a["email"].lower(), r.json

    # Once A moved away from its address, B may take it.
    old_a = a["email"]
    r = _patch(op, a["id"], {"email": h.unique_email("upd-email-a-moved")})
    assert r.status == 200, r
    r = _patch(op, b["id"], {"email": old_a})
    assert r.status == 200, r
    assert r.json["email"].lower() == old_a.lower()
    # ... and a new user can no longer create with it.
    h.assert_error(shared_portal.create_user("Late", old_a.upper()), 409, h.ALREADY_EXISTS)


def test_unknown_id_404_and_malformed_id_400(shared_portal, keys):
    op = keys["operator"]
    for uid in (str(uuid.uuid4()), "00000000-0000-0000-0000-000000000000"):
        h.assert_error(_patch(op, uid, {"name": "Nobody"}), 404, h.NOT_FOUND)
    for bad in ("not-a-uuid", "1000", "00000000-0000-0000-0000-00000000000"):
        r = _patch(op, bad, {"name": "Nobody"})
        h.assert_error(r, 400, h.INVALID_ARGUMENT)
        got = h.violated_fields(r.json)
        assert got & {"user.id", "id"}, f"the violation does not name the id: {r!r}"


def test_viewer_may_not_update(shared_portal, keys):
    made = _create(shared_portal, "Upd Role")
    uid = made["user"]["id"]
    r = _patch(keys["viewer"], uid, {"name": "Viewer Was Here"})
    h.assert_error(r, 403, h.PERMISSION_DENIED)
    assert _get(shared_portal, uid) == made["user"]
    r = _patch(keys["operator"], uid, {"name": "Operator Was Here"})
    assert r.status == 200 and r.json["name"] == "Operator Was Here", r


def _mask(*paths: str) -> dict:
    """A FieldMask as grpcurl's JSON reader takes it (it does not read the canonical comma-separated string)."""
    return {"paths": list(paths)}


def test_update_via_grpc_with_mask(shared_portal, keys):
    made = _create(shared_portal, "Upd Grpc", {"x": "1"})
    u = made["user"]
    email = h.unique_email("upd-grpc-new")
    token = keys["operator"].token

    # Only the masked e-mail changes, though the message carries a name and metadata too.
    code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/UpdateUser",
                            {"user": {"id": u["id"], "name": "Ignored Name", "email": email,
                                      "metadata": {"ignored": "yes"}},
                             "update_mask": _mask("email")}, token)
    assert code == 0, out
    assert out["user"]["id"] == u["id"] and out["user"]["email"].lower() == email.lower(), out
    assert out["user"]["name"] == u["name"] and out["user"].get("metadata", {}) == u["metadata"], out
    _same_but(u, _get(shared_portal, u["id"]), {"email": email})

    # "*": all three, metadata replaced by what the message holds (nothing).
    code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/UpdateUser",
                            {"user": {"id": u["id"], "name": "Star Name", "email": email}, "update_mask": _mask("*")},
                            token)
    assert code == 0, out
    _same_but(u, _get(shared_portal, u["id"]), {"email": email, "name": "Star Name", "metadata": {}})

    # Paths that cannot change.
    for path in ("extension", "id"):
        code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/UpdateUser",
                                {"user": {"id": u["id"], "extension": 1999}, "update_mask": _mask(path)}, token)
        assert code == h.INVALID_ARGUMENT, out
    code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/UpdateUser",
                            {"user": {"id": str(uuid.uuid4()), "name": "Nobody"}, "update_mask": _mask("name")}, token)
    assert code == h.NOT_FOUND, out
    assert _get(shared_portal, u["id"])["extension"] == u["extension"]


def test_concurrent_updates_to_one_email_one_wins(shared_portal, keys):
    """Ten users move to the same new address at once, while a create wants it too: exactly one succeeds, the
    others get 409 (never a 500, never two holders)."""
    from concurrent.futures import ThreadPoolExecutor

    users = [_create(shared_portal, f"Upd Race {i}")["user"] for i in range(10)]
    target = h.unique_email("upd-race-target")
    op = keys["operator"]

    def one(i):
        if i == len(users):
            return op.create_user("Upd Race Creator", target.upper(), timeout=30)
        return op.call("PATCH", f"/users/{users[i]['id']}", {"email": target}, timeout=30)

    with ThreadPoolExecutor(max_workers=11) as ex:
        answers = list(ex.map(one, range(11)))
    ok = [r for r in answers if r.status in (200, 201)]
    assert len(ok) == 1, f"{len(ok)} of 11 got the address: {[r.status for r in answers]}"
    for r in answers:
        if r not in ok:
            h.assert_error(r, 409, h.ALREADY_EXISTS)
    holders = [u for u in shared_portal.list_users() if u["email"].lower() == target.lower()]
    assert len(holders) == 1, holders
