"""GET /users/{id}/registration and GET /registrations (RegistrationService): what the live Asterisk holds for each
user's extension, with phones registered by sipp (tests/lab/register.xml: Expires 60, User-Agent pbx-lab-smoke).

The parsing of Asterisk's output is tests/unit/registrations_test.cc; here the whole path runs against the lab.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import pytest

import harness as h
import lab as L

# What register.xml asks for and sends.
REGISTER_EXPIRES_S = 60
REGISTER_USER_AGENT = "pbx-lab-smoke"


@pytest.fixture
def reg_portal(apply_portal, lab):
    """apply_portal, with the lab holding no registration: the registrar keeps its contacts (in the astdb) across
    tests, and every test's users get the same extensions."""
    lab.cli("database deltree registrar/contact")
    return apply_portal


def applied_users(portal, n: int, prefix: str) -> dict[int, tuple[str, str]]:
    """N new users, applied: {extension: (user id, SIP password)}."""
    made = L.create_users(portal, n, prefix)
    L.apply_ok(portal)
    return {m["user"]["extension"]: (m["user"]["id"], m["sip_credentials"]["password"]) for m in made}


def register(lab, extension: int, password: str) -> int:
    """REGISTERs EXTENSION from a fresh local port; returns the port (part of the contact URI)."""
    port = L.free_udp_port()
    r = lab.register(extension, password, port=port)
    assert r.returncode == 0, r.explain()
    return port


def registration(portal, user_id: str) -> dict:
    r = portal.client.get(f"/users/{user_id}/registration")
    assert r.status == 200, f"GET /users/{user_id}/registration -> {r!r}"
    return r.json


def registrations(portal) -> list[dict]:
    r = portal.client.get("/registrations")
    assert r.status == 200 and isinstance(r.json, list), f"GET /registrations -> {r!r}"
    return r.json


def timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_register_shows_up_with_every_contact_field(reg_portal, lab):
    users = applied_users(reg_portal, 2, "Reg")
    user_id, password = users[1000]
    assert registration(reg_portal, user_id) == {"user_id": user_id, "extension": 1000, "registered": False,
                                                 "contacts": [], "unread_hosts": []}

    port = register(lab, 1000, password)
    registered_at = time.time()
    got = registration(reg_portal, user_id)
    assert got["user_id"] == user_id and got["extension"] == 1000 and got["registered"] is True, got
    assert len(got["contacts"]) == 1, got
    contact = got["contacts"][0]
    assert contact["uri"] == f"sip:1000@127.0.0.1:{port}", contact
    assert contact["user_agent"] == REGISTER_USER_AGENT, contact
    # The one host, named as the single-host variables name it.
    assert contact["host"] == "asterisk", contact
    # The portal's AORs are qualified (the default profile's qualify_frequency), and this sipp answers no
    # OPTIONS: Asterisk says NonQual until its first qualify ends, then Unavail; either way no round-trip time
    # (test_endpoint_profile.py has a phone that answers, and its time).
    assert contact["status"] in ("NonQual", "Unknown", "Unavail") and contact["rtt_ms"] == 0, contact
    # Asterisk grants the 60 s asked for (its minimum_expiration); the astdb keeps whole seconds.
    lapses_in = timestamp(contact["expires_at"]) - registered_at
    assert 0 < lapses_in <= REGISTER_EXPIRES_S + 1, (contact, registered_at)

    other_id, _ = users[1001]
    assert registration(reg_portal, other_id)["registered"] is False


def test_the_list_has_one_entry_per_user_in_extension_order(reg_portal, lab):
    users = applied_users(reg_portal, 3, "List")
    register(lab, 1002, users[1002][1])
    register(lab, 1000, users[1000][1])

    listed = registrations(reg_portal)
    assert [(e["extension"], e["user_id"], e["registered"]) for e in listed] == [
        (1000, users[1000][0], True), (1001, users[1001][0], False), (1002, users[1002][0], True)], listed
    assert listed[0] == registration(reg_portal, users[1000][0])
    assert [c["uri"].split("@")[0] for e in listed for c in e["contacts"]] == ["sip:1000", "sip:1002"], listed

    # A deleted user is no entry, though Asterisk keeps its phone until the next Apply.
    assert reg_portal.client.delete(f"/users/{users[1002][0]}").status in (200, 204)
    assert [e["extension"] for e in registrations(reg_portal)] == [1000, 1001]


def test_no_users_is_an_empty_list_for_a_viewer(reg_portal):
    viewer, _ = h.create_api_key(reg_portal.client, "registrations-viewer", "viewer")
    r = viewer.get("/registrations")
    assert r.status == 200 and r.json == [], r
    made = L.create_user(reg_portal, "Viewed", "viewed@example.com")
    r = viewer.get(f"/users/{made['user']['id']}/registration")
    assert r.status == 200 and r.json["registered"] is False, r


def test_grpc_answers_the_same(reg_portal, lab):
    users = applied_users(reg_portal, 2, "Grpc")
    port = register(lab, 1001, users[1001][1])
    token = reg_portal.admin_token

    code, got = h.grpc_call(reg_portal.grpc_addr, "pbx.v1.RegistrationService/GetRegistration",
                            {"id": users[1001][0]}, token)
    assert code == 0, got
    contacts = got["registration"]["contacts"]
    assert got["registration"]["registered"] is True and [c["uri"] for c in contacts] == [
        f"sip:1001@127.0.0.1:{port}"], got

    code, got = h.grpc_call(reg_portal.grpc_addr, "pbx.v1.RegistrationService/ListRegistrations", {}, token)
    assert code == 0, got
    # grpcurl leaves out fields at their default (registered false, no contacts).
    assert [(e["extension"], e.get("registered", False)) for e in got["registrations"]] == [
        (1000, False), (1001, True)], got

    code, got = h.grpc_call(reg_portal.grpc_addr, "pbx.v1.RegistrationService/GetRegistration",
                            {"id": "not-a-uuid"}, token)
    assert code == h.INVALID_ARGUMENT, got


def test_unknown_and_malformed_ids(reg_portal):
    h.assert_error(reg_portal.client.get(f"/users/{uuid.uuid4()}/registration"), 404, h.NOT_FOUND)
    h.assert_error(reg_portal.client.get("/users/not-a-uuid/registration"), 400, h.INVALID_ARGUMENT)


def test_an_unreachable_asterisk_host_is_503(reg_portal, portals, lab):
    made = L.create_user(reg_portal, "Cut Off", "cut.off@example.com")
    port = h.free_port()  # nothing listens there
    cut_off = portals.start(reg_portal.db_url, server_env=lab.server_env(
        PBX_ASTERISK_SSH_PORT=port, PBX_ASTERISK_CONNECT_TIMEOUT_S=3))

    for path in ("/registrations", f"/users/{made['user']['id']}/registration"):
        r = cut_off.client.get(path, timeout=30)
        h.assert_error(r, 503, h.UNAVAILABLE)
        assert r.json["message"] == "the Asterisk host cannot be reached", r
    code, got = h.grpc_call(cut_off.grpc_addr, "pbx.v1.RegistrationService/ListRegistrations", {},
                            cut_off.admin_token)
    assert code == h.UNAVAILABLE, got
    # An unknown user is known to be unknown without Asterisk.
    h.assert_error(cut_off.client.get(f"/users/{uuid.uuid4()}/registration"), 404, h.NOT_FOUND)


def test_a_stopped_asterisk_is_503(reg_portal, lab):
    made = L.create_user(reg_portal, "Stopped", "stopped@example.com")
    lab.stop_asterisk()
    try:
        listed = reg_portal.client.get("/registrations", timeout=30)
        one = reg_portal.client.get(f"/users/{made['user']['id']}/registration", timeout=30)
    finally:
        lab.up()
    for r in (listed, one):
        h.assert_error(r, 503, h.UNAVAILABLE)
        assert r.json["message"] == "Asterisk is not running on its host", r
    assert registrations(reg_portal)[0]["registered"] is False
