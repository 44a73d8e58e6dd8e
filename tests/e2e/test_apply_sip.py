"""After Apply, real SIP clients (sipp) register and call through the lab's Asterisk (SC-002).

SIP goes to 127.0.0.1:$PBX_TEST_SIP_PORT; every sipp run has its own local port. sipp logs: build/test-logs/sipp/.
"""

from __future__ import annotations

import re

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
    """1000 calls 1001 through Asterisk (digest auth, Dial(PJSIP/1001,25)); a sipp UAS registered as 1001 answers
    (Lab.call: both legs seen Up, bridged, then hung up with no channel left)."""
    made = L.create_users(apply_portal, 2, "Call")
    L.apply_ok(apply_portal)
    pw = {m["sip_credentials"]["extension"]: m["sip_credentials"]["password"] for m in made}
    caller, callee = lab.call(1000, pw[1000], 1001, pw[1001])
    assert caller.returncode == 0, f"the caller's call failed:\n{caller.explain()}"
    assert callee.returncode == 0, f"the callee did not answer and hang up cleanly:\n{callee.explain()}"


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
