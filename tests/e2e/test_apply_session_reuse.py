"""The server keeps the SSH session of one Apply open for the next (PBX_ASTERISK_SESSION_IDLE_S), and replaces a
session that was cut without failing the Apply."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import lab as L


def _connections(port_filter: str) -> list[tuple[int, int, int]]:
    """(local port, peer port, pid) of each established TCP connection matching an `ss` port filter."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", f"( {port_filter} )"],
                         capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        local_port, peer_port = (int(f.rsplit(":", 1)[1]) for f in fields[2:4])
        found += [(local_port, peer_port, int(pid)) for pid in re.findall(r"pid=(\d+)", line)]
    return found


def _server_ssh_ports(portal, lab) -> list[int]:
    """The local ports of the server's own SSH connections to the lab."""
    return sorted(local for local, _, pid in _connections(f"dport = :{lab.ssh_port}")
                  if pid == portal.server.proc.pid)


def test_the_session_is_kept_between_applies(apply_portal, lab):
    L.create_users(apply_portal, 2, "Reuse")
    L.apply_ok(apply_portal)
    first = _server_ssh_ports(apply_portal, lab)
    assert len(first) == 1, f"after one Apply the server should hold one SSH connection, holds {first}"
    L.apply_ok(apply_portal)
    assert _server_ssh_ports(apply_portal, lab) == first, "the second Apply did not reuse the first one's session"
    lab.assert_live([1000, 1001])


def test_a_cut_session_is_replaced_and_the_apply_succeeds(apply_portal, lab):
    L.create_users(apply_portal, 1, "Cut")
    L.apply_ok(apply_portal)
    [kept] = _server_ssh_ports(apply_portal, lab)
    # Kill the sshd process serving the kept session, as a host reboot or a dropped link would.
    sshd_pids = {pid for _, peer, pid in _connections(f"sport = :{lab.ssh_port}") if peer == kept}
    assert sshd_pids, f"no sshd process found for the server's connection from port {kept}"
    for pid in sshd_pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # sshd's privileged parent and its session child both hold the socket: the child died with it

    L.create_users(apply_portal, 1, "AfterCut")
    audit = L.apply_ok(apply_portal)
    assert audit["user_count"] == 2, audit
    now = _server_ssh_ports(apply_portal, lab)
    assert len(now) == 1 and now != [kept], f"expected one new session, the server holds {now} (was {kept})"
    lab.assert_live([1000, 1001], "after the cut session was replaced")


def test_reuse_can_be_turned_off(portals, new_db, lab):
    portal = portals.start(new_db(), server_env=lab.server_env(PBX_ASTERISK_SESSION_IDLE_S=0))
    L.create_users(portal, 1, "NoReuse")
    L.apply_ok(portal)
    assert _server_ssh_ports(portal, lab) == [], "with reuse off the session must be closed after the Apply"
    lab.assert_live([1000])
