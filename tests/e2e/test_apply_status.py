"""GET /apply/status (pending changes, last and last successful Apply) and GET /apply/audit (newest first, limit)."""

from __future__ import annotations

import re

import harness as h
import lab as L

HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def status(portal) -> dict:
    r = portal.client.get("/apply/status")
    assert r.status == 200 and isinstance(r.json, dict), f"GET /apply/status -> {r!r}"
    assert HASH_RE.match(r.json.get("current_content_hash", "")), r.json
    return r.json


def test_status_tracks_pending_changes_and_last_applies(apply_portal, portals, lab):
    s = status(apply_portal)
    assert s["pending_changes"] is True, f"nothing was ever applied, yet no pending changes: {s!r}"
    assert not s.get("last_apply") and not s.get("last_successful_apply"), s

    first = L.create_user(apply_portal, "Status One", "status.one@example.com")
    assert status(apply_portal)["pending_changes"] is True
    audit = L.apply_ok(apply_portal)
    lab.assert_live([1000])
    s = status(apply_portal)
    assert s["pending_changes"] is False, f"right after a successful Apply: {s!r}"
    assert s["last_apply"]["id"] == audit["id"] == s["last_successful_apply"]["id"], s
    assert s["current_content_hash"] == audit["content_hash"] == s["last_successful_apply"]["content_hash"]

    second = L.create_user(apply_portal, "Status Two", "status.two@example.com")
    s2 = status(apply_portal)
    assert s2["pending_changes"] is True, f"a new user is not a pending change: {s2!r}"
    assert s2["current_content_hash"] != audit["content_hash"]

    # A failed Apply (Asterisk host unreachable) becomes last_apply, not last_successful_apply.
    cut_off = portals.start(apply_portal.db_url, server_env=lab.server_env(PBX_ASTERISK_SSH_PORT=h.free_port(),
                                                                          PBX_ASTERISK_CONNECT_TIMEOUT_S=3))
    failed = L.apply(cut_off)
    h.assert_error(failed, 503, h.UNAVAILABLE)
    failed_id = L.error_audit_id(failed)
    s3 = status(apply_portal)
    assert s3["last_apply"]["id"] == failed_id and s3["last_apply"]["outcome"] == "APPLY_OUTCOME_FAILURE", s3
    assert s3["last_successful_apply"]["id"] == audit["id"], s3
    assert s3["pending_changes"] is True, s3
    lab.assert_live([1000], "the failed Apply changed nothing")

    # Back to what was applied: nothing pending any more (pending = renders differently from the last success).
    assert apply_portal.client.delete(f"/users/{second['user']['id']}").status in (200, 204)
    s4 = status(apply_portal)
    assert s4["pending_changes"] is False and s4["current_content_hash"] == audit["content_hash"], s4
    assert first["user"]["extension"] == 1000


def test_audit_log_is_newest_first_and_honours_limit(apply_portal, lab):
    ids = []
    for i in range(4):
        L.create_user(apply_portal, f"Audit {i}", f"audit.{i}@example.com")
        ids.append(L.apply_ok(apply_portal, admin=f"auditor-{i}")["id"])
    lab.assert_live([1000, 1001, 1002, 1003])

    everything = L.audit_log(apply_portal)
    assert [e["id"] for e in everything] == ids[::-1], f"not newest first: {[e['id'] for e in everything]}"
    assert [e["note"] for e in everything] == [f"auditor-{i}" for i in (3, 2, 1, 0)]
    starts = [e["started_at"] for e in everything]
    assert starts == sorted(starts, reverse=True), starts
    assert [e["user_count"] for e in everything] == [4, 3, 2, 1]

    assert [e["id"] for e in L.audit_log(apply_portal, 1)] == [ids[-1]]
    assert [e["id"] for e in L.audit_log(apply_portal, 3)] == ids[:0:-1]
    assert [e["id"] for e in L.audit_log(apply_portal, 1000)] == ids[::-1]
    for bad in (1001, 5000, -1):
        r = apply_portal.client.get(f"/apply/audit?limit={bad}")
        h.assert_error(r, 400, h.INVALID_ARGUMENT, fields=["limit"])
