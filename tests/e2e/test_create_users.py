"""User story 1 (create user, extension allocation), pool exhaustion, duplicate e-mail."""

import re

import pytest

import harness as h


def _assert_created(r, name=None, email=None):
    assert r.status == 201, f"POST /users: want 201, got {r!r}"
    body = r.json
    assert isinstance(body, dict) and set(body) >= {"user", "sip_credentials"}, r
    u, c = body["user"], body["sip_credentials"]
    h.assert_user_shape(u)
    if name is not None:
        assert u["name"] == name, u
    if email is not None:
        assert u["email"].lower() == email.lower(), u
    assert c["user_id"] == u["id"], body
    assert c["extension"] == u["extension"], body
    assert c["username"] == str(u["extension"]), body
    assert h.PASSWORD_RE.match(c["password"]), f"weak/odd SIP password {c['password']!r}"
    return u, c


def _assert_pool_exhausted(r):
    h.assert_error(r, 409, h.RESOURCE_EXHAUSTED)
    msg = r.json["message"]
    assert re.search(r"1000\s*(-|–|\.\.|to)\s*1999", msg), f"message does not name the pool 1000-1999: {msg!r}"
    assert re.search(r"exhaust|full|no (free|available)", msg, re.I), f"message does not say exhausted: {msg!r}"


def test_first_user_gets_1000_next_1001(portal):
    r = portal.create_user("Ada Lovelace", "ada@example.com", {"dept": "eng"})
    u, c = _assert_created(r, "Ada Lovelace", "ada@example.com")
    assert u["extension"] == 1000
    assert c["username"] == "1000"
    assert u["metadata"] == {"dept": "eng"}
    assert u["tenant_id"], "tenant_id empty (single default tenant expected)"

    r2 = portal.create_user("Grace Hopper", "grace@example.com")
    u2, c2 = _assert_created(r2, "Grace Hopper", "grace@example.com")
    assert u2["extension"] == 1001
    assert u2["metadata"] == {}
    assert u2["tenant_id"] == u["tenant_id"], "users in different tenants"
    assert u2["id"] != u["id"]
    assert c2["password"] != c["password"]

    # The created user is what the store returns.
    g = portal.get(f"/users/{u['id']}")
    assert g.status == 200, g
    for k in ("id", "tenant_id", "name", "email", "metadata", "extension"):
        assert g.json[k] == u[k], (k, g.json, u)


def test_name_is_trimmed(portal):
    r = portal.create_user("   Ada Lovelace  ", "trim@example.com")
    u, _ = _assert_created(r)
    assert u["name"] == "Ada Lovelace", f"name not trimmed: {u['name']!r}"


@pytest.mark.parametrize("body,missing", [
    ({}, {"name", "email"}),
    ({"name": "", "email": ""}, {"name", "email"}),
    ({"name": "   ", "email": ""}, {"name", "email"}),
    ({"metadata": {"a": "b"}}, {"name", "email"}),
    ({"name": "Ada"}, {"email"}),
    ({"email": "ada@example.com"}, {"name"}),
])
def test_missing_fields_all_listed(shared_portal, body, missing):
    before = shared_portal.count_users()
    r = shared_portal.post("/users", body)
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields=missing)
    msg = r.json["message"]
    for f in missing:
        assert f in msg, f"message does not mention missing field {f!r}: {msg!r}"
    assert h.violated_fields(r.json) == missing, f"extra/missing violations: {r!r}"
    assert shared_portal.count_users() == before


def test_invalid_fields_listed_at_once(shared_portal):
    before = shared_portal.count_users()
    r = shared_portal.post("/users", {"name": "a\nb", "email": "not-an-email", "metadata": {"bad key!": "x"}})
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={"name", "email", "metadata"})
    assert shared_portal.count_users() == before


def test_duplicate_email_case_insensitive(portal):
    _assert_created(portal.create_user("Ada", "ada@example.com"))
    for email in ("ADA@Example.com", "ada@example.com", "Ada@EXAMPLE.COM"):
        r = portal.create_user("Ada Two", email)
        h.assert_error(r, 409, h.ALREADY_EXISTS)
    users = portal.list_users()
    assert len(users) == 1, users
    assert users[0]["name"] == "Ada"
    # The failed creates neither stored a user nor burned an extension.
    u, _ = _assert_created(portal.create_user("Bob", "bob@example.com"))
    assert u["extension"] == 1001


@pytest.mark.slow
def test_999_allocated_next_gets_1999_then_pool_exhausted(portal):
    rs = h.create_many(portal.client, 999, "fill")
    bad = [r for r in rs if r.status != 201]
    assert not bad, f"{len(bad)} creates failed, first: {bad[0]!r}"
    exts = sorted(r.json["user"]["extension"] for r in rs)
    assert exts == list(range(1000, 1999)), "999 creates did not get exactly 1000-1998"

    u, _ = _assert_created(portal.create_user("Last One", "last@example.com"), "Last One")
    assert u["extension"] == 1999

    r = portal.create_user("Too Many", "too.many@example.com")
    _assert_pool_exhausted(r)
    users = portal.list_users()
    assert len(users) == 1000
    assert not any(x["email"].lower() == "too.many@example.com" for x in users), "rejected user was stored"
    # Still exhausted on a second try (nothing half-allocated).
    _assert_pool_exhausted(portal.create_user("Too Many 2", "too.many2@example.com"))


@pytest.mark.slow
def test_full_pool_exact_no_gaps_and_reuse(portal):
    rs = h.create_many(portal.client, 1000, "pool")
    bad = [r for r in rs if r.status != 201]
    assert not bad, f"{len(bad)} creates failed, first: {bad[0]!r}"
    exts = [r.json["user"]["extension"] for r in rs]
    assert sorted(exts) == list(range(1000, 2000)), "duplicates or gaps in 1000 allocations"
    pw = [r.json["sip_credentials"]["password"] for r in rs]
    assert len(set(pw)) == 1000, "duplicate SIP passwords"

    # 1001st (and a few concurrent extra ones) are rejected, nothing stored.
    extra = h.create_many(portal.client, 4, "extra", workers=4)
    for r in extra:
        _assert_pool_exhausted(r)
    listed = portal.list_users()
    assert sorted(u["extension"] for u in listed) == list(range(1000, 2000))

    victim = next(r.json["user"] for r in rs if r.json["user"]["extension"] == 1005)
    d = portal.delete(f"/users/{victim['id']}")
    assert d.status in (200, 204), d
    u, _ = _assert_created(portal.create_user("Reuse", "reuse@example.com"))
    assert u["extension"] == 1005
    _assert_pool_exhausted(portal.create_user("Again", "again@example.com"))
