"""Concurrent Applies on two server processes sharing one database are serialized (FR-018, SC-009)."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

import harness as h
import lab as L


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.fixture
def apply_pair(portals, new_db, lab):
    url = new_db()
    a = portals.start(url, wait=False, server_env=lab.server_env())
    b = portals.start(url, wait=False, server_env=lab.server_env())
    a.wait_healthy()
    b.wait_healthy()
    return a, b


def test_concurrent_applies_on_two_servers_are_serialized(apply_pair, lab):
    a, b = apply_pair
    L.create_users(a, 40, "Duo")
    all_ids = []
    for round_no in range(3):
        # Each round changes the users so that the Applies of consecutive rounds render different files.
        L.create_user(b if round_no % 2 else a, f"Round {round_no}", f"round.{round_no}@example.com")
        callers = [a, b, a, b]  # two at once on each server
        barrier = threading.Barrier(len(callers))
        results: list = [None] * len(callers)

        def go(i):
            barrier.wait()
            results[i] = L.apply(callers[i], admin=f"racer-{round_no}-{i}")

        threads = [threading.Thread(target=go, args=(i,)) for i in range(len(callers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        bad = [r for r in results if r is None or r.status != 200]
        assert not bad, f"round {round_no}: not every concurrent Apply succeeded: {bad!r}"
        all_ids += [r.json["audit"]["id"] for r in results]

    entries = {e["id"]: e for e in L.audit_log(a, 1000)}
    assert set(all_ids) <= set(entries), "an Apply's audit entry is missing"
    runs = sorted((ts(entries[i]["started_at"]), ts(entries[i]["finished_at"]), i) for i in all_ids)
    for (s1, f1, i1), (s2, f2, i2) in zip(runs, runs[1:]):
        assert f1 <= s2, f"Applies {i1} [{s1}, {f1}] and {i2} [{s2}, {f2}] overlap"
    for i in all_ids:
        assert entries[i]["outcome"] == "APPLY_OUTCOME_SUCCESS", entries[i]

    # The end state is what the database renders now.
    latest = L.audit_log(b, 1)[0]
    status = b.client.get("/apply/status").json
    assert status["pending_changes"] is False and status["current_content_hash"] == latest["content_hash"], status
    pjsip, dialplan = (x.decode() for x in lab.files())
    assert L.header_hash(pjsip) == latest["content_hash"] == L.header_hash(dialplan)
    lab.assert_files_match_audit(latest)
    assert not lab.stray_files(), lab.stray_files()
    exts = L.extensions_of(a)
    assert len(exts) == 43
    lab.assert_live(exts, "after concurrent Applies")


def test_apply_waiting_too_long_for_the_lock_is_aborted(portals, new_db, lab):
    """While one server's Apply holds the lock (stuck connecting to a silent host), another server's Apply with
    PBX_APPLY_LOCK_TIMEOUT_S=1 gives up with 409 ABORTED and changes nothing; once free, it goes through."""
    url = new_db()
    silent = L.SilentListener()
    try:
        stuck = portals.start(url, wait=False, server_env=lab.server_env(
            PBX_ASTERISK_SSH_PORT=silent.port, PBX_ASTERISK_CONNECT_TIMEOUT_S=4))
        impatient = portals.start(url, wait=False, server_env=lab.server_env(PBX_APPLY_LOCK_TIMEOUT_S=1))
        stuck.wait_healthy()
        impatient.wait_healthy()
        L.create_users(impatient, 2, "Lock")
        before = lab.files()

        with L.apply_holding_the_lock(stuck, impatient, "holder") as holder:
            r = L.apply(impatient, admin="waiter", timeout=30)
            audit_now = impatient.client.get("/apply/audit").json
    finally:
        silent.close()
    h.assert_error(r, 409, h.ABORTED)
    holder_rows = [e for e in audit_now if e["note"] == "holder"]
    assert holder_rows and holder_rows[0]["outcome"] == "APPLY_OUTCOME_RUNNING", \
        f"the lock holder finished before the waiter gave up: {audit_now}"
    # The Apply that never ran is audited too, and the error names its row.
    audit_id = L.error_audit_id(r, reason="APPLY_NOT_STARTED")
    waiter_rows = [e for e in audit_now if e["note"] == "waiter"]
    assert [str(e["id"]) for e in waiter_rows] == [audit_id], audit_now
    assert waiter_rows[0]["outcome"] == "APPLY_OUTCOME_FAILURE", waiter_rows
    assert "another Apply is still running" in waiter_rows[0]["error_detail"], waiter_rows
    h.assert_error(holder["r"], 503, h.UNAVAILABLE)
    assert lab.files() == before, "the aborted Apply changed the files"

    L.apply_ok(impatient)
    lab.assert_live([1000, 1001])
