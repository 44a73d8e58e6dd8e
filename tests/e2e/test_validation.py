"""Hostile and malformed input: rejected with 400 (413 for oversize bodies) and nothing stored,
or - for odd but valid names - stored verbatim without harm.

Contract: name trimmed, 1-100 characters, valid UTF-8, no control characters; e-mail must look like an
address (no whitespace, has @, at most 254 characters); metadata at most 32 entries, keys [A-Za-z0-9_.-]{1,64},
values up to 512 bytes; unknown JSON fields rejected; body over 64 KiB -> 413.
"""

import http.client
import json

import pytest

import harness as h

OK_EMAIL = "valid.person@example.com"


@pytest.fixture
def unchanged(shared_portal):
    """Asserts the request under test stored nothing (user count and the set of ids unchanged)."""
    before = {u["id"] for u in shared_portal.list_users()}
    yield shared_portal
    after = {u["id"] for u in shared_portal.list_users()}
    assert after == before, f"a rejected request changed the users table: +{after - before} -{before - after}"


def _long_email(n):
    """A syntactically plausible address of exactly n characters (local part 64, labels <= 50)."""
    local = "a" * 64
    body = ".".join(["d" * 50] * 20)[: n - len(local) - 1 - len(".com")]
    if body.endswith("."):
        body = body[:-1] + "d"
    return f"{local}@{body}.com"


BAD_NAMES = {
    "newline": "Ada\nLovelace",
    "cr": "Ada\rLovelace",
    "tab": "Ada\tLovelace",
    "nul": "Ada\x00Lovelace",
    "esc": "Ada\x1b[31mLovelace",
    "del": "Ada\x7fLovelace",
    "c1_nel": "Ada\u0085Lovelace",
    "injection_newline": "x\n[1000]\ntype=endpoint",
    "101_chars": "a" * 101,
    "10kb": "n" * 10240,
}


@pytest.mark.parametrize("key", list(BAD_NAMES))
def test_bad_name_rejected(unchanged, key):
    r = unchanged.create_user(BAD_NAMES[key], f"badname.{key}@example.com")
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={"name"})


BAD_EMAILS = {
    "no_at": "ada.example.com",
    "space": "ada lovelace@example.com",
    "leading_inner_space": "ada@ example.com",
    "newline": "ada@example.com\nBcc: x@example.com",
    "cr": "ada\r@example.com",
    "nul": "ada\x00@example.com",
    "empty_local": "@example.com",
    "empty_domain": "ada@",
    "two_ats": "ada@@example.com",
    "sql": "x'; DROP TABLE users;--@example.com",
    "over_254": _long_email(255),
    "10kb": "e" * 10240 + "@example.com",
}


@pytest.mark.parametrize("key", list(BAD_EMAILS))
def test_bad_email_rejected(unchanged, key):
    r = unchanged.create_user("Valid Name", BAD_EMAILS[key])
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={"email"})


def test_long_email_helper_lengths():
    # guard for the test data itself
    assert len(_long_email(255)) == 255
    assert len(_long_email(254)) == 254


BAD_METADATA = {
    "33_entries": {f"k{i}": "v" for i in range(33)},
    "value_513_bytes": {"k": "v" * 513},
    "value_513_bytes_multibyte": {"k": "é" * 257},  # 514 bytes, 257 characters
    "key_65_chars": {"k" * 65: "v"},
    "key_empty": {"": "v"},
    "key_space": {"bad key": "v"},
    "key_newline": {"a\nb": "v"},
}


@pytest.mark.parametrize("key", list(BAD_METADATA))
def test_bad_metadata_rejected(unchanged, key):
    r = unchanged.create_user("Valid Name", f"badmeta.{key}@example.com", BAD_METADATA[key])
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={"metadata"})


RAW_BODIES = {
    "invalid_utf8_name": b'{"name":"Ada \xff\xfe Lovelace","email":"utf8@example.com"}',
    "invalid_utf8_email": b'{"name":"Ada","email":"\xc3\x28@example.com"}',
    "name_number": b'{"name":5,"email":"t1@example.com"}',
    "email_array": b'{"name":"Ada","email":[]}',
    "email_object": b'{"name":"Ada","email":{"a":1}}',
    "metadata_list": b'{"name":"Ada","email":"t2@example.com","metadata":["a"]}',
    "metadata_value_number": b'{"name":"Ada","email":"t3@example.com","metadata":{"a":1}}',
    "array_body": b'[{"name":"Ada","email":"t4@example.com"}]',
    "string_body": b'"Ada"',
    "not_json": b"name=Ada&email=t5@example.com",
    "truncated_json": b'{"name":"Ada","email":"t6@exam',
    "unknown_field": b'{"name":"Ada","email":"t7@example.com","role":"admin"}',
    "unknown_field_in_sip": b'{"name":"Ada","email":"t8@example.com","extension":1500}',
}


@pytest.mark.parametrize("key", list(RAW_BODIES))
def test_malformed_body_rejected(unchanged, key):
    r = unchanged.post("/users", raw=RAW_BODIES[key])
    h.assert_error(r, 400, h.INVALID_ARGUMENT)


def test_body_over_64k_is_413(unchanged):
    body = json.dumps({"name": "Big", "email": "big@example.com",
                       "metadata": {f"k{i}": "x" * 500 for i in range(140)}}).encode()
    assert len(body) > 65536
    try:
        r = unchanged.post("/users", raw=body)
    except (ConnectionError, http.client.HTTPException) as e:  # server may close before reading the body
        pytest.fail(f"connection error instead of a 413 response: {e!r}")
    h.assert_error(r, 413)


def test_chunked_body_over_64k_is_413(unchanged):
    """No Content-Length (chunked transfer): the limit still applies and still answers 413."""
    payload = json.dumps({"name": "Chunky", "email": "chunky@example.com",
                          "metadata": {f"k{i}": "x" * 500 for i in range(140)}}).encode()
    c = unchanged.client
    conn = http.client.HTTPConnection(c.host, c.port, timeout=10)
    try:
        conn.request("POST", "/users", body=iter([payload[i:i + 8192] for i in range(0, len(payload), 8192)]),
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                     encode_chunked=True)
        resp = conn.getresponse()
        r = h.Response(resp.status, resp.read(), resp.headers)
    except (ConnectionError, http.client.HTTPException) as e:
        pytest.fail(f"connection error instead of a 413 response: {e!r}")
    finally:
        conn.close()
    h.assert_error(r, 413)


def test_body_just_under_limit_not_413(unchanged):
    # 32 entries with 512-byte values is the largest valid metadata; well under 64 KiB -> must be accepted,
    # so the user is removed again to keep `unchanged` happy.
    md = {f"key_{i:02d}": "v" * 512 for i in range(32)}
    r = unchanged.create_user("Max Metadata", "maxmeta@example.com", md)
    assert r.status == 201, r
    assert r.json["user"]["metadata"] == md
    d = unchanged.delete(f"/users/{r.json['user']['id']}")
    assert d.status in (200, 204), d


VALID_ODD_NAMES = [
    "O'Brien; DROP TABLE users;--",
    "Robert'); DROP TABLE users;--",
    "[1000] ; # comment \\ \" `backtick` $(id) %s %n {{x}} <script>",
    "Zoë 李小龍 Ñandú 🎉",
    "a" * 100,
    "ä" * 100,  # 100 characters, 200 bytes
    "x",
]


@pytest.mark.parametrize("name", VALID_ODD_NAMES, ids=range(len(VALID_ODD_NAMES)))
def test_odd_valid_names_stored_verbatim(shared_portal, name):
    i = VALID_ODD_NAMES.index(name)
    email = f"oddname{i}@example.com"
    before = shared_portal.count_users()
    r = shared_portal.create_user(name, email)
    assert r.status == 201, r
    uid = r.json["user"]["id"]
    assert r.json["user"]["name"] == name
    g = shared_portal.get(f"/users/{uid}")
    assert g.status == 200 and g.json["name"] == name, g
    listed = shared_portal.list_users()
    assert len(listed) == before + 1, "the users table misbehaves after an injection-ish name"
    assert [u["name"] for u in listed if u["id"] == uid] == [name]
    # table still fully usable
    r2 = shared_portal.create_user("After Injection", f"after{i}@example.com")
    assert r2.status == 201, r2
    for x in (uid, r2.json["user"]["id"]):
        d = shared_portal.delete(f"/users/{x}")
        assert d.status in (200, 204), d
    assert shared_portal.count_users() == before


@pytest.mark.parametrize("email", [
    "o'brien@example.com",
    "a+tag@sub.example.co.uk",
])
def test_odd_email_rejected_or_verbatim(shared_portal, email):
    before = shared_portal.count_users()
    r = shared_portal.create_user("Odd Mail", email)
    if r.status == 400:
        h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={"email"})
        assert shared_portal.count_users() == before
        return
    assert r.status == 201, r
    assert r.json["user"]["email"].lower() == email.lower()
    uid = r.json["user"]["id"]
    assert shared_portal.get(f"/users/{uid}").json["email"].lower() == email.lower()
    assert shared_portal.delete(f"/users/{uid}").status in (200, 204)
    assert shared_portal.count_users() == before


def test_email_of_254_chars_accepted(shared_portal):
    email = _long_email(254)
    r = shared_portal.create_user("Long Mail", email)
    assert r.status == 201, r
    assert r.json["user"]["email"].lower() == email.lower()
    assert shared_portal.delete(f"/users/{r.json['user']['id']}").status in (200, 204)
