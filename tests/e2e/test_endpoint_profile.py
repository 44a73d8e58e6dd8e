"""The endpoint profile (PBX_ENDPOINT_PROFILE_FILE; README.md, "Endpoint profile") on the real lab: the options reach
every generated endpoint and AOR and the live Asterisk runs them, phones register and call with the NAT options on,
qualify gives registrations a round-trip time, and a bad profile stops the server at start, naming the entry.

The grammar and rendering are tests/unit/endpoint_profile_test.cc and asterisk_config_test.cc (golden files); here
every allowed value is loaded by Asterisk 22 itself.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

import harness as h
import lab as L

# The shipped NAT profile, plus the lab's transport (deploy/lab/etc/asterisk/pjsip.conf names it transport-udp).
NAT_EXAMPLE = h.REPO_ROOT / "deploy" / "endpoint-profile.example"
NAT_PROFILE = NAT_EXAMPLE.read_text() + "\ntransport = transport-udp\n"

def sipp_counts(stdout: str) -> dict[str, int]:
    """Cumulative call counts from sipp's final statistics screen."""
    counts = {}
    for name in ("Successful call", "Failed call"):
        found = re.findall(rf"^\s*{name}\s*\|\s*\d+\s*\|\s*(\d+)", stdout, re.M)
        assert found, f"no {name!r} in sipp's statistics:\n{stdout[-3000:]}"
        counts[name] = int(found[-1])
    return counts


def profile_file(tmp_path, text: str):
    path = tmp_path / "endpoint-profile"
    path.write_text(text)
    return path


def show(lab, what: str) -> dict[str, str]:
    """`pjsip show endpoint|aor ID`'s parameter table: {name: value}."""
    params = {}
    for line in lab.cli(f"pjsip show {what}").splitlines():
        m = re.match(r"^ (\w+)\s+: (.*)$", line)
        if m:
            params[m.group(1)] = m.group(2).strip()
    assert params, f"pjsip show {what}: no parameters"
    return params


def section(conf: str, name: str, kind: str) -> list[tuple[str, str]]:
    """The (key, value) lines of section [NAME] with type=KIND in a generated file."""
    for sec, entries in L.parse_conf(conf):
        if sec == name and ("type", kind) in entries:
            return entries
    raise AssertionError(f"no [{name}] type={kind} in the generated file")


def refusal(server) -> tuple[int, str]:
    """Waits for SERVER (h.Server) to exit; its exit code and the error of its "cannot start" log line."""
    try:
        rc = server.proc.popen.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.stop()
        raise AssertionError("the server started with a bad endpoint profile")
    err = server.proc.stderr_tail()
    server.proc.stop()
    for line in err.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "cannot start":
            return rc, entry.get("error", "")
    raise AssertionError(f"exit {rc} without a 'cannot start' log line; stderr:\n{err}")


def profile_portal(portals, new_db, lab, path, db_url=None):
    return portals.start(db_url or new_db(), server_env=lab.server_env(PBX_ENDPOINT_PROFILE_FILE=str(path)))


# --------------------------------------------------------------------------- refused starts

@pytest.mark.parametrize("text, names", [
    ("rtp_symmetric = yes\n\nforce_rport = sometimes\n", ["line 3", "force_rport", '"sometimes"']),
    ("# NAT\ncolour = blue\n", ["line 2", 'unknown option "colour"']),
    ("qualify_frequency = 30\nqualify_frequency = 60\n", ["line 2", "qualify_frequency", "set again"]),
    ("allow = ulaw\n[evil]\n", ["line 2", '"[evil]"']),
])
def test_a_bad_profile_stops_the_server_naming_the_file_line_and_option(tmp_path, text, names):
    """Refused before anything else (no database is reachable here, and none is needed): exit 2 with a message that
    names the variable, the file and the bad entry."""
    h.require_binaries(h.SERVER_BIN)
    path = profile_file(tmp_path, text)
    server = h.Server("postgresql://nobody@127.0.0.1:1/none", h.safe_name(f"profile-refused-{tmp_path.name}"),
                      {"PBX_ENDPOINT_PROFILE_FILE": str(path)})
    rc, error = refusal(server)
    assert rc == 2, f"exit {rc}, want 2: {error}"
    for needle in [f"PBX_ENDPOINT_PROFILE_FILE {path}: "] + names:
        assert needle in error, f"{needle!r} not in the server's message: {error}"


def test_a_missing_profile_file_stops_the_server(tmp_path):
    h.require_binaries(h.SERVER_BIN)
    missing = tmp_path / "no-such-profile"
    server = h.Server("postgresql://nobody@127.0.0.1:1/none", h.safe_name(f"profile-missing-{tmp_path.name}"),
                      {"PBX_ENDPOINT_PROFILE_FILE": str(missing)})
    rc, error = refusal(server)
    assert rc == 2 and f"PBX_ENDPOINT_PROFILE_FILE {missing}: " in error and "No such file" in error, \
        f"exit {rc}: {error}"


# --------------------------------------------------------------------------- the NAT profile on the lab

def test_nat_profile_reaches_the_live_asterisk_and_phones_call(portals, new_db, lab, tmp_path):
    portal = profile_portal(portals, new_db, lab, profile_file(tmp_path, NAT_PROFILE))
    made = L.create_users(portal, 2, "Nat")
    audit = L.apply_ok(portal)
    lab.assert_files_match_audit(audit)
    pw = {m["sip_credentials"]["extension"]: m["sip_credentials"]["password"] for m in made}
    assert sorted(pw) == [1000, 1001]

    # The file: the profile's options between the fixed lines, in the allow-list's order.
    conf = lab.pjsip_file.read_text()
    for ext in (1000, 1001):
        assert section(conf, str(ext), "endpoint") == [
            ("type", "endpoint"), ("context", "synergy-internal"), ("disallow", "all"), ("allow", "ulaw,alaw"),
            ("direct_media", "no"), ("dtmf_mode", "rfc4733"), ("rtp_symmetric", "yes"), ("force_rport", "yes"),
            ("rewrite_contact", "yes"), ("transport", "transport-udp"), ("auth", f"{ext}-auth"),
            ("aors", str(ext))]
        assert section(conf, str(ext), "aor") == [
            ("type", "aor"), ("max_contacts", "1"), ("remove_existing", "yes"), ("qualify_frequency", "30"),
            ("qualify_timeout", "3")]

    # The live Asterisk runs them.
    for ext in (1000, 1001):
        endpoint = show(lab, f"endpoint {ext}")
        assert {k: endpoint.get(k) for k in ("rtp_symmetric", "force_rport", "rewrite_contact", "direct_media",
                                              "dtmf_mode", "transport", "allow")} == {
            "rtp_symmetric": "true", "force_rport": "true", "rewrite_contact": "true", "direct_media": "false",
            "dtmf_mode": "rfc4733", "transport": "transport-udp", "allow": "(ulaw|alaw)"}, endpoint
        aor = show(lab, f"aor {ext}")
        assert aor.get("qualify_frequency") == "30" and float(aor.get("qualify_timeout", "nan")) == 3.0, aor
        assert aor.get("max_contacts") == "1" and aor.get("remove_existing") == "true", aor

    # A phone registers; 1000 calls 1001. The callee is a sipp on the port 1001 registered from that answers
    # qualifies too (tests/lab/phone.xml); with qualify on, it is dialled only once a qualify found it reachable.
    lab.cli("database deltree registrar/contact")
    wrong = lab.register(1000, pw[1001], tag="nat-wrong")
    assert wrong.returncode != 0, "1000 registered with 1001's password"
    uac_res, phone_res = lab.call(1000, pw[1000], 1001, pw[1001])
    assert uac_res.returncode == 0, f"the caller's call failed:\n{uac_res.explain()}"
    assert phone_res.returncode == 0, \
        f"the callee did not answer and hang up cleanly:\n{phone_res.explain()}"
    counts = sipp_counts(phone_res.stdout)
    assert counts["Failed call"] == 0 and counts["Successful call"] >= 2, (counts, phone_res.explain())


def test_qualify_gives_the_registration_a_round_trip_time(portals, new_db, lab, tmp_path):
    """The reason qualify_frequency is in the default profile: Asterisk sends OPTIONS to the registered phone, and
    GET /users/{id}/registration shows its status and round-trip time. (A qualify every second, so the test need not
    wait the default 60 s.)"""
    portal = profile_portal(portals, new_db, lab, profile_file(tmp_path, "qualify_frequency = 1\n"))
    made = L.create_user(portal, "Qualified", "qualified@example.com")
    L.apply_ok(portal)
    user_id, password = made["user"]["id"], made["sip_credentials"]["password"]
    assert show(lab, "aor 1000").get("qualify_frequency") == "1"

    lab.cli("database deltree registrar/contact")
    port = L.free_udp_port()
    reg = lab.register(1000, password, port=port, tag="qualified")
    assert reg.returncode == 0, reg.explain()
    phone = lab.start_sipp("qualified-1000", "phone.xml", service="1000", port=port, calls=1000, timeout_s=30)
    try:
        L.wait_sipp_bound(phone, port, "the sipp phone")

        def reachable():
            r = portal.client.get(f"/users/{user_id}/registration")
            assert r.status == 200, r
            contacts = r.json["contacts"]
            return contacts and contacts[0]["status"] == "Avail" and contacts[0]["rtt_ms"] > 0 and contacts[0]
        contact = h.wait_until(reachable, 15, 0.2, "the contact to be Avail with a round-trip time")
    finally:
        phone.stop()
    assert contact["uri"] == f"sip:1000@127.0.0.1:{port}", contact

    # A phone that stops answering is found unreachable within a qualify (1 s) and its timeout (3 s).
    def unreachable():
        contacts = portal.client.get(f"/users/{user_id}/registration").json["contacts"]
        return contacts and contacts[0]["status"] == "Unavail" and contacts[0]
    h.wait_until(unreachable, 15, 0.2, "the silent contact to be Unavail")


# --------------------------------------------------------------------------- every allowed value loads

# Every value of every option (cycled over a few profiles), and what `pjsip show endpoint|aor` shows for it.
ENDPOINT_VALUES = {
    "allow": [("opus,g722,ulaw", "(opus|g722|ulaw)"), ("alaw", "(alaw)"), ("g729,gsm,ilbc", "(g729|gsm|ilbc)"),
              ("slin16,speex,h264,vp8", "(slin16|speex|h264|vp8)"), ("ulaw,alaw", "(ulaw|alaw)")],
    "direct_media": [("yes", "true"), ("no", "false")],
    "dtmf_mode": [(v, v) for v in ("rfc4733", "inband", "info", "auto", "auto_info")],
    "rtp_symmetric": [("yes", "true"), ("no", "false")],
    "force_rport": [("no", "false"), ("yes", "true")],
    "rewrite_contact": [("yes", "true"), ("no", "false")],
    "ice_support": [("yes", "true"), ("no", "false")],
    "transport": [("transport-udp", "transport-udp")],
    "timers": [(v, None) for v in ("no", "yes", "required", "always")],
    "100rel": [(v, None) for v in ("no", "yes", "required", "peer_supported")],
}
AOR_VALUES = {
    "max_contacts": [("2", "2"), ("10", "10"), ("1", "1")],
    "remove_existing": [("no", "false"), ("yes", "true")],
    "qualify_frequency": [("0", "0"), ("86400", "86400"), ("45", "45")],
    "qualify_timeout": [("0.5", 0.5), ("60", 60.0), ("2.25", 2.25)],
}
ROUNDS = max(len(v) for v in list(ENDPOINT_VALUES.values()) + list(AOR_VALUES.values()))


def test_every_allowed_value_loads_in_asterisk(portals, new_db, lab, tmp_path):
    db_url = new_db()
    seed = portals.start(db_url, server_env=lab.server_env())
    L.create_users(seed, 2, "Every")
    seen_timers, seen_100rel = set(), set()
    for round_ in range(ROUNDS):
        endpoint = {k: v[round_ % len(v)] for k, v in ENDPOINT_VALUES.items()}
        aor = {k: v[round_ % len(v)] for k, v in AOR_VALUES.items()}
        text = "".join(f"{k} = {value}\n" for k, (value, _) in {**endpoint, **aor}.items())
        path = profile_file(tmp_path, text)
        portal = profile_portal(portals, new_db, lab, path, db_url=db_url)
        log_offset = lab.messages_log_size()
        L.apply_ok(portal)  # verifies that Asterisk holds every endpoint, AOR and auth
        errors = lab.config_errors_since(log_offset)
        assert not errors, f"round {round_}: Asterisk logged config errors for profile\n{text}\n" + "\n".join(errors)
        live = show(lab, "endpoint 1001")
        for name, (value, shown) in endpoint.items():
            if shown is not None:
                assert live.get(name) == shown, f"round {round_}: endpoint {name}={value} shows {live.get(name)!r}"
        seen_timers.add(live.get("timers"))
        seen_100rel.add(live.get("100rel"))
        live_aor = show(lab, "aor 1001")
        for name, (value, shown) in aor.items():
            got = float(live_aor.get(name, "nan")) if isinstance(shown, float) else live_aor.get(name)
            assert got == shown, f"round {round_}: aor {name}={value} shows {live_aor.get(name)!r}"
        portal.stop()
    # Each value Asterisk read as a different setting.
    assert len(seen_timers) == len(ENDPOINT_VALUES["timers"]), seen_timers
    assert len(seen_100rel) == len(ENDPOINT_VALUES["100rel"]), seen_100rel
