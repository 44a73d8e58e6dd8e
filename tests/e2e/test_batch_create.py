"""BatchCreateUsers (AIP-233): POST /users:batchCreate and pbx.v1.UserService/BatchCreateUsers.

1-1000 users in one transaction, all or none, answered 200 in request order; the extensions are the lowest free
ones in request order (gaps first). Every violation is listed at once as requests[i].<field>, duplicate e-mails
inside the batch (case-insensitive) on the later index; an e-mail already taken -> 409 naming requests[i]; too few
free extensions -> 409 (RESOURCE_EXHAUSTED, ErrorInfo EXTENSION_POOL_EXHAUSTED) saying how many are free.
validate_only checks all of that and stores nothing. request_id as for CreateUser. Role: operator.
"""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

import harness as h

BATCH = "/users:batchCreate"


@pytest.fixture(scope="module")
def keys(shared_portal):
    operator, _ = h.create_api_key(shared_portal.client, "batch-operator", "operator")
    viewer, _ = h.create_api_key(shared_portal.client, "batch-viewer", "viewer")
    return {"operator": operator, "viewer": viewer}


def _entries(prefix: str, n: int) -> list[dict]:
    tag = uuid.uuid4().hex[:8]
    return [{"name": f"{prefix} {i}", "email": f"{h.safe_name(prefix).lower()}.{tag}.{i}@example.com",
             "metadata": {"i": str(i)}} for i in range(n)]


def _assert_batch_created(r: h.Response, entries: list[dict], extensions=None) -> list[dict]:
    assert r.status == 200, f"POST {BATCH}: want 200, got {r!r}"
    assert isinstance(r.json, dict) and isinstance(r.json.get("users"), list), r
    got = r.json["users"]
    assert len(got) == len(entries), f"want {len(entries)} users, got {len(got)}"
    for i, (g, e) in enumerate(zip(got, entries)):
        u, c = g["user"], g["sip_credentials"]
        h.assert_user_shape(u)
        assert u["name"] == e["name"] and u["email"].lower() == e["email"].lower(), f"#{i} out of order: {u} {e}"
        assert u["metadata"] == e.get("metadata", {}), (i, u)
        assert c["user_id"] == u["id"] and c["extension"] == u["extension"] and c["username"] == str(u["extension"])
        assert h.SIP_PASSWORD_RE.match(c["password"]), f"#{i}: password {c['password']!r}"
    assert len({g["sip_credentials"]["password"] for g in got}) == len(got), "duplicate passwords in the batch"
    assert len({g["user"]["id"] for g in got}) == len(got)
    if extensions is not None:
        assert [g["user"]["extension"] for g in got] == list(extensions), \
            f"extensions {[g['user']['extension'] for g in got][:20]}..., want {list(extensions)[:20]}..."
    return got


def _emails(portal) -> set[str]:
    return {u["email"].lower() for u in portal.list_users()}


def _indexes(fields) -> set[int]:
    out = set()
    for f in fields:
        m = re.match(r"^requests\[(\d+)\]", str(f))
        if m:
            out.add(int(m.group(1)))
    return out


def test_batch_in_request_order(portal):
    entries = _entries("Batch Order", 3)
    entries[2].pop("metadata")
    got = _assert_batch_created(portal.post(BATCH, {"requests": entries}), entries, [1000, 1001, 1002])
    listed = portal.list_users()
    assert [u["id"] for u in listed] == [g["user"]["id"] for g in got]
    for g in got:
        s = portal.get(f"/users/{g['user']['id']}/sip-credentials")
        assert s.status == 200 and s.json == g["sip_credentials"], s
        assert portal.get(f"/users/{g['user']['id']}").json == g["user"]
    # Single creates continue after the batch.
    r = portal.create_user("After Batch", "after.batch@example.com")
    assert r.status == 201 and r.json["user"]["extension"] == 1003, r


def test_batch_fills_gaps_first_in_request_order(portal):
    made = [portal.create_user(f"Gap {i}", f"gap.{i}@example.com").json["user"] for i in range(6)]
    assert [u["extension"] for u in made] == list(range(1000, 1006))
    for u in (made[4], made[1], made[2]):
        assert portal.delete(f"/users/{u['id']}").status in (200, 204)
    entries = _entries("Batch Gap", 5)
    _assert_batch_created(portal.post(BATCH, {"requests": entries}), entries, [1001, 1002, 1004, 1006, 1007])
    assert sorted(u["extension"] for u in portal.list_users()) == list(range(1000, 1008))


@pytest.mark.slow
def test_batch_of_1000_on_an_empty_pool(portal):
    entries = _entries("Batch Full", 1000)
    r = portal.post(BATCH, {"requests": entries}, timeout=120)
    _assert_batch_created(r, entries, range(1000, 2000))
    listed = portal.list_users()
    assert [u["extension"] for u in listed] == list(range(1000, 2000))
    r = portal.create_user("One Too Many", "one.too.many@example.com")
    h.assert_error(r, 409, h.RESOURCE_EXHAUSTED)
    more = _entries("Batch Full More", 1)
    _assert_pool_short(portal.post(BATCH, {"requests": more}), 0)
    _assert_pool_short(portal.post(BATCH, {"requests": more, "validate_only": True}), 0)
    # One freed number: a batch of two is one too many, a batch of one takes it.
    assert portal.delete(f"/users/{listed[500]['id']}").status in (200, 204)
    _assert_pool_short(portal.post(BATCH, {"requests": _entries("Batch Full Two", 2)}), 1)
    _assert_batch_created(portal.post(BATCH, {"requests": more}), more, [1500])
    assert portal.count_users() == 1000


def test_size_limits(shared_portal, keys):
    op = keys["operator"]
    before = shared_portal.count_users()
    # Compact entries, so the count (not the body size) is what is refused.
    too_many = [{"name": f"B{i}", "email": f"b{i}@x.io"} for i in range(1001)]
    h.assert_error(op.post(BATCH, {"requests": too_many}, timeout=60), 400, h.INVALID_ARGUMENT, fields={"requests"})
    h.assert_error(op.post(BATCH, {"requests": too_many, "validate_only": True}, timeout=60), 400,
                   h.INVALID_ARGUMENT, fields={"requests"})
    h.assert_error(op.post(BATCH, {"requests": []}), 400, h.INVALID_ARGUMENT, fields={"requests"})
    h.assert_error(op.post(BATCH, {}), 400, h.INVALID_ARGUMENT, fields={"requests"})
    assert shared_portal.count_users() == before


def test_every_violation_listed_with_its_index(shared_portal, keys):
    entries = _entries("Batch Bad", 7)
    entries[1]["email"] = "not-an-email"
    entries[2]["name"] = "   "
    entries[3]["metadata"] = {"bad key!": "x"}
    entries[3]["name"] = "a\nb"
    entries[5]["email"] = entries[0]["email"].upper()  # duplicate inside the batch: the later one is wrong
    entries[6]["email"] = entries[4]["email"]
    before = shared_portal.count_users()

    r = keys["operator"].post(BATCH, {"requests": entries})
    want = {"requests[1].email", "requests[2].name", "requests[3].metadata", "requests[3].name",
            "requests[5].email", "requests[6].email"}
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields=want)
    got = h.violated_fields(r.json)
    assert _indexes(got) == {1, 2, 3, 5, 6}, f"violations on other entries too: {sorted(got)}"
    assert all(re.match(r"^requests\[\d+\]\.", str(f)) for f in got), f"unindexed violations: {sorted(got)}"
    # validate_only reports the same.
    r = keys["operator"].post(BATCH, {"requests": entries, "validate_only": True})
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields=want)
    assert shared_portal.count_users() == before, "an invalid batch stored users"
    assert not {e["email"].lower() for e in entries} & _emails(shared_portal)


def test_request_id_inside_an_entry_is_400(shared_portal, keys):
    entries = _entries("Batch Inner Key", 3)
    entries[1]["request_id"] = str(uuid.uuid4())
    r = keys["operator"].post(BATCH, {"requests": entries})
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields={"requests[1].request_id"})
    assert not {e["email"].lower() for e in entries} & _emails(shared_portal)


def test_taken_email_is_409_naming_the_entry(shared_portal, keys):
    taken = shared_portal.create_user("Batch Taken", h.unique_email("batch-taken"))
    assert taken.status == 201, taken
    entries = _entries("Batch Conflict", 4)
    entries[2]["email"] = taken.json["user"]["email"].upper()
    before = shared_portal.count_users()
    for validate_only in (False, True):
        r = keys["operator"].post(BATCH, {"requests": entries, "validate_only": validate_only})
        h.assert_error(r, 409, h.ALREADY_EXISTS)
        assert "requests[2]" in r.text, f"409 does not name requests[2]: {r!r}"
        assert "requests[0]" not in r.text and "requests[1]" not in r.text, r
    assert shared_portal.count_users() == before, "a refused batch stored users"
    assert not {e["email"].lower() for e in entries if e is not entries[2]} & _emails(shared_portal)
    # A batch of one names its entry too.
    for validate_only in (False, True):
        r = keys["operator"].post(BATCH, {"requests": [entries[2]], "validate_only": validate_only})
        h.assert_error(r, 409, h.ALREADY_EXISTS)
        assert "requests[0]" in r.text, f"409 does not name requests[0]: {r!r}"


def _assert_pool_short(r: h.Response, free: int):
    h.assert_error(r, 409, h.RESOURCE_EXHAUSTED)
    infos = h.error_infos(r.json)
    assert any(i.get("reason") == "EXTENSION_POOL_EXHAUSTED" for i in infos), f"no EXTENSION_POOL_EXHAUSTED: {r!r}"
    msg = r.json["message"]
    says = re.search(rf"(?<!\d){free}(?!\d)", msg)
    if free == 0:  # a full pool may say so in words
        says = says or re.search(r"no (free )?extensions? (is |are )?(free|left|available)|all 1000 extensions", msg)
    assert says, f"the message does not say that {free} extensions are free: {msg!r}"


def test_too_few_free_extensions_is_409_and_stores_nothing(portal):
    first = portal.create_user("Pool Holder", "pool.holder@example.com")
    assert first.status == 201, first
    entries = _entries("Batch Pool", 1000)
    _assert_pool_short(portal.post(BATCH, {"requests": entries}, timeout=120), 999)
    _assert_pool_short(portal.post(BATCH, {"requests": entries, "validate_only": True}, timeout=120), 999)
    assert portal.count_users() == 1, "a refused batch stored users"
    # 999 fit exactly (validate_only first, then for real).
    v = portal.post(BATCH, {"requests": entries[:999], "validate_only": True}, timeout=120)
    assert v.status == 200 and v.json == {"users": []}, v
    assert portal.count_users() == 1
    # After a delete, 1000 free: validate_only passes the full batch.
    assert portal.delete(f"/users/{first.json['user']['id']}").status in (200, 204)
    v = portal.post(BATCH, {"requests": entries, "validate_only": True}, timeout=120)
    assert v.status == 200 and v.json == {"users": []}, v
    assert portal.count_users() == 0


@pytest.mark.slow
def test_pool_filled_by_batches_then_too_few_free(portal):
    """Batches small enough for any body limit fill the pool; then the shortage is a 409 saying how many are free."""
    a, b = _entries("Batch Fill A", 500), _entries("Batch Fill B", 499)
    _assert_batch_created(portal.post(BATCH, {"requests": a}, timeout=120), a, range(1000, 1500))
    _assert_batch_created(portal.post(BATCH, {"requests": b}, timeout=120), b, range(1500, 1999))
    two = _entries("Batch Fill Two", 2)
    _assert_pool_short(portal.post(BATCH, {"requests": two}), 1)
    _assert_pool_short(portal.post(BATCH, {"requests": two, "validate_only": True}), 1)
    v = portal.post(BATCH, {"requests": two[:1], "validate_only": True})
    assert v.status == 200 and v.json == {"users": []}, v
    assert portal.count_users() == 999, "a refused or validate_only batch stored users"
    _assert_batch_created(portal.post(BATCH, {"requests": two[:1]}), two[:1], [1999])
    _assert_pool_short(portal.post(BATCH, {"requests": two[1:]}), 0)
    assert portal.count_users() == 1000


def test_validate_only_stores_nothing(shared_portal, keys):
    op = keys["operator"]
    entries = _entries("Batch Validate", 3)
    before = shared_portal.list_users()
    r = op.post(BATCH, {"requests": entries, "validate_only": True})
    assert r.status == 200, r
    assert r.json == {"users": []}, f"validate_only answered users: {r!r}"
    assert shared_portal.list_users() == before, "validate_only stored something"
    # validate_only with a request_id does not use the id up: the real batch with it creates the users.
    key = str(uuid.uuid4())
    r = op.post(BATCH, {"requests": entries, "validate_only": True, "request_id": key})
    assert r.status == 200 and r.json == {"users": []}, r
    assert shared_portal.list_users() == before, "validate_only stored something"
    # Nothing was reserved: the same batch goes through for real.
    _assert_batch_created(op.post(BATCH, {"requests": entries, "request_id": key}), entries)
    # Now the e-mails are taken, which validate_only sees.
    r = op.post(BATCH, {"requests": entries, "validate_only": True})
    h.assert_error(r, 409, h.ALREADY_EXISTS)


def test_request_id_answers_the_same_batch(shared_portal, keys):
    op = keys["operator"]
    key = str(uuid.uuid4())
    entries = _entries("Batch Idem", 3)
    body = {"requests": entries, "request_id": key}
    first = op.post(BATCH, body)
    got = _assert_batch_created(first, entries)
    count = shared_portal.count_users()
    again = op.post(BATCH, body)
    assert again.status == 200, f"retry with the same request_id: {again!r}"
    assert again.json == first.json, "the retry answered other users or passwords"
    assert shared_portal.count_users() == count, "the retry stored users again"

    for other in ({"requests": entries[:2], "request_id": key},
                  {"requests": [dict(entries[0], name="Changed")] + entries[1:], "request_id": key}):
        r = op.post(BATCH, other)
        h.assert_error(r, 409, h.ALREADY_EXISTS)
        assert re.search(r"request[_ ]?id|idempotency|key", r.json["message"], re.I), r
    assert shared_portal.count_users() == count

    h.assert_error(op.post(BATCH, {"requests": _entries("Batch Idem Bad", 1), "request_id": "nope"}), 400,
                   h.INVALID_ARGUMENT, fields={"request_id"})

    # The Idempotency-Key header is the same key.
    again = op.post(BATCH, {"requests": entries}, headers={"Idempotency-Key": key})
    assert again.status == 200 and again.json == first.json, again
    key2 = str(uuid.uuid4())
    entries2 = _entries("Batch Idem Header", 2)
    h2 = op.post(BATCH, {"requests": entries2}, headers={"Idempotency-Key": key2})
    _assert_batch_created(h2, entries2)
    assert op.post(BATCH, {"requests": entries2, "request_id": key2}).json == h2.json
    h.assert_error(op.post(BATCH, {"requests": entries2, "request_id": key2},
                           headers={"Idempotency-Key": str(uuid.uuid4())}), 400, h.INVALID_ARGUMENT)
    assert shared_portal.count_users() == count + 2
    assert [g["user"]["id"] for g in got] == [g["user"]["id"] for g in again.json["users"]]


def test_concurrent_batches_with_one_key_store_one_batch(portal):
    key = str(uuid.uuid4())
    entries = _entries("Batch Race", 3)
    barrier = threading.Barrier(20)

    def one(_):
        barrier.wait(10)
        return portal.post(BATCH, {"requests": entries, "request_id": key}, timeout=30)

    with ThreadPoolExecutor(max_workers=20) as ex:
        answers = list(ex.map(one, range(20)))
    bad = [r for r in answers if r.status != 200]
    assert not bad, f"{len(bad)} of 20 not 200, e.g. {bad[0]!r}"
    assert all(r.json == answers[0].json for r in answers), "the answers differ"
    _assert_batch_created(answers[0], entries, [1000, 1001, 1002])
    assert portal.count_users() == 3


def test_viewer_may_not_batch_create(shared_portal, keys):
    entries = _entries("Batch Viewer", 2)
    h.assert_error(keys["viewer"].post(BATCH, {"requests": entries}), 403, h.PERMISSION_DENIED)
    h.assert_error(keys["viewer"].post(BATCH, {"requests": entries, "validate_only": True}), 403,
                   h.PERMISSION_DENIED)
    assert not {e["email"].lower() for e in entries} & _emails(shared_portal)


def test_batch_via_grpc(shared_portal, keys):
    entries = _entries("Batch Grpc", 2)
    code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/BatchCreateUsers", {"requests": entries},
                            keys["operator"].token)
    assert code == 0, out
    users = out["users"]
    assert [u["user"]["email"].lower() for u in users] == [e["email"].lower() for e in entries], out
    exts = [u["user"]["extension"] for u in users]
    assert exts == sorted(exts) and len(set(exts)) == 2, exts
    for u in users:
        c = u.get("sip_credentials") or u.get("sipCredentials")
        assert h.SIP_PASSWORD_RE.match(c["password"]), u
        g = shared_portal.get(f"/users/{u['user']['id']}")
        assert g.status == 200 and g.json["extension"] == u["user"]["extension"], g
    code, out = h.grpc_call(shared_portal.grpc_addr, "pbx.v1.UserService/BatchCreateUsers", {"requests": []},
                            keys["operator"].token)
    assert code == h.INVALID_ARGUMENT, out
