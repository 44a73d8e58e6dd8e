"""Apply with 100 and with 1000 users (SC-005): succeeds, verifies against the live Asterisk, and reports how long
the Apply took (the audit's duration_ms) as a benchmark figure. Timing is printed, never asserted."""

from __future__ import annotations

import time

import pytest

import harness as h
import lab as L


def benchmark(capsys, label: str, audit: dict, wall_s: float):
    line = (f"BENCHMARK apply {label}: duration_ms={audit['duration_ms']} (audit), "
            f"wall={wall_s * 1000:.0f} ms (POST /apply round trip), user_count={audit['user_count']}")
    h.LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(h.LOG_DIR / "apply-benchmark.txt", "a") as f:
        f.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + line + "\n")
    with capsys.disabled():
        print("\n" + line)


def apply_n(portal, lab, capsys, n: int):
    L.create_users(portal, n, f"Scale{n}", workers=16)
    log_offset = lab.messages_log_size()
    t0 = time.monotonic()
    r = L.apply(portal, timeout=300)
    wall = time.monotonic() - t0
    assert r.status == 200, f"{r!r}\n{portal.server.proc.stderr_tail()}"
    audit = r.json["audit"]
    assert audit["outcome"] == "APPLY_OUTCOME_SUCCESS" and audit["user_count"] == n, audit
    assert audit["verification"].startswith(f"ok: {n} endpoints, {n} aors, {n} auths, {n} "), audit["verification"]
    assert not lab.config_errors_since(log_offset), "Asterisk complained about the generated files"
    exts = list(range(1000, 1000 + n))
    assert L.extensions_of(portal) == exts
    lab.assert_live(exts, f"{n} users")
    pjsip, dialplan = (x.decode() for x in lab.files())
    assert pjsip.count("type=endpoint") == n and dialplan.count("exten => ") == n
    benchmark(capsys, f"{n} users", audit, wall)


def test_apply_100_users(apply_portal, lab, capsys):
    apply_n(apply_portal, lab, capsys, 100)


@pytest.mark.slow
def test_apply_1000_users(apply_portal, lab, capsys):
    apply_n(apply_portal, lab, capsys, 1000)
