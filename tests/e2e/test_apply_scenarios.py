"""User story 2, acceptance scenarios 1-5: POST /apply against the real Asterisk 22 lab.

Every check looks at the lab itself: the generated files on disk (under the lab root) and the live objects of the
running Asterisk (`asterisk -rx 'pjsip list ...'`, `dialplan show synergy-internal`), not only at HTTP codes.
"""

from __future__ import annotations

import pytest

import harness as h
import lab as L


def sections_of(text: str, kind: str) -> list[tuple[str, dict]]:
    """[(section name, {key: value})] of the sections with type=KIND in a pjsip file."""
    out = []
    for name, kv in L.parse_conf(text):
        d = dict(kv)
        if d.get("type") == kind:
            out.append((name, d))
    return out


def exten_lines(text: str) -> list[str]:
    return [v for k, v in (kv for _, kvs in L.parse_conf(text) for kv in kvs) if k == "exten"]


def test_one_user_is_provisioned_on_the_live_asterisk(apply_portal, lab):
    """Scenario 1: one user (1000) -> files with endpoint+auth+aor and Dial(PJSIP/1000,25), reloaded, audited."""
    created = L.create_user(apply_portal, "Alice Apply", "alice.apply@example.com")
    assert created["user"]["extension"] == 1000
    password = created["sip_credentials"]["password"]

    log_offset = lab.messages_log_size()
    r = L.apply(apply_portal, admin="alice-admin")
    assert r.status == 200, f"{r!r}\n{apply_portal.server.proc.stderr_tail()}"
    audit = r.json["audit"]

    pjsip = lab.pjsip_file.read_text()
    endpoints = sections_of(pjsip, "endpoint")
    auths = sections_of(pjsip, "auth")
    aors = sections_of(pjsip, "aor")
    assert [n for n, _ in endpoints] == ["1000"], pjsip
    assert endpoints[0][1]["context"] == "synergy-internal" and endpoints[0][1]["auth"] == "1000-auth" \
        and endpoints[0][1]["aors"] == "1000", endpoints
    assert [n for n, _ in auths] == ["1000-auth"], pjsip
    assert auths[0][1]["username"] == "1000" and auths[0][1]["password"] == password, \
        "the auth section does not carry the password POST /users returned"
    assert [n for n, _ in aors] == ["1000"], pjsip
    dialplan = lab.dialplan_file.read_text()
    assert [n for n, _ in L.parse_conf(dialplan)] == ["synergy-internal"], dialplan
    assert exten_lines(dialplan) == ["1000,1,Dial(PJSIP/1000,25)"], dialplan

    # The files are readable by Asterisk (runs as user asterisk) and nobody else.
    lab.assert_file_modes()

    assert "1000" in L.parse_pjsip_list(lab.cli("pjsip list endpoints"), "Endpoint")
    lab.assert_live([1000])
    assert not lab.config_errors_since(log_offset), "Asterisk complained about the generated files"

    assert audit["outcome"] == "APPLY_OUTCOME_SUCCESS", audit
    assert audit["verification"].startswith("ok"), audit
    # The audit names the API key that asked; what the caller typed is only a note.
    assert audit["triggered_by"] == "admin" and audit["triggered_by_key_id"], audit
    assert audit["note"] == "alice-admin", audit
    assert audit["user_count"] == 1, audit
    assert not audit.get("error_detail"), audit
    assert "res_pjsip.so" in audit["reload_output"] and "Dialplan reloaded" in audit["reload_output"], audit
    assert audit["asterisk_host"] == f"ssh://{lab.ssh_user}@{lab.ssh_host}:{lab.ssh_port}", audit
    assert int(audit["duration_ms"]) >= 0 and audit["started_at"] <= audit["finished_at"], audit
    lab.assert_files_match_audit(audit)
    # The log holds the same entry.
    logged = L.audit_entry(apply_portal, audit["id"])
    for k in ("outcome", "triggered_by", "triggered_by_key_id", "note", "user_count", "content_hash", "files",
              "verification"):
        assert logged[k] == audit[k], f"GET /apply/audit {k}: {logged[k]!r} != {audit[k]!r}"


def test_three_users_with_a_gap(apply_portal, lab):
    """Scenario 2: users 1000, 1001, 1005 -> three endpoint blocks, three exten entries, exactly those live."""
    made = L.create_users(apply_portal, 6, "Gap")
    by_ext = {m["user"]["extension"]: m["user"]["id"] for m in made}
    assert sorted(by_ext) == list(range(1000, 1006))
    for ext in (1002, 1003, 1004):
        r = apply_portal.client.delete(f"/users/{by_ext[ext]}")
        assert r.status in (200, 204), r
    assert L.extensions_of(apply_portal) == [1000, 1001, 1005]

    log_offset = lab.messages_log_size()
    audit = L.apply_ok(apply_portal)
    assert audit["user_count"] == 3, audit
    assert not lab.config_errors_since(log_offset), "Asterisk complained about the generated files"
    pjsip = lab.pjsip_file.read_text()
    assert [n for n, _ in sections_of(pjsip, "endpoint")] == ["1000", "1001", "1005"], pjsip
    assert [n for n, _ in sections_of(pjsip, "auth")] == ["1000-auth", "1001-auth", "1005-auth"], pjsip
    assert [n for n, _ in sections_of(pjsip, "aor")] == ["1000", "1001", "1005"], pjsip
    assert exten_lines(lab.dialplan_file.read_text()) == [f"{e},1,Dial(PJSIP/{e},25)" for e in (1000, 1001, 1005)]
    lab.assert_live([1000, 1001, 1005])
    lab.assert_files_match_audit(audit)


@pytest.mark.parametrize("which", ["pjsip", "dialplan"])
def test_write_failure_leaves_everything_as_it_was(apply_portal, lab, which):
    """Scenario 3: a directory is read-only -> 500; both old files byte-identical, no temporaries, no reload."""
    L.create_users(apply_portal, 2, "Keep")
    L.apply_ok(apply_portal)
    before_files = lab.files()
    L.create_user(apply_portal, "Not Applied", "not.applied@example.com")  # 1002: would change both files

    directory = lab.pjsip_dir if which == "pjsip" else lab.dialplan_dir
    with lab.read_only(directory):
        r = L.apply(apply_portal)
        stray_while_ro = lab.stray_files()
    h.assert_error(r, 500, h.INTERNAL)
    audit_id = L.error_audit_id(r)

    assert lab.files() == before_files, "a failed write changed the generated files"
    assert not stray_while_ro and not lab.stray_files(), f"left behind: {stray_while_ro or lab.stray_files()}"
    lab.assert_live([1000, 1001], "after a failed write")

    audit = L.audit_entry(apply_portal, audit_id)
    assert audit["outcome"] == "APPLY_OUTCOME_FAILURE", audit
    assert audit["error_detail"], audit
    assert not audit.get("reload_output"), f"a reload ran after a failed write: {audit!r}"
    assert not audit.get("files"), f"files recorded although none was written: {audit!r}"
    assert audit["user_count"] == 3, audit

    # Writable again: the next Apply goes through.
    L.apply_ok(apply_portal)
    lab.assert_live([1000, 1001, 1002])


def test_daemon_down_stops_the_apply_before_anything_is_written(apply_portal, lab):
    """Scenario 4 (pre-flight): Asterisk is down -> 503 UNAVAILABLE before any write; both files stay
    byte-identical (same inode and mtime), no temporaries; the attempt is audited as a failure that
    changed nothing; once Asterisk is back the next Apply goes through."""
    L.create_user(apply_portal, "Before Stop", "before.stop@example.com")
    L.apply_ok(apply_portal)
    old_files = lab.files()
    old_stats = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (lab.pjsip_file, lab.dialplan_file)]
    L.create_user(apply_portal, "During Stop", "during.stop@example.com")  # 1001

    lab.stop_asterisk()
    try:
        r = L.apply(apply_portal)
        files_after = lab.files()
        stats_after = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (lab.pjsip_file, lab.dialplan_file)]
        stray = lab.stray_files()
    finally:
        lab.up()
    h.assert_error(r, 503, h.UNAVAILABLE)
    assert "Asterisk is not running" in r.json["message"], r
    assert "nothing was written" in r.json["message"], r
    audit_id = L.error_audit_id(r)
    audit = L.audit_entry(apply_portal, audit_id)
    assert audit["outcome"] == "APPLY_OUTCOME_FAILURE", audit
    assert "Asterisk is not running" in audit["error_detail"], audit
    assert audit["changed"] is False, audit
    assert not audit.get("files"), audit
    assert not audit.get("reload_output"), audit
    assert [p["name"] for p in audit["phases"]] == ["read", "render", "connect", "inspect"], audit

    assert files_after == old_files, "a file changed although the daemon was down"
    assert stats_after == old_stats, "a file was replaced (inode or mtime changed)"
    assert not stray, stray

    # Asterisk is back: the next Apply writes, reloads and verifies.
    audit = L.apply_ok(apply_portal)
    assert audit["changed"] is True, audit
    lab.assert_live([1000, 1001])


def test_no_users_cleans_the_live_asterisk(apply_portal, lab):
    """Scenario 5: no users -> 200; both files exist (header only / empty context); Asterisk holds no endpoint."""
    made = L.create_user(apply_portal, "Temporary", "temporary@example.com")
    L.apply_ok(apply_portal)
    lab.assert_live([1000])
    assert apply_portal.client.delete(f"/users/{made['user']['id']}").status in (200, 204)

    audit = L.apply_ok(apply_portal)
    assert audit["user_count"] == 0, audit
    assert lab.pjsip_file.exists() and lab.dialplan_file.exists()
    assert L.parse_conf(lab.pjsip_file.read_text()) == [], "the pjsip file is not comments only"
    assert L.parse_conf(lab.dialplan_file.read_text()) == [("synergy-internal", [])], \
        "the dialplan file is not an empty [synergy-internal]"
    lab.assert_live([], "no users")
    lab.assert_files_match_audit(audit)
