"""User story 4 (delete), GET /users/{id}, GET /users/{id}/sip-credentials."""

import uuid

import pytest

import harness as h

MALFORMED_IDS = [
    "not-a-uuid",
    "1000",
    "00000000-0000-0000-0000-00000000000",   # one digit short
    "00000000-0000-0000-0000-0000000000000",  # one digit long
    "g0000000-0000-0000-0000-000000000000",
    "%27%3B%20DROP%20TABLE%20users%3B--",      # '; DROP TABLE users;--
    "%20",
]


def _create(portal, name, email):
    r = portal.create_user(name, email)
    assert r.status == 201, r
    return r.json


def test_get_user_and_credentials(portal):
    c = _create(portal, "Ada", "ada@example.com")
    uid = c["user"]["id"]

    r = portal.get(f"/users/{uid}")
    assert r.status == 200, r
    h.assert_user_shape(r.json)
    assert r.json["id"] == uid and r.json["extension"] == 1000 and r.json["name"] == "Ada"
    assert "password" not in r.text.lower()

    s = portal.get(f"/users/{uid}/sip-credentials")
    assert s.status == 200, s
    assert s.json == c["sip_credentials"], f"credentials differ from the create response: {s!r}"
    assert s.json["password"] == c["sip_credentials"]["password"]
    assert s.json["username"] == "1000" and s.json["extension"] == 1000 and s.json["user_id"] == uid


def test_unknown_id_is_404(portal):
    _create(portal, "Ada", "ada@example.com")
    for uid in (str(uuid.uuid4()), "00000000-0000-0000-0000-000000000000"):
        for method, path in (("GET", f"/users/{uid}"), ("DELETE", f"/users/{uid}"),
                             ("GET", f"/users/{uid}/sip-credentials")):
            r = portal.call(method, path)
            h.assert_error(r, 404, h.NOT_FOUND)
    assert portal.count_users() == 1


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_malformed_id_is_400(shared_portal, bad_id):
    before = shared_portal.count_users()
    for method, path in (("GET", f"/users/{bad_id}"), ("DELETE", f"/users/{bad_id}"),
                         ("GET", f"/users/{bad_id}/sip-credentials")):
        r = shared_portal.call(method, path)
        h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={"id"})
    assert shared_portal.count_users() == before


def test_delete_frees_extension(portal):
    us = [_create(portal, f"User {i}", f"u{i}@example.com") for i in range(3)]
    assert [u["user"]["extension"] for u in us] == [1000, 1001, 1002]
    victim = us[1]["user"]

    d = portal.delete(f"/users/{victim['id']}")
    assert d.status in (200, 204), d
    if d.status == 200:
        assert d.json == {}, d

    h.assert_error(portal.get(f"/users/{victim['id']}"), 404, h.NOT_FOUND)
    h.assert_error(portal.get(f"/users/{victim['id']}/sip-credentials"), 404, h.NOT_FOUND)
    h.assert_error(portal.delete(f"/users/{victim['id']}"), 404, h.NOT_FOUND)
    listed = portal.list_users()
    assert [u["extension"] for u in listed] == [1000, 1002]

    # The freed number is the lowest free one, so the next user gets it; then numbering continues.
    n1 = _create(portal, "Reuser", "reuser@example.com")
    assert n1["user"]["extension"] == 1001
    assert n1["user"]["id"] != victim["id"]
    assert n1["sip_credentials"]["password"] != us[1]["sip_credentials"]["password"], "password reused"
    n2 = _create(portal, "Next", "next@example.com")
    assert n2["user"]["extension"] == 1003

    # The deleted user's e-mail is free again.
    n3 = _create(portal, "User 1 again", "u1@example.com")
    assert n3["user"]["extension"] == 1004
