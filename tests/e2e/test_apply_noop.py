"""No-op Apply and force (issue 12, item 3) on the real Asterisk 22 lab.

An Apply that finds the host already holding the rendered files, and the live Asterisk running them, writes nothing
(both files keep their inode and mtime) and reloads nothing (no pjsip reload line in messages.log, the dialplan
reload marker survives: see Lab.watch_reloads); it answers 200 with an audit entry saying changed: false.
`{"force": true}` rewrites and reloads anyway; right files that the live Asterisk does not run are no no-op either.
"""

from __future__ import annotations

import pytest

import harness as h
import lab as L

NOOP_PHASES = ["read", "render", "connect", "inspect", "verify", "audit"]
WRITE_PHASES = ["read", "render", "connect", "inspect", "upload", "rename", "reload", "verify", "audit"]


@pytest.fixture(scope="module")
def portal(module_portals, lab_session):
    # No background drift check: this module counts every command Asterisk runs.
    return module_portals.start(server_env=lab_session.server_env(PBX_DRIFT_CHECK_INTERVAL_S=0))


@pytest.fixture(scope="module")
def users(portal, lab_session):
    """Two users, applied once (a changing Apply)."""
    made = L.create_users(portal, 2, "Noop")
    return sorted(m["user"]["extension"] for m in made)


def phase_names(audit: dict) -> list[str]:
    return [p["name"] for p in audit["phases"]]


def test_a_second_apply_without_a_change_writes_and_reloads_nothing(portal, users, lab):
    first = L.apply_ok(portal)
    assert first["changed"] is True and first["forced"] is False, first
    lab.assert_live(users)
    files, stats = lab.files(), lab.file_stats()

    with lab.watch_reloads() as w:
        r = L.apply(portal, "second")
        stats_after, files_after = lab.file_stats(), lab.files()
        dialplan_reloaded, pjsip_reloads = w.dialplan_reloaded(), w.pjsip_reloads()
    assert r.status == 200, f"a no-op Apply: want 200, got {r!r}"
    audit = r.json["audit"]
    assert audit["outcome"] == "APPLY_OUTCOME_SUCCESS", audit
    assert audit["changed"] is False and audit["forced"] is False, audit
    assert audit["verification"].startswith("ok, unchanged"), audit
    assert phase_names(audit) == NOOP_PHASES, audit
    assert not audit.get("reload_output"), f"a no-op Apply reports a reload: {audit!r}"
    assert not audit.get("error_detail"), audit
    assert audit["content_hash"] == first["content_hash"] and audit["user_count"] == len(users), audit
    # Its file records are the files the host holds (the ones the first Apply wrote).
    assert audit["files"] == first["files"], (audit["files"], first["files"])
    lab.assert_files_match_audit(audit)

    assert stats_after == stats, f"a no-op Apply replaced a file (inode, mtime): {stats} -> {stats_after}"
    assert files_after == files
    assert pjsip_reloads == 0, f"a no-op Apply ran {pjsip_reloads} pjsip reload(s) (messages.log)"
    assert not dialplan_reloaded, "a no-op Apply reloaded the dialplan (the marker context is gone)"
    assert not lab.stray_files(), lab.stray_files()
    lab.assert_live(users, "after a no-op Apply")

    # The audit log and the status say the same.
    logged = L.audit_entry(portal, audit["id"])
    assert logged["changed"] is False and logged["forced"] is False, logged
    assert logged["verification"] == audit["verification"] and logged["files"] == audit["files"], logged
    status = portal.client.get("/apply/status").json
    assert status["last_apply"]["id"] == audit["id"] == status["last_successful_apply"]["id"], status
    assert status["pending_changes"] is False, status


def test_force_rewrites_and_reloads_the_same_configuration(portal, users, lab):
    L.apply_ok(portal)  # in sync (a no-op or not, whatever ran before)
    files, stats = lab.files(), lab.file_stats()

    with lab.watch_reloads() as w:
        r = L.apply(portal, body={"force": True, "note": "repair"})
        stats_after, files_after = lab.file_stats(), lab.files()
        dialplan_reloaded, pjsip_reloads = w.dialplan_reloaded(), w.pjsip_reloads()
    assert r.status == 200, f"a forced Apply: want 200, got {r!r}"
    audit = r.json["audit"]
    assert audit["outcome"] == "APPLY_OUTCOME_SUCCESS" and audit["note"] == "repair", audit
    assert audit["changed"] is True and audit["forced"] is True, audit
    assert audit["verification"].startswith("ok") and not audit["verification"].startswith("ok, unchanged"), audit
    assert phase_names(audit) == WRITE_PHASES, audit
    assert "res_pjsip.so" in audit["reload_output"] and "Dialplan reloaded" in audit["reload_output"], audit
    lab.assert_files_match_audit(audit)

    assert all(a != b for a, b in zip(stats, stats_after)), \
        f"force did not rewrite both files (inode, mtime): {stats} -> {stats_after}"
    assert files_after == files, "the same users rendered to other bytes"
    assert pjsip_reloads == 1, f"a forced Apply ran {pjsip_reloads} pjsip reloads (want 1; messages.log)"
    assert dialplan_reloaded, "a forced Apply did not reload the dialplan (the marker context survived)"
    lab.assert_file_modes()
    assert not lab.stray_files(), lab.stray_files()
    lab.assert_live(users, "after a forced Apply")
    logged = L.audit_entry(portal, audit["id"])
    assert logged["changed"] is True and logged["forced"] is True, logged

    # Forced or not, the next plain Apply is a no-op again.
    again = L.apply_ok(portal)
    assert again["changed"] is False and again["forced"] is False, again


def test_right_files_that_asterisk_does_not_run_are_rewritten_and_reloaded(portal, users, lab):
    """The files equal the rendered ones but the live dialplan lost an extension: not a no-op (no force needed)."""
    L.apply_ok(portal)
    lab.cli(f"dialplan remove extension {users[0]}@synergy-internal")
    assert str(users[0]) not in lab.dialplan(), "could not remove the extension from the live dialplan"
    stats = lab.file_stats()

    with lab.watch_reloads() as w:
        audit = L.apply_ok(portal)
        stats_after = lab.file_stats()
        dialplan_reloaded, pjsip_reloads = w.dialplan_reloaded(), w.pjsip_reloads()
    assert audit["changed"] is True and audit["forced"] is False, audit
    assert not audit["verification"].startswith("ok, unchanged"), audit
    # (The live state read before writing is timed as a first "verify".)
    assert phase_names(audit)[-5:] == WRITE_PHASES[-5:], audit
    assert all(a != b for a, b in zip(stats, stats_after)), (stats, stats_after)
    assert dialplan_reloaded and pjsip_reloads == 1, (dialplan_reloaded, pjsip_reloads)
    lab.assert_live(users, "after repairing the live dialplan")
    lab.assert_files_match_audit(audit)


def test_a_changed_database_is_no_no_op(portal, users, lab):
    """One more user: the files differ, so the Apply writes and reloads (changed true) without force."""
    L.apply_ok(portal)
    extra = L.create_user(portal, "Noop Extra", h.unique_email("noop-extra"))["user"]["extension"]
    stats = lab.file_stats()
    with lab.watch_reloads() as w:
        audit = L.apply_ok(portal)
        dialplan_reloaded, pjsip_reloads = w.dialplan_reloaded(), w.pjsip_reloads()
    assert audit["changed"] is True and audit["forced"] is False, audit
    assert phase_names(audit) == WRITE_PHASES, audit
    assert all(a != b for a, b in zip(stats, lab.file_stats()))
    assert dialplan_reloaded and pjsip_reloads == 1, (dialplan_reloaded, pjsip_reloads)
    lab.assert_live(users + [extra])
