"""Drift detection (issue 12, item 2) on the real Asterisk 22 lab: GET /apply/drift and the background check.

Each kind of drift is injected on the lab by hand, as an administrator (or an accident) would: a generated file
edited, a generated file deleted, a hand-made file with a stray 1500 endpoint, Asterisk restarted with older files,
a user created without an Apply. GET /apply/drift names it at once; the background check (every
PBX_DRIFT_CHECK_INTERVAL_S = 1 s here) turns pbx_asterisk_in_sync to 0 and the kind's pbx_drift_findings gauge up
within a few intervals and logs a warning; a forced Apply repairs it and both say "in sync" again. Everything
injected is undone (the lab is shared by the whole suite).
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import time

import pytest

import harness as h
import lab as L
from test_metrics import scrape

# Waits for background drift checks and restarts Asterisk (~25 s): left out of the sanitizer rerun, which runs
# the drift code in its unit tests (drift_test, apply_inspection_test, drift_monitor_test) under the sanitizers.
pytestmark = pytest.mark.slow

INTERVAL = 1  # PBX_DRIFT_CHECK_INTERVAL_S of this module's portals
GAUGE_TIMEOUT = 3 * INTERVAL + 2  # the next check after the injection, with room for a loaded machine
KINDS = ("FILE_CHANGED", "FILE_MISSING", "ENDPOINT_MISSING", "AOR_MISSING", "AUTH_MISSING", "DIALPLAN_MISSING",
         "UNEXPECTED_OBJECT", "PENDING_CHANGES", "HOST_UNREACHABLE")
DRIFT_KEYS = {"in_sync", "findings", "counts", "pending_changes", "checked_at", "asterisk_host", "hosts"}
HOST = "asterisk"  # the one host's name (the single-host variables)
DRIFTED = "the PBX drifted from what the portal holds: see GET /apply/drift"
BACK_IN_SYNC = "the PBX is back in sync"
NOT_RUN = "the drift check could not run"
HANDMADE = "handmade.conf"
STRAY_1500 = """; made by hand, not by the portal
[1500]
type=endpoint
context=synergy-internal
disallow=all
allow=ulaw
aors=1500

[1500]
type=aor
max_contacts=1
"""


# --------------------------------------------------------------------------- helpers

def drift(client: h.Client) -> dict:
    """GET /apply/drift, checked for its shape and its internal consistency."""
    r = client.get("/apply/drift")
    assert r.status == 200, f"GET /apply/drift -> {r!r}"
    d = r.json
    assert isinstance(d, dict) and set(d) == DRIFT_KEYS, f"drift fields: {r!r}"
    kinds = [f["kind"].removeprefix("DRIFT_KIND_") for f in d["findings"]]
    assert d["counts"] == {k: kinds.count(k) for k in KINDS}, f"counts do not count the findings: {d!r}"
    assert kinds == sorted(kinds, key=KINDS.index), f"findings not grouped in the kinds' order: {kinds}"
    assert d["in_sync"] is (not kinds), d
    assert all(f["subject"] and f["detail"] for f in d["findings"]), d
    assert (d["pending_changes"] is None) is ("PENDING_CHANGES" not in kinds), d
    checked = datetime.datetime.fromisoformat(d["checked_at"].replace("Z", "+00:00")).timestamp()
    assert abs(checked - time.time()) < 30, f"checked_at {d['checked_at']} is not now"
    return d


def findings(d: dict) -> list[tuple[str, str]]:
    return [(f["kind"].removeprefix("DRIFT_KIND_"), f["subject"]) for f in d["findings"]]


def gauges(portal) -> dict:
    s = scrape(portal.server_metrics_url)
    return {"in_sync": s.value("pbx_asterisk_in_sync", host=HOST),
            "success": s.value("pbx_drift_check_success", host=HOST),
            "checked_at": s.value("pbx_drift_check_timestamp_seconds"),
            "findings": {k: s.value("pbx_drift_findings", host=HOST, kind=k) for k in KINDS}}


def wait_gauges(portal, counts: dict, since: float, timeout: float = GAUGE_TIMEOUT) -> float:
    """Wait until the portal's /metrics publishes a completed check that ran after SINCE (wall clock) with these
    finding counts (every other kind 0) and pbx_asterisk_in_sync accordingly; returns how long that took."""
    want = {k: float(counts.get(k, 0)) for k in KINDS}
    in_sync = 0.0 if any(want.values()) else 1.0
    t0 = time.monotonic()
    seen = []

    def ok():
        g = gauges(portal)
        seen.append(g)
        return (g["success"] == 1 and g["checked_at"] is not None and g["checked_at"] >= since
                and g["in_sync"] == in_sync and g["findings"] == want)
    try:
        h.wait_until(ok, timeout, 0.1, f"pbx_asterisk_in_sync {in_sync:.0f} and pbx_drift_findings {counts}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last scrape: {seen[-1] if seen else None}") from None
    return time.monotonic() - t0


def log_size(portal) -> int:
    return portal.server.proc.stderr_path.stat().st_size


def log_lines(portal, offset: int) -> list[dict]:
    with open(portal.server.proc.stderr_path, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", errors="replace")
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def wait_log(portal, offset: int, msg: str, timeout: float = 3) -> dict:
    """The first log line MSG written since OFFSET."""
    def found():
        return next((ln for ln in log_lines(portal, offset) if ln.get("msg") == msg), None)
    return h.wait_until(found, timeout, 0.05, f"a {msg!r} log line")


class Mark:
    """The moment before an injection: wall clock (for checked_at) and the server log's size."""

    def __init__(self, portal):
        self.at = time.time()
        self.log = log_size(portal)


def assert_found(portal, mark: Mark, want: list[tuple[str, str]], pending: dict | None = None) -> dict:
    """GET /apply/drift lists exactly WANT; the background check publishes the same counts within a few intervals
    and logs the drift warning (assert_warning_named checks what the warning says)."""
    d = drift(portal.client)
    assert findings(d) == want, f"GET /apply/drift findings: want {want}, got {d['findings']}"
    assert d["pending_changes"] == pending, d
    counts = dict(collections.Counter(k for k, _ in want))
    took = wait_gauges(portal, counts, mark.at)
    print(f"DRIFT background check published {counts} {took:.2f}s after GET /apply/drift")
    line = wait_log(portal, mark.log, DRIFTED)
    assert line["level"] == "warning" and line["in_sync"] == "false" and line["checked_by"], line
    return d


def assert_warning_named(portal, mark: Mark, want: list[tuple[str, str]]):
    """The drift warnings logged since MARK include one whose findings field names WANT's counts ("KIND=n ...").
    (Checked at the end of a test, after the repair, so that the rest is checked whatever the log says.)"""
    counts = {k: str(n) for k, n in collections.Counter(k for k, _ in want).items()}
    warnings = [ln for ln in log_lines(portal, mark.log) if ln.get("msg") == DRIFTED]
    named = [dict(t.split("=", 1) for t in ln.get("findings", "").split() if "=" in t) for ln in warnings]
    assert counts in named, (f"no drift warning names the findings {counts}; the warnings' findings fields: "
                             f"{[ln.get('findings') for ln in warnings]!r}")


def assert_repaired_by_force(portal, lab, mark: Mark):
    """A forced Apply repairs the drift: GET /apply/drift in sync, the gauges back to 1 / 0, 'back in sync' logged."""
    r = L.apply(portal, body={"force": True, "note": "drift repair"})
    assert r.status == 200, f"forced Apply: {r!r}\n{portal.server.proc.stderr_tail()}"
    audit = r.json["audit"]
    assert audit["changed"] is True and audit["forced"] is True and audit["verification"].startswith("ok"), audit
    after = time.time()
    d = drift(portal.client)
    assert d["in_sync"] is True and d["findings"] == [], d
    wait_gauges(portal, {}, after)
    wait_log(portal, mark.log, BACK_IN_SYNC)
    lab.assert_file_modes()
    lab.assert_live(L.extensions_of(portal), "after the repair")
    assert not lab.stray_files(), lab.stray_files()


def write_in_place(path, data: bytes):
    """Replace PATH's content as root, keeping its inode, owner, group and mode."""
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate()


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def portal(module_portals, lab_session):
    return module_portals.start(server_env=lab_session.server_env(PBX_DRIFT_CHECK_INTERVAL_S=INTERVAL))


@pytest.fixture(scope="module")
def users(portal):
    return sorted(m["user"]["extension"] for m in L.create_users(portal, 2, "Drift"))


def undo_injections(portal, lab):
    """Whatever a test left behind (it failed half-way): no hand-made file, Asterisk running, the portal's files
    applied and loaded."""
    handmade = lab.pjsip_dir / HANDMADE
    if handmade.exists():
        handmade.unlink()
        if lab.answers():
            lab.cli("pjsip reload")
    if not lab.answers():
        lab.up()
    if not drift(portal.client)["in_sync"]:
        L.apply(portal, body={"force": True, "note": "drift test cleanup"})


@pytest.fixture
def synced(portal, users, lab):
    """The lab holds this module's users, GET /apply/drift and the gauges say in sync; undone injections after."""
    undo_injections(portal, lab)
    L.apply_ok(portal)
    d = drift(portal.client)
    assert d["in_sync"] is True, f"not in sync after an Apply: {d!r}"
    # Published "in sync" (by the previous test's repair already, or by the first checks), so that the injection
    # is a change of state the background check logs.
    wait_gauges(portal, {}, since=0)
    try:
        yield
    finally:
        undo_injections(portal, lab)


# --------------------------------------------------------------------------- tests

def test_in_sync_after_an_apply(portal, synced, lab):
    d = drift(portal.client)
    assert d["in_sync"] is True and d["findings"] == [] and d["pending_changes"] is None, d
    assert d["counts"] == {k: 0 for k in KINDS}, d
    assert d["asterisk_host"] == f"ssh://{lab.ssh_user}@{lab.ssh_host}:{lab.ssh_port}", d
    viewer, _ = h.create_api_key(portal.client, "drift-viewer", "viewer")
    assert drift(viewer)["in_sync"] is True
    # The background check keeps running: the published timestamp moves on.
    first = gauges(portal)
    assert first["in_sync"] == 1 and first["success"] == 1, first
    h.wait_until(lambda: gauges(portal)["checked_at"] > first["checked_at"], GAUGE_TIMEOUT, 0.1,
                 "a newer background drift check")


def test_a_generated_file_edited_by_hand_is_file_changed(portal, synced, lab):
    applied = L.audit_log(portal, 1)[0]
    mark = Mark(portal)
    text = lab.pjsip_file.read_text()
    write_in_place(lab.pjsip_file, (text.replace("context=synergy-internal", "context=default", 1)
                                    + "; tweaked by hand\n").encode())
    on_disk = L.sha256_file(lab.pjsip_file)

    d = assert_found(portal, mark, [("FILE_CHANGED", L.PJSIP_PATH)])
    detail = d["findings"][0]["detail"]
    applied_sha = {f["path"]: f["sha256"] for f in applied["files"]}[L.PJSIP_PATH]
    assert on_disk in detail and applied_sha in detail, detail
    # The preview agrees: only the pjsip file differs, an Apply would rewrite it.
    p = portal.client.post("/apply:preview", {}).json
    assert [f["differs"] for f in p["files"]] == [True, False] and p["would_write"] is True, p

    assert_repaired_by_force(portal, lab, mark)
    assert "context=default" not in lab.pjsip_file.read_text()
    assert_warning_named(portal, mark, findings(d))


def test_a_deleted_generated_file_is_file_missing(portal, synced, lab):
    mark = Mark(portal)
    lab.dialplan_file.unlink()

    d = assert_found(portal, mark, [("FILE_MISSING", L.DIALPLAN_PATH)])
    p = portal.client.post("/apply:preview", {}).json
    dialplan = p["files"][1]
    assert dialplan["path"] == L.DIALPLAN_PATH and dialplan["exists_on_host"] is False \
        and dialplan["host_sha256"] == "" and dialplan["differs"] is True, p
    assert p["files"][0]["differs"] is False and p["would_write"] is True, p

    assert_repaired_by_force(portal, lab, mark)
    assert lab.dialplan_file.exists()
    assert_warning_named(portal, mark, findings(d))


def test_a_hand_made_file_with_a_stray_endpoint_is_unexpected_object(portal, synced, lab):
    mark = Mark(portal)
    handmade = lab.pjsip_dir / HANDMADE
    handmade.write_text(STRAY_1500)
    os.chown(handmade, 0, lab.asterisk_gid())
    handmade.chmod(0o640)
    lab.cli("pjsip reload")
    assert "1500" in lab.endpoints() and "1500" in lab.aors(), "Asterisk did not load the hand-made file"

    d = assert_found(portal, mark, [("UNEXPECTED_OBJECT", "endpoint 1500"), ("UNEXPECTED_OBJECT", "aor 1500")])

    handmade.unlink()
    assert_repaired_by_force(portal, lab, mark)
    assert "1500" not in lab.endpoints() and "1500" not in lab.aors()
    assert_warning_named(portal, mark, findings(d))


def test_asterisk_restarted_with_older_files_misses_objects(portal, synced, lab):
    old_files, old_extensions = lab.files(), L.extensions_of(portal)  # as applied
    newcomer = L.create_user(portal, "Drift Newcomer", h.unique_email("drift-newcomer"))["user"]["extension"]
    L.apply_ok(portal)
    new_files = lab.files()
    lab.assert_live(L.extensions_of(portal))

    mark = Mark(portal)
    write_in_place(lab.pjsip_file, old_files[0])
    write_in_place(lab.dialplan_file, old_files[1])
    lab.stop_asterisk()
    lab.up()
    lab.cli("core waitfullybooted", timeout=60)  # the CLI answers before the modules have read their files
    lab.assert_live(old_extensions, "Asterisk restarted with the older files")
    write_in_place(lab.pjsip_file, new_files[0])
    write_in_place(lab.dialplan_file, new_files[1])
    assert lab.files() == new_files

    n = str(newcomer)
    d = assert_found(portal, mark, [("ENDPOINT_MISSING", f"endpoint {n}"), ("AOR_MISSING", f"aor {n}"),
                                    ("AUTH_MISSING", f"auth {n}-auth"), ("DIALPLAN_MISSING", f"dialplan {n}")])

    assert_repaired_by_force(portal, lab, mark)
    assert n in lab.endpoints()
    assert_warning_named(portal, mark, findings(d))


def test_a_user_created_without_an_apply_is_pending_changes(portal, synced, lab):
    mark = Mark(portal)
    L.create_user(portal, "Drift Pending", h.unique_email("drift-pending"))

    d = assert_found(portal, mark, [("PENDING_CHANGES", "database")], pending={"added": 1, "removed": 0, "changed": 0})

    audit = L.apply_ok(portal)  # a plain Apply writes the pending change
    assert audit["changed"] is True, audit
    after = time.time()
    assert drift(portal.client)["in_sync"] is True
    wait_gauges(portal, {}, after)
    wait_log(portal, mark.log, BACK_IN_SYNC)
    assert_warning_named(portal, mark, findings(d))


def test_one_process_checks_per_interval_and_every_process_publishes(module_portals, lab_session, pg, lab):
    """Two servers on one database: the checks (recorded by a trigger on drift_check) come one per interval, never
    two closer than the claim allows, and each server's /metrics publishes the checks stored, whoever ran them."""
    url = module_portals.new_db("drift_two")
    env = lab_session.server_env(PBX_DRIFT_CHECK_INTERVAL_S=INTERVAL)
    a = module_portals.start(url, wait=False, server_env=env)
    b = module_portals.start(url, wait=False, server_env=env)
    a.wait_healthy()
    b.wait_healthy()
    db = url.rsplit("/", 1)[1]
    pg.psql(db, """
        CREATE TABLE e2e_drift_log (what text NOT NULL, at timestamptz NOT NULL, by text NOT NULL);
        CREATE FUNCTION e2e_drift_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.claimed_at IS DISTINCT FROM OLD.claimed_at THEN
            INSERT INTO e2e_drift_log VALUES ('claim', NEW.claimed_at, NEW.claimed_by);
          END IF;
          IF NEW.checked_at IS DISTINCT FROM OLD.checked_at THEN
            INSERT INTO e2e_drift_log VALUES ('check', NEW.checked_at, NEW.checked_by);
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER e2e_drift_log AFTER UPDATE ON drift_check FOR EACH ROW EXECUTE FUNCTION e2e_drift_log();
    """)
    installed = time.time()
    window = 3 * INTERVAL
    samples: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}  # (scraped at, published checked_at)
    while time.time() < installed + window:
        for name, p in (("a", a), ("b", b)):
            v = gauges(p)["checked_at"]
            if v is not None and v > installed:
                samples[name].append((time.time(), v))
        time.sleep(0.05)
    rows = [ln.split("|") for ln in pg.psql(db, "SELECT what, extract(epoch FROM at), by FROM e2e_drift_log "
                                                 "ORDER BY at").split()]
    claims = [float(at) for what, at, _ in rows if what == "claim"]
    checks = [float(at) for what, at, _ in rows if what == "check"]
    gaps = [round(y - x, 3) for x, y in zip(claims, claims[1:])]
    assert len(claims) >= window / INTERVAL - 1, f"too few drift checks in {window}s: {rows}"
    assert all(g >= 0.8 * INTERVAL - 0.01 for g in gaps), f"two checks within one interval: gaps {gaps} ({rows})"
    assert len(claims) <= window / (0.8 * INTERVAL) + 1, f"more than one check per interval: {rows}"
    for i, c in enumerate(claims):  # each claim: one check recorded before the next claim (the last may still run)
        n = sum(c < x < (claims[i + 1] if i + 1 < len(claims) else float("inf")) for x in checks)
        assert n == 1 or (n == 0 and i == len(claims) - 1), f"claim {i} recorded {n} checks: {rows}"

    # Both servers publish what the database holds and keep it fresh. (A server publishes at its own tick, so while
    # the other one checks it may show the check before: about two intervals old.)
    for name, seen in samples.items():
        assert seen, f"server {name} published no check in {window}s"
        for scraped, v in seen:
            assert any(abs(v - c) < 1e-3 for c in checks), f"server {name} published {v}, not a check: {rows}"
            assert scraped - v <= 3 * INTERVAL + 0.5, f"server {name} published a check {scraped - v:.2f}s old"


def test_an_unreachable_host_is_503_and_the_check_reports_it(module_portals, lab_session, lab):
    cut_off = module_portals.start(server_env=lab_session.server_env(
        PBX_ASTERISK_SSH_PORT=h.free_port(), PBX_ASTERISK_CONNECT_TIMEOUT_S=2, PBX_DRIFT_CHECK_INTERVAL_S=INTERVAL))
    h.assert_error(cut_off.client.get("/apply/drift"), 503, h.UNAVAILABLE)
    h.wait_until(lambda: gauges(cut_off)["success"] == 0, GAUGE_TIMEOUT, 0.1, "pbx_drift_check_success 0")
    g = gauges(cut_off)
    assert g["in_sync"] == 0 and g["findings"] == {k: float(k == "HOST_UNREACHABLE") for k in KINDS}, g
    line = wait_log(cut_off, 0, NOT_RUN)
    assert line["level"] == "warning" and line["error"], line
