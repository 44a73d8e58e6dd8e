"""After Apply, real SIP clients (sipp) register and call through the lab's Asterisk (SC-002).

SIP goes to 127.0.0.1:$PBX_TEST_SIP_PORT; every sipp run has its own local port. sipp logs: build/test-logs/sipp/.
"""

from __future__ import annotations

import re
import socket

import harness as h
import lab as L


def registered_contacts(lab) -> set[str]:
    """Extensions with a contact in `pjsip show contacts`."""
    return set(re.findall(r"^\s*Contact:\s+(\d{4})/sip:", lab.contacts(), re.M))


def test_applied_users_register_with_their_passwords(apply_portal, lab):
    made = L.create_users(apply_portal, 3, "Reg")
    L.apply_ok(apply_portal)
    creds = {m["sip_credentials"]["extension"]: m["sip_credentials"] for m in made}
    assert sorted(creds) == [1000, 1001, 1002]
    for ext, c in creds.items():
        assert c["username"] == str(ext), c
        r = lab.register(ext, c["password"])
        assert r.returncode == 0, f"{ext} could not register with the password POST /users returned:\n{r.explain()}"
    assert {"1000", "1001", "1002"} <= registered_contacts(lab), lab.contacts()

    wrong = lab.register(1001, creds[1001]["password"][::-1], tag="wrong")
    assert wrong.returncode != 0, "a wrong password was accepted"
    other = lab.register(1002, creds[1000]["password"], tag="crossed")
    assert other.returncode != 0, "1002 registered with 1000's password"


def test_a_call_between_two_applied_users(apply_portal, lab):
    """1000 calls 1001 through Asterisk (digest auth, Dial(PJSIP/1001,25)); a sipp UAS registered as 1001 answers."""
    made = L.create_users(apply_portal, 2, "Call")
    L.apply_ok(apply_portal)
    pw = {m["sip_credentials"]["extension"]: m["sip_credentials"]["password"] for m in made}

    # The callee registers from port P, then answers on P (see tests/lab/phone.xml for why two runs), qualifies
    # included: the default profile qualifies every AOR, and Asterisk does not dial a contact that is Unavail.
    callee_port = L.free_udp_port()
    reg = lab.register(1001, pw[1001], port=callee_port, tag="callee")
    assert reg.returncode == 0, reg.explain()
    uas = lab.start_sipp("uas-1001", "phone.xml", service="1001", port=callee_port, calls=1000, timeout_s=40)
    try:
        # Wait until the UAS holds its port (binding it ourselves fails then).
        def uas_bound():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind(("127.0.0.1", callee_port))
                except OSError:
                    return True
            assert uas.popen.poll() is None, f"the UAS exited early: {uas.wait(1).explain()}"
            return False
        h.wait_until(uas_bound, 10, 0.05, "the sipp UAS to bind its port")
        lab.cli("pjsip qualify 1001")
        h.wait_until(lambda: lab.contact_status(1001) == "Avail", 10, 0.1, "1001's contact to answer a qualify")

        uac = lab.start_sipp("uac-1000-1001", "uac_call.xml", service="1001", user="1000", password=pw[1000],
                             timeout_s=40, extra=["-key", "caller", "1000"])
        try:
            # While the UAC pauses with the call up, Asterisk holds both legs, bridged.
            def both_legs_up():
                chans = lab.channels()
                legs = [ln for ln in chans.splitlines() if re.match(r"PJSIP/100[01]-", ln)]
                up = [ln for ln in legs if "!Up!" in ln]
                return len(up) >= 2 and any(ln.startswith("PJSIP/1000-") and "Dial" in ln for ln in up) and up
            channels_seen = h.wait_until(both_legs_up, 10, 0.1, "two Up PJSIP channels (1000 -> 1001)")
            uac_res = uac.wait(30)
        finally:
            uac.stop()
        uas_res = uas.wait(15)
    finally:
        uas.stop()
    assert uac_res.returncode == 0, f"the caller's call failed:\n{uac_res.explain()}"
    assert uas_res.returncode == 0, f"the callee did not answer and hang up cleanly:\n{uas_res.explain()}"
    assert channels_seen
    # Hung up: no channel left.
    h.wait_until(lambda: not [ln for ln in lab.channels().splitlines() if ln.startswith("PJSIP/")], 10, 0.2,
                 "the channels to go away after BYE")


def test_deleted_user_can_no_longer_register(apply_portal, lab):
    made = L.create_users(apply_portal, 2, "Gone")
    L.apply_ok(apply_portal)
    creds = {m["sip_credentials"]["extension"]: (m["user"]["id"], m["sip_credentials"]["password"]) for m in made}
    for ext, (_, pw) in creds.items():
        r = lab.register(ext, pw, tag="before")
        assert r.returncode == 0, r.explain()

    r = apply_portal.client.delete(f"/users/{creds[1000][0]}")
    assert r.status in (200, 204), r
    # Not applied yet: Asterisk still knows 1000 (eventual consistency, user story 4 scenario 3).
    assert lab.register(1000, creds[1000][1], tag="not-applied").returncode == 0
    L.apply_ok(apply_portal)
    lab.assert_live([1001])

    gone = lab.register(1000, creds[1000][1], tag="after")
    assert gone.returncode != 0, "the deleted user still registers after Apply"
    kept = lab.register(1001, creds[1001][1], tag="after")
    assert kept.returncode == 0, f"the remaining user no longer registers:\n{kept.explain()}"
