"""Preview, drift and the background drift check over several Asterisk hosts (issue 13): each host is read on its
own, side by side. A file edited by hand on one host makes the preview write that host alone (with its changed
extension) and the drift name that host; a host whose Asterisk or sshd is down is named with its error (200) while
the other is still read; the background check publishes its gauges per host.

Uses the tests' two labs (tests/run's build/test-lab and build/test-lab-b), named a and b.
"""

from __future__ import annotations

import time

import pytest

import harness as h
import lab as L
from test_apply_hosts import apply_both_ok
from test_metrics import scrape

INTERVAL = 1  # PBX_DRIFT_CHECK_INTERVAL_S of this module's portals
GAUGE_TIMEOUT = 3 * INTERVAL + 5  # the next check after the injection, with room for a loaded machine
IN_SYNC_REASON = "would change nothing"
FILES_DIFFER = "the files on the host differ from what the database renders to"


@pytest.fixture
def hosts_portal(portals, new_db, lab, lab_b):
    return portals.start(new_db(), server_env=L.hosts_server_env(
        {"a": lab, "b": lab_b}, PBX_DRIFT_CHECK_INTERVAL_S=INTERVAL, PBX_ASTERISK_CONNECT_TIMEOUT_S=2))


def preview(portal) -> dict:
    r = portal.client.post("/apply:preview", {})
    assert r.status == 200, f"POST /apply:preview -> {r!r}\n{portal.server.proc.stderr_tail()}"
    p = r.json
    assert [x["name"] for x in p["hosts"]] == ["a", "b"], p
    return p


def drift(portal) -> dict:
    r = portal.client.get("/apply/drift")
    assert r.status == 200, f"GET /apply/drift -> {r!r}\n{portal.server.proc.stderr_tail()}"
    d = r.json
    assert [x["name"] for x in d["hosts"]] == ["a", "b"], d
    # The top level is every host's: counts summed, in sync only when every host is.
    for kind, n in d["counts"].items():
        assert n == sum(x["counts"][kind] for x in d["hosts"]), (kind, d)
    assert d["in_sync"] is all(x["in_sync"] for x in d["hosts"]), d
    return d


def findings(d: dict) -> list[tuple[str, str, str]]:
    return [(f["kind"].removeprefix("DRIFT_KIND_"), f["subject"], f["host"]) for f in d["findings"]]


def wait_host_gauges(portal, since: float, want: dict[str, tuple[float, float, dict[str, float]]]):
    """Wait until /metrics publishes a check that ran after SINCE in which each host of WANT has (in_sync, success,
    {kind: findings})."""
    seen = []

    def ok():
        s = scrape(portal.server_metrics_url)
        checked = s.value("pbx_drift_check_timestamp_seconds")
        got = {name: (s.value("pbx_asterisk_in_sync", host=name), s.value("pbx_drift_check_success", host=name),
                      {k: s.value("pbx_drift_findings", host=name, kind=k) for k in kinds})
               for name, (_, _, kinds) in want.items()}
        seen.append((checked, got))
        return checked is not None and checked >= since and got == want
    try:
        h.wait_until(ok, GAUGE_TIMEOUT, 0.1, f"drift gauges per host {want}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last scrape: {seen[-1] if seen else None}") from None


def write_in_place(path, data: bytes):
    """Replace PATH's content, keeping its inode, owner, group and mode."""
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate()


def test_a_file_edited_on_one_host_is_that_hosts_alone(hosts_portal, lab, lab_b):
    made = L.create_users(hosts_portal, 2, "Views")
    apply_both_ok(hosts_portal)
    first = min(m["sip_credentials"]["extension"] for m in made)
    original = lab_b.pjsip_file.read_bytes()
    since = time.time()
    # The first endpoint's context, on b only (Asterisk is not reloaded: the live objects stay the same).
    write_in_place(lab_b.pjsip_file, original.replace(b"context=synergy-internal", b"context=default", 1))
    try:
        p = preview(hosts_portal)
        a, b = p["hosts"]
        assert a["would_write"] is False and a["would_reload"] is False and IN_SYNC_REASON in a["reason"], a
        assert a["changed_extensions"] == [] and a["error_detail"] == "", a
        assert b["would_write"] is True and b["would_reload"] is True and b["reason"] == FILES_DIFFER, b
        assert b["changed_extensions"] == [{"extension": first, "aspects": ["endpoint options changed"]}], b
        assert b["address"].endswith(f":{lab_b.ssh_port}") and a["address"].endswith(f":{lab.ssh_port}"), p
        assert [f["differs"] for f in b["files"]] == [True, False], b["files"]
        assert b["files"][0]["host_sha256"] == L.sha256_file(lab_b.pjsip_file), b["files"]
        # Over both hosts: b's change; the pjsip file differs (the hosts disagree: no host hash), the dialplan
        # is the same on both.
        assert p["would_write"] is True and p["would_reload"] is True, p
        assert p["changed_extensions"] == b["changed_extensions"], p
        assert p["added_extensions"] == [] and p["removed_extensions"] == [], p
        assert p["reason"] == f"b: {FILES_DIFFER}; a: in sync", p["reason"]
        pjsip, dialplan = p["files"]
        assert pjsip["differs"] is True and pjsip["host_sha256"] == "" and pjsip["exists_on_host"] is False, pjsip
        assert dialplan["differs"] is False and dialplan["host_sha256"] == L.sha256_file(lab.dialplan_file), dialplan

        d = drift(hosts_portal)
        assert findings(d) == [("FILE_CHANGED", L.PJSIP_PATH, "b")], d["findings"]
        a, b = d["hosts"]
        assert a["in_sync"] is True and a["findings"] == [] and a["error_detail"] == "", a
        assert b["in_sync"] is False and b["counts"]["FILE_CHANGED"] == 1 and b["error_detail"] == "", b
        assert d["in_sync"] is False and d["counts"]["FILE_CHANGED"] == 1, d
        assert d["asterisk_host"] == f"a={a['address']},b={b['address']}", d["asterisk_host"]

        # The background check publishes b out of sync and a in sync.
        wait_host_gauges(hosts_portal, since, {"a": (1.0, 1.0, {"FILE_CHANGED": 0.0}),
                                               "b": (0.0, 1.0, {"FILE_CHANGED": 1.0, "HOST_UNREACHABLE": 0.0})})
    finally:
        write_in_place(lab_b.pjsip_file, original)
    since = time.time()
    assert drift(hosts_portal)["in_sync"] is True
    wait_host_gauges(hosts_portal, since, {"a": (1.0, 1.0, {"FILE_CHANGED": 0.0}),
                                           "b": (1.0, 1.0, {"FILE_CHANGED": 0.0})})


def assert_b_unreadable(portal, since: float, reason: str | None = None):
    """Preview and drift answer 200, naming b's error beside a's answer; the gauges say b is unreachable."""
    p = preview(portal)
    a, b = p["hosts"]
    assert b["error_detail"] and b["would_write"] is True and b["would_reload"] is True, b
    assert reason is None or reason in b["error_detail"], b
    assert a["error_detail"] == "" and a["would_write"] is False, a
    assert p["would_write"] is True and p["reason"].startswith("b: the host could not be read ("), p["reason"]
    assert p["reason"].endswith("; a: in sync"), p["reason"]

    d = drift(portal)
    assert findings(d) == [("HOST_UNREACHABLE", "b", "b")], d["findings"]
    assert d["findings"][0]["detail"] == d["hosts"][1]["error_detail"] != "", d
    assert reason is None or reason in d["findings"][0]["detail"], d
    assert d["hosts"][0]["in_sync"] is True and d["hosts"][1]["in_sync"] is False, d
    assert d["counts"]["HOST_UNREACHABLE"] == 1 and d["in_sync"] is False, d

    wait_host_gauges(portal, since, {"a": (1.0, 1.0, {"HOST_UNREACHABLE": 0.0}),
                                     "b": (0.0, 0.0, {"HOST_UNREACHABLE": 1.0, "FILE_CHANGED": 0.0})})


def test_a_host_that_cannot_be_read_is_named_and_the_other_still_read(hosts_portal, lab, lab_b):
    L.create_users(hosts_portal, 1, "Views")
    apply_both_ok(hosts_portal)
    with lab_b.asterisk_stopped():
        assert_b_unreadable(hosts_portal, time.time(), "Asterisk is not running on its host")
    with lab_b.sshd_stopped():
        assert_b_unreadable(hosts_portal, time.time())
        # Both hosts out of reach alike: the error, as with one host.
        with lab.sshd_stopped():
            h.assert_error(hosts_portal.client.post("/apply:preview", {}), 503, h.UNAVAILABLE)
            h.assert_error(hosts_portal.client.get("/apply/drift"), 503, h.UNAVAILABLE)
