"""Several Asterisk hosts: one Apply renders once and makes both labs run it, side by side; a phone registers and
calls on each. One host failing (its sshd stopped, its Asterisk stopped, its generated-file directory not writable)
leaves the other updated; the answer (500) and the audit say which host runs what; the next Apply brings both level.

Uses the tests' two labs (tests/run's build/test-lab and build/test-lab-b), named a and b.
"""

from __future__ import annotations

import pytest

import lab as L

OK = "APPLY_OUTCOME_SUCCESS"
FAILED = "APPLY_OUTCOME_FAILURE"


@pytest.fixture
def hosts_portal(portals, new_db, lab, lab_b):
    return portals.start(new_db(), server_env=L.hosts_server_env({"a": lab, "b": lab_b}))


def hosts_of(audit: dict) -> dict[str, dict]:
    hosts = audit.get("hosts") or []
    assert [h["name"] for h in hosts] == ["a", "b"], f"want one result per host, a then b: {audit!r}"
    return {h["name"]: h for h in hosts}


def phase_names(host: dict) -> list[str]:
    return [p["name"] for p in host.get("phases") or []]


def apply_both_ok(portal) -> dict:
    r = L.apply(portal)
    assert r.status == 200, f"POST /apply: want 200, got {r!r}\nserver stderr:\n{portal.server.proc.stderr_tail()}"
    audit = r.json["audit"]
    assert audit["outcome"] == OK, audit
    for name, host in hosts_of(audit).items():
        assert host["outcome"] == OK, host
        assert host["verification"].startswith("ok"), host
    return audit


def failed_apply(portal) -> tuple[str, dict]:
    """POST /apply that fails on one host: 500, and the audit entry its error names."""
    r = L.apply(portal)
    assert r.status == 500, f"want 500 for an Apply that reached one of two hosts, got {r!r}"
    audit = L.audit_entry(portal, L.error_audit_id(r))
    assert audit["outcome"] == FAILED, audit
    return r.json["message"], audit


def test_one_apply_makes_both_hosts_run_it_and_phones_call_on_each(hosts_portal, lab, lab_b):
    made = L.create_users(hosts_portal, 2, "Hosts")
    audit = apply_both_ok(hosts_portal)
    exts = [m["sip_credentials"]["extension"] for m in made]
    pw = {m["sip_credentials"]["extension"]: m["sip_credentials"]["password"] for m in made}
    hosts = hosts_of(audit)
    for name, the_lab in (("a", lab), ("b", lab_b)):
        assert hosts[name]["changed"] is True
        assert phase_names(hosts[name]) == ["connect", "inspect", "upload", "rename", "reload", "verify"], hosts[name]
        assert hosts[name]["address"].endswith(f":{the_lab.ssh_port}"), hosts[name]
        the_lab.assert_files_match_audit(audit)
        the_lab.assert_live(exts, f"host {name}")
    assert lab.files() == lab_b.files()
    assert audit["verification"].startswith("a: ok"), audit

    for the_lab in (lab, lab_b):
        caller, callee = the_lab.call(exts[0], pw[exts[0]], exts[1], pw[exts[1]])
        assert caller.returncode == 0, f"{the_lab!r}: the caller's call failed:\n{caller.explain()}"
        assert callee.returncode == 0, f"{the_lab!r}: the callee did not answer and hang up cleanly:\n{callee.explain()}"

    # Nothing changed: a no-op on both hosts.
    again = apply_both_ok(hosts_portal)
    assert again["changed"] is False
    assert [h["changed"] for h in again["hosts"]] == [False, False]


def expect_one_host_failed(portal, message: str, audit: dict, failed: str, updated: str, reason: str):
    assert f"the Apply failed on 1 of 2 Asterisk hosts ({failed}: " in message, message
    assert reason in message, message
    assert f"running the new configuration: {updated};" in message, message
    assert f"still running the previous configuration: {failed}" in message, message
    hosts = hosts_of(audit)
    assert hosts[updated]["outcome"] == OK and hosts[updated]["changed"] is True, hosts[updated]
    assert hosts[failed]["outcome"] == FAILED and hosts[failed]["changed"] is False, hosts[failed]
    assert hosts[failed]["error_detail"], hosts[failed]


def test_a_host_whose_sshd_is_down_keeps_its_files_and_the_next_apply_converges(hosts_portal, lab, lab_b):
    L.create_users(hosts_portal, 1, "Up")
    apply_both_ok(hosts_portal)
    before = lab_b.files()
    made = L.create_users(hosts_portal, 1, "Down")
    with lab_b.sshd_stopped():
        message, audit = failed_apply(hosts_portal)
        # "nothing was changed" (connect refused) or, when the kept session was cut with sshd, "nothing was
        # written ..." (the session died at its first command): either way before anything was written.
        expect_one_host_failed(hosts_portal, message, audit, "b", "a", "nothing was")
        assert lab_b.files() == before, "the unreachable host's files changed"
        lab.assert_files_match_audit(audit)
    exts = [1000, made[0]["sip_credentials"]["extension"]]
    lab.assert_live(exts)

    converged = apply_both_ok(hosts_portal)
    hosts = hosts_of(converged)
    assert hosts["a"]["changed"] is False and hosts["b"]["changed"] is True, converged
    assert lab.files() == lab_b.files()
    lab_b.assert_live(exts)


def test_a_host_whose_asterisk_is_stopped_is_not_written(hosts_portal, lab, lab_b):
    L.create_users(hosts_portal, 1, "Up")
    apply_both_ok(hosts_portal)
    before = lab.files()
    L.create_users(hosts_portal, 1, "Stopped")
    with lab.asterisk_stopped():
        message, audit = failed_apply(hosts_portal)
        expect_one_host_failed(hosts_portal, message, audit, "a", "b", "Asterisk is not running on its host")
        assert phase_names(hosts_of(audit)["a"]) == ["connect", "inspect"], audit
        assert lab.files() == before, "files were written on the host whose Asterisk is down"
    converged = apply_both_ok(hosts_portal)
    assert [h["changed"] for h in converged["hosts"]] == [True, False], converged
    assert lab.files() == lab_b.files()


def test_a_host_that_cannot_write_leaves_no_half_written_file(hosts_portal, lab, lab_b):
    L.create_users(hosts_portal, 1, "Up")
    apply_both_ok(hosts_portal)
    before = lab_b.files()
    L.create_users(hosts_portal, 1, "ReadOnly")
    with lab_b.read_only(lab_b.pjsip_dir):
        message, audit = failed_apply(hosts_portal)
        expect_one_host_failed(hosts_portal, message, audit, "b", "a", "the configuration was not written")
        assert lab_b.files() == before
        assert lab_b.stray_files() == [], "a temporary was left on the host that failed"
    converged = apply_both_ok(hosts_portal)
    assert [h["changed"] for h in converged["hosts"]] == [False, True], converged
    assert lab.files() == lab_b.files()
