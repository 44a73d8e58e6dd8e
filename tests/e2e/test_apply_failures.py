"""Apply when the Asterisk host cannot be trusted or reached: refused or failed, audited, nothing changed."""

from __future__ import annotations

import subprocess
import time

import pytest

import harness as h
import lab as L


@pytest.fixture
def applied_baseline(apply_portal, lab):
    """The lab holds exactly extension 1000 of apply_portal's database; returns (files, users) as they are."""
    L.create_user(apply_portal, "Baseline", "baseline@example.com")
    L.apply_ok(apply_portal)
    lab.assert_live([1000])
    return lab.files()


def test_changed_host_key_is_refused(apply_portal, applied_baseline, portals, lab, tmp_path):
    key = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "impostor", "-f", str(key)], check=True)
    impostor = (tmp_path / "impostor.pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[{lab.ssh_host}]:{lab.ssh_port} {impostor[0]} {impostor[1]}\n")

    # A second server on the same database, trusting another key for the lab's address.
    wary = portals.start(apply_portal.db_url, server_env=lab.server_env(PBX_ASTERISK_SSH_KNOWN_HOSTS=known_hosts))
    L.create_user(wary, "Would Change", "would.change@example.com")  # 1001: an Apply would rewrite both files

    r = L.apply(wary)
    h.assert_error(r, 500, h.INTERNAL)
    assert "host key" in r.json["message"], f"the message does not mention the host key: {r!r}"
    audit = L.audit_entry(wary, L.error_audit_id(r))
    assert audit["outcome"] == "APPLY_OUTCOME_FAILURE" and "host key" in audit["error_detail"], audit
    assert not audit.get("files") and not audit.get("reload_output"), audit

    assert lab.files() == applied_baseline, "the lab's files changed although the host key was refused"
    assert not lab.stray_files(), lab.stray_files()
    lab.assert_live([1000], "after a refused host key")


@pytest.mark.parametrize("how", ["refused", "silent"])
def test_unreachable_host_fails_fast_with_503(apply_portal, applied_baseline, portals, lab, how):
    silent = L.SilentListener() if how == "silent" else None
    try:
        port = silent.port if silent else h.free_port()  # free_port: nothing listens there
        cut_off = portals.start(apply_portal.db_url, server_env=lab.server_env(
            PBX_ASTERISK_SSH_PORT=port, PBX_ASTERISK_CONNECT_TIMEOUT_S=3))
        L.create_user(cut_off, "Stays In Db", "stays.in.db@example.com")
        users_before = cut_off.client.list_users()

        t0 = time.monotonic()
        r = L.apply(cut_off, timeout=60)
        elapsed = time.monotonic() - t0
    finally:
        if silent:
            silent.close()
    h.assert_error(r, 503, h.UNAVAILABLE)
    assert elapsed < 10, f"Apply took {elapsed:.1f}s with PBX_ASTERISK_CONNECT_TIMEOUT_S=3"
    audit = L.audit_entry(cut_off, L.error_audit_id(r))
    assert audit["outcome"] == "APPLY_OUTCOME_FAILURE" and audit["error_detail"], audit
    assert audit["asterisk_host"].endswith(f":{port}"), audit
    assert cut_off.client.list_users() == users_before, "a failed Apply changed the users"

    assert lab.files() == applied_baseline
    lab.assert_live([1000], "after an unreachable-host Apply")
