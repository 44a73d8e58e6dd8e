"""User story 3: list users."""

import pytest

import harness as h


def test_list_empty_is_empty_array(portal):
    r = portal.get("/users")
    assert r.status == 200, r
    assert r.json == [], f"want [], got {r!r}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers


def test_list_three_users_full_records_no_passwords(portal):
    specs = [
        ("Ada Lovelace", "ada@example.com", {"dept": "eng", "floor": "3"}),
        ("Grace Hopper", "grace@example.com", {}),
        ("Zoë 李 Ñandú", "zoe@example.com", {"k.e_y-1": "välue"}),
    ]
    created = []
    for name, email, md in specs:
        r = portal.create_user(name, email, md)
        assert r.status == 201, r
        created.append(r.json)

    r = portal.get("/users")
    assert r.status == 200, r
    users = r.json
    assert isinstance(users, list) and len(users) == 3, r
    assert [u["extension"] for u in users] == [1000, 1001, 1002], "not ordered by extension"
    by_id = {u["id"]: u for u in users}
    for (name, email, md), c in zip(specs, created):
        u = by_id[c["user"]["id"]]
        h.assert_user_shape(u)
        assert u["name"] == name
        assert u["email"].lower() == email
        assert u["metadata"] == md
        assert u["extension"] == c["user"]["extension"]
        assert u["created_at"] == c["user"]["created_at"]
    assert "password" not in r.text.lower(), "a password field appears in GET /users"
    for c in created:
        assert c["sip_credentials"]["password"] not in r.text, "a SIP password leaks through GET /users"


@pytest.mark.slow
def test_list_500_users_complete(portal):
    rs = h.create_many(portal.client, 500, "five")
    assert all(r.status == 201 for r in rs), next(r for r in rs if r.status != 201)
    r = portal.get("/users", timeout=30)
    assert r.status == 200, r
    users = r.json
    assert len(users) == 500
    assert {u["id"] for u in users} == {x.json["user"]["id"] for x in rs}
    assert [u["extension"] for u in users] == list(range(1000, 1500))
    assert "password" not in r.text.lower()
