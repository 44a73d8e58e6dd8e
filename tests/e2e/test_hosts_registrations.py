"""Several Asterisk hosts, read: GET /registrations and /users/{id}/registration read every host side by side, each
contact naming the host that holds it; a host that cannot be read is named (REST: each registration's unread_hosts;
gRPC: the response's hosts with the reason) and the others still answer; no host read is 503. GET /apply/status says
per host what it last received, from the audit log: after an Apply one host missed, that host is pending and the
other is not, until the next Apply.

Uses the tests' two labs (tests/run's build/test-lab and build/test-lab-b), named a and b. The single-host answers
are tests/e2e/test_registrations.py and test_apply_status.py.
"""

from __future__ import annotations

import pytest

import harness as h
import lab as L
from test_registrations import register


@pytest.fixture
def hosts_portal(portals, new_db, lab, lab_b):
    # The registrar keeps its contacts (in the astdb) across tests, and every test's users get the same extensions.
    for the_lab in (lab, lab_b):
        the_lab.cli("database deltree registrar/contact")
    return portals.start(new_db(), server_env=L.hosts_server_env({"a": lab, "b": lab_b}))


def applied_users(portal, n: int, prefix: str) -> dict[int, tuple[str, str]]:
    """N new users, applied to both hosts: {extension: (user id, SIP password)}."""
    made = L.create_users(portal, n, prefix)
    audit = L.apply_ok(portal)
    assert [x["name"] for x in audit["hosts"]] == ["a", "b"], audit
    return {m["user"]["extension"]: (m["user"]["id"], m["sip_credentials"]["password"]) for m in made}


def registrations(portal) -> dict[int, dict]:
    """GET /registrations by extension."""
    r = portal.client.get("/registrations", timeout=60)
    assert r.status == 200 and isinstance(r.json, list), f"GET /registrations -> {r!r}"
    return {e["extension"]: e for e in r.json}


def contacts(entry: dict) -> list[tuple[str, str]]:
    return [(c["host"], c["uri"]) for c in entry["contacts"]]


def grpc_hosts(portal) -> list[dict]:
    """ListRegistrations' hosts over gRPC (REST answers with the list alone), every field filled in."""
    code, got = h.grpc_call(portal.grpc_addr, "pbx.v1.RegistrationService/ListRegistrations", {},
                            portal.admin_token)
    assert code == 0, got
    return [{"name": x["name"], "address": x["address"], "error_detail": x.get("error_detail", "")}
            for x in got.get("hosts", [])]


def test_each_contact_names_its_host_and_an_unreadable_host_is_named(hosts_portal, lab, lab_b):
    users = applied_users(hosts_portal, 2, "HostsReg")
    port_a = register(lab, 1000, users[1000][1])
    port_b = register(lab_b, 1001, users[1001][1])

    listed = registrations(hosts_portal)
    assert contacts(listed[1000]) == [("a", f"sip:1000@127.0.0.1:{port_a}")], listed
    assert contacts(listed[1001]) == [("b", f"sip:1001@127.0.0.1:{port_b}")], listed
    assert all(e["registered"] and e["unread_hosts"] == [] for e in listed.values()), listed
    hosts = grpc_hosts(hosts_portal)
    assert [(x["name"], x["error_detail"]) for x in hosts] == [("a", ""), ("b", "")], hosts
    assert hosts[0]["address"].endswith(f":{lab.ssh_port}") and hosts[1]["address"].endswith(f":{lab_b.ssh_port}")

    # A phone on both hosts: a contact on each, in host order.
    port_1000_b = register(lab_b, 1000, users[1000][1])
    r = hosts_portal.client.get(f"/users/{users[1000][0]}/registration", timeout=60)
    assert r.status == 200, r
    assert contacts(r.json) == [("a", f"sip:1000@127.0.0.1:{port_a}"), ("b", f"sip:1000@127.0.0.1:{port_1000_b}")], r
    code, got = h.grpc_call(hosts_portal.grpc_addr, "pbx.v1.RegistrationService/GetRegistration",
                            {"id": users[1001][0]}, hosts_portal.admin_token)
    assert code == 0 and [x["name"] for x in got["hosts"]] == ["a", "b"], got
    assert [c["host"] for c in got["registration"]["contacts"]] == ["b"], got

    with lab_b.sshd_stopped():
        listed = registrations(hosts_portal)
        # a's contacts still shown; b's unknown, and said so.
        assert contacts(listed[1000]) == [("a", f"sip:1000@127.0.0.1:{port_a}")], listed
        assert listed[1001]["registered"] is False and listed[1001]["contacts"] == [], listed
        assert all(e["unread_hosts"] == ["b"] for e in listed.values()), listed
        hosts = grpc_hosts(hosts_portal)
        assert hosts[0]["error_detail"] == "", hosts
        assert hosts[1]["error_detail"], f"b could not be read, yet no reason: {hosts!r}"
        # The reason is its summary: no address.
        assert str(lab_b.ssh_port) not in hosts[1]["error_detail"], hosts
        r = hosts_portal.client.get(f"/users/{users[1001][0]}/registration", timeout=60)
        assert r.status == 200 and r.json["registered"] is False and r.json["unread_hosts"] == ["b"], r

    # b answers again.
    listed = registrations(hosts_portal)
    assert [h_ for h_, _ in contacts(listed[1000])] == ["a", "b"] and listed[1001]["unread_hosts"] == [], listed


def test_no_host_read_is_503_naming_each_hosts_reason(hosts_portal, lab, lab_b):
    users = applied_users(hosts_portal, 1, "NoHost")
    user_id = users[1000][0]
    with lab_b.sshd_stopped(), lab.asterisk_stopped():
        for path in ("/registrations", f"/users/{user_id}/registration"):
            r = hosts_portal.client.get(path, timeout=60)
            h.assert_error(r, 503, h.UNAVAILABLE)
            message = r.json["message"]
            assert message.startswith("no Asterisk host could be read (a: Asterisk is not running on its host; b: "), r
            assert str(lab_b.ssh_port) not in message, r
    assert registrations(hosts_portal)[1000]["registered"] is False


def host_status(portal) -> tuple[dict, dict[str, dict]]:
    r = portal.client.get("/apply/status")
    assert r.status == 200, f"GET /apply/status -> {r!r}"
    hosts = r.json["hosts"]
    assert [x["name"] for x in hosts] == ["a", "b"], r.json
    return r.json, {x["name"]: x for x in hosts}


def test_apply_status_says_which_host_missed_an_apply(hosts_portal, lab, lab_b):
    status, hosts = host_status(hosts_portal)
    assert status["pending_changes"] is True
    for x in hosts.values():
        assert x["pending_changes"] is True and x["last_success"] is None and x["applied_content_hash"] == "", x

    L.create_users(hosts_portal, 1, "StatusUp")
    first = L.apply_ok(hosts_portal)
    status, hosts = host_status(hosts_portal)
    assert status["pending_changes"] is False, status
    for name, the_lab in (("a", lab), ("b", lab_b)):
        x = hosts[name]
        assert x["pending_changes"] is False and x["last_success"]["id"] == first["id"], x
        assert x["applied_content_hash"] == first["content_hash"] == status["current_content_hash"], x
        assert x["address"].endswith(f":{the_lab.ssh_port}"), x

    # b misses the next Apply: a runs it, b still runs the first.
    L.create_users(hosts_portal, 1, "StatusDown")
    with lab_b.sshd_stopped():
        r = L.apply(hosts_portal)
        assert r.status == 500, f"want 500 for an Apply that reached one of two hosts, got {r!r}"
    partial_id = L.error_audit_id(r)
    status, hosts = host_status(hosts_portal)
    assert status["pending_changes"] is True, status
    assert status["last_successful_apply"]["id"] == first["id"], status
    assert hosts["a"]["pending_changes"] is False, hosts
    assert str(hosts["a"]["last_success"]["id"]) == partial_id, hosts
    assert hosts["a"]["applied_content_hash"] == status["current_content_hash"], hosts
    assert hosts["b"]["pending_changes"] is True, hosts
    assert hosts["b"]["last_success"]["id"] == first["id"], hosts
    assert hosts["b"]["applied_content_hash"] == first["content_hash"] != status["current_content_hash"], hosts

    converged = L.apply_ok(hosts_portal)
    status, hosts = host_status(hosts_portal)
    assert status["pending_changes"] is False, status
    for x in hosts.values():
        assert x["pending_changes"] is False and x["last_success"]["id"] == converged["id"], x
