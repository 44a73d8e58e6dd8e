#!/usr/bin/env python3
"""Writes docs/reliability.md from what tests/reliability/report collected (standard library only).

Inputs:
  build/reliability/*.json            one per reliability test (envelope "pbx-reliability/1": test, mode, seed,
                                      outcome, error, started_at, duration_s, violations, figures)
  build/reliability/report-run.json   written by tests/reliability/report: mode, steps [{name, command, rc,
                                      duration_s, log}], started_at
  the step logs it names              tests/fuzz/run's "fuzz_<name>: ok|FAILED, N execs (R/s) in S s, cov C, ..."
                                      lines; tests/sanitize/run's "N passed, M failed" and "sanitizer reports: K";
                                      pytest's summary line

Any of them may be missing (a step not run, a test that died before writing its JSON): that part says "not run".

  python3 tests/reliability/render.py [--out docs/reliability.md] [--dir build/reliability]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

NOT_RUN = "not run"


# --------------------------------------------------------------------------- helpers

def load(d: Path, name: str) -> dict | None:
    p = d / name
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def fig(doc: dict | None) -> dict:
    """The test-specific figures of a JSON document (the envelope's "figures", or the document itself)."""
    if not doc:
        return {}
    return doc.get("figures", doc) if isinstance(doc.get("figures"), dict) else doc


def fmt(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        s = f"{v:.{digits}f}"
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        return s or "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt(x, digits) for x in v) if v else "–"
    return str(v)


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        out.append("| " + " | ".join(fmt(c).replace("|", "\\|").replace("\n", " ") for c in r) + " |")
    return "\n".join(out)


def outcome(doc: dict | None) -> str:
    if not doc:
        return NOT_RUN
    o = doc.get("outcome") or "?"
    mode = doc.get("mode")
    return f"{o} ({mode})" if mode else o


def read(path: str | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def rel(text) -> str:
    """Paths inside the repository without the repository's own location."""
    return str(text or "").replace(str(REPO) + "/", "")


def failed_tests(text: str) -> list[str]:
    """pytest's "FAILED path::test - reason" / "ERROR ..." summary lines."""
    return sorted({ln.strip() for ln in text.splitlines() if re.match(r"^(FAILED|ERROR) tests/", ln.strip())})


def sh(*argv) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# --------------------------------------------------------------------------- step logs

FUZZ_LINE = re.compile(
    r"^(?P<h>fuzz_[a-z_]+): (?P<verdict>ok|FAILED), (?P<execs>\S+) execs \((?P<rate>\S+)/s\) in (?P<secs>\S+) s, "
    r"cov (?P<cov>\S+), ft (?P<ft>\S+), corpus (?P<corp>\S+) \(\+(?P<new>\S+) new\), peak rss (?P<rss>\S+) MB",
    re.M)


def libfuzzer_results(text: str) -> list[dict]:
    return [m.groupdict() for m in FUZZ_LINE.finditer(text)]


def summary_counts(text: str) -> tuple[int, int] | None:
    """The last "N passed, M failed" line of a tests/run-style script."""
    m = None
    for m in re.finditer(r"^(?:\S+: )?(\d+) passed, (\d+) failed\s*$", text, re.M):
        pass
    return (int(m.group(1)), int(m.group(2))) if m else None


def pytest_summary(text: str) -> str | None:
    lines = [ln.strip("= ").strip() for ln in text.splitlines()
             if re.search(r"\d+ (passed|failed|skipped|errors?)\b.* in [\d.]+s", ln) or "no tests ran" in ln]
    return lines[-1] if lines else None


# --------------------------------------------------------------------------- sections

def section_header(run: dict | None, docs: dict) -> list[str]:
    commit = sh("git", "rev-parse", "--short=12", "HEAD") or "?"
    subject = sh("git", "log", "-1", "--format=%s") or ""
    dirty = sh("git", "status", "--porcelain", "--untracked-files=no")
    mode = (run or {}).get("mode")
    if not mode:
        modes = {d.get("mode") for d in docs.values() if d and d.get("mode")}
        mode = "/".join(sorted(modes)) if modes else "?"
    when = (run or {}).get("finished_at") or datetime.now(timezone.utc).isoformat(timespec="seconds")
    total = (run or {}).get("duration_s")
    cmd = "tests/reliability/report" + (" --quick" if mode == "quick" else "")
    lines = [
        "# Reliability report",
        "",
        f"Generated by `{cmd}` (do not edit by hand: rerun it). "
        + {"quick": "**Quick run**: the short versions of every check (as in `tests/run`), to check the report "
                    "itself; `tests/reliability/report` without `--quick` runs the long versions.",
           "long": "The long versions of every check."}.get(mode, f"Mode: {mode}."),
        "",
        table(["", ""], [
            ["Date (UTC)", when],
            ["Git commit", f"{commit} {subject}" + (" (with uncommitted changes)" if dirty else "")],
            ["Machine", f"{os.cpu_count()} CPUs ({cpu_model()}), {mem_total()} memory, "
                        f"{platform.system()} {platform.release()}"],
            ["Python", platform.python_version()],
            ["Total time", f"{fmt(total, 0)} s" if total is not None else "?"],
        ]),
        "",
    ]
    return lines


def section_steps(run: dict | None) -> list[str]:
    if not run or not run.get("steps"):
        return []
    rows = [[s.get("name"), f"`{rel(s.get('command'))}`", "ok" if s.get("rc") == 0 else f"exit {s.get('rc')}",
             fmt(s.get("duration_s"), 0)] for s in run["steps"]]
    return ["## What ran", "", table(["step", "command", "result", "seconds"], rows), "",
            "Logs: `build/reliability/logs/`; figures: `build/reliability/*.json`.", ""]


def section_summary(docs: dict, fuzz_lines: list[dict], sanitize: dict) -> list[str]:
    fz = fig(docs.get("fuzz_api"))
    soak = fig(docs.get("soak"))
    crash = fig(docs.get("crash"))
    db = fig(docs.get("db_outage"))
    cut = fig(docs.get("host_cut"))
    stop = fig(docs.get("asterisk_stopped"))
    sec = fig(docs.get("secrets"))
    pw = fig(docs.get("passwords"))
    fo = fig(docs.get("pg_failover"))
    rows = [
        ["API fuzzing (schemathesis)", outcome(docs.get("fuzz_api")),
         f"{fmt(fz.get('requests_total'))} requests, {fmt(fz.get('failures_distinct'))} distinct failures"
         if fz else NOT_RUN],
        ["libFuzzer (server input handling)",
         (("ok" if all(x["verdict"] == "ok" for x in fuzz_lines) else "FAILED")
          + f" ({fuzz_lines[0]['secs']} s per harness)") if fuzz_lines else NOT_RUN,
         ", ".join(f"{x['h']} {x['execs']} execs" for x in fuzz_lines) if fuzz_lines else NOT_RUN],
        ["Crash consistency (SIGKILL at failpoints)", outcome(docs.get("crash")),
         f"{fmt(crash.get('kills_performed'))} kills at {len(crash.get('failpoints') or [])} failpoints"
         if crash else NOT_RUN],
        ["PostgreSQL outage under load", outcome(docs.get("db_outage")),
         f"{fmt(db.get('created_201'))} creates kept, {fmt(db.get('http_503'))} 503s, "
         f"{fmt(db.get('lost_creates'))} lost" if db else NOT_RUN],
        ["PostgreSQL failover (standby promoted) under load", outcome(docs.get("pg_failover")),
         f"{fmt(fo.get('failovers'))} failovers, {fmt(fo.get('created_201'))} creates kept, "
         f"{fmt(fo.get('lost_creates'))} lost, slowest recovery {fmt(max(fo.get('recovery_s') or [0]))} s"
         if fo else NOT_RUN],
        ["Asterisk host cut during Applies", outcome(docs.get("host_cut")),
         f"{fmt(cut.get('applies_sent'))} Applies, {fmt(cut.get('applies_failed'))} failed, all audited: "
         f"{fmt(cut.get('all_failures_audited'))}" if cut else NOT_RUN],
        ["Asterisk stopped during Applies", outcome(docs.get("asterisk_stopped")),
         f"{fmt(stop.get('applies_sent'))} Applies, {fmt(stop.get('applies_failed'))} failed, all audited: "
         f"{fmt(stop.get('all_failures_audited'))}" if stop else NOT_RUN],
        ["Soak (mixed load, memory)", outcome(docs.get("soak")),
         f"{fmt(soak.get('requests_total'))} requests, {fmt(soak.get('unexpected_errors'))} unexpected errors"
         if soak else NOT_RUN],
        ["Secrets never logged", outcome(docs.get("secrets")),
         f"{fmt(sec.get('sip_passwords_checked'))} passwords searched in {fmt(sec.get('bytes_scanned'))} bytes, "
         f"{len(sec.get('hits') or [])} hits" if sec else NOT_RUN],
        ["SIP passwords unique and uniform", outcome(docs.get("passwords")),
         f"{fmt(pw.get('passwords'))} passwords, {fmt(pw.get('unique'))} unique, chi² {fmt(pw.get('chi_square'))}"
         if pw else NOT_RUN],
        ["Sanitizers (ASan, UBSan, LSan)", sanitize.get("result", NOT_RUN), sanitize.get("detail", NOT_RUN)],
    ]
    return ["## Summary", "", table(["check", "result", "figures"], rows), ""]


def section_fuzz_api(doc: dict | None) -> list[str]:
    out = ["## API fuzzing", "",
           "[schemathesis](https://schemathesis.readthedocs.io/) generates requests from the `/openapi.json` the "
           "real gateway serves and sends them to a real portal (server, gateway, PostgreSQL) whose server applies "
           "to the Asterisk lab, so `POST /apply` really writes, reloads and verifies. Every operation gets positive "
           "cases (valid per the document), negative ones (invalid per the document) and, for the bodies, "
           "well-formed ones that also follow the rules the document cannot state; ids of existing users are mixed "
           "in. Every response must pass `not_a_server_error` (no 5xx), `status_code_conformance`, "
           "`content_type_conformance` and `response_schema_conformance`. "
           "Test: `tests/e2e/test_reliability_fuzz_api.py`.", ""]
    if not doc:
        return out + [f"_{NOT_RUN}._", ""]
    f = fig(doc)
    out += [f"Result: **{outcome(doc)}**; seed {doc.get('seed')}; schemathesis {f.get('schemathesis_version')}; "
            f"{fmt(f.get('requests_total'))} requests in {fmt(doc.get('duration_s'), 0)} s; "
            f"{fmt(f.get('failures_distinct'))} distinct failures ({fmt(f.get('failures_total'))} requests).", ""]
    rows = []
    for op, n in (f.get("requests_per_operation") or {}).items():
        modes = f.get("requests_per_operation_and_mode", {}).get(op, {})
        sts = f.get("statuses_per_operation", {}).get(op, {})
        rows.append([f"`{op}`", n, " ".join(f"{m} {c}" for m, c in modes.items()),
                     " ".join(f"{s}×{c}" for s, c in sts.items())])
    out += [table(["operation", "requests", "by mode", "statuses"], rows), ""]
    for fl in f.get("failures") or []:
        out += [f"- **{fl.get('operation')}**: {fl.get('kind')}, HTTP {fl.get('status')}, {fl.get('count')}×; "
                f"reproduce: `{fl.get('reproduce')}`"]
    if f.get("failures"):
        out.append("")
    return out


def section_libfuzzer(lines: list[dict], step: dict | None) -> list[str]:
    out = ["## libFuzzer", "",
           "Coverage-guided fuzzing of the server's validation and config rendering with ASan and UBSan "
           "(`tests/fuzz/run`, harnesses in `tests/fuzz/`), one process per harness side by side.", ""]
    if not lines:
        return out + [f"_{NOT_RUN}._" if not step else f"_No harness figures in its log (exit {step.get('rc')})._",
                      ""]
    rows = [[x["h"], x["verdict"], x["execs"], x["rate"], x["secs"], x["cov"], x["ft"], f"{x['corp']} (+{x['new']})",
             x["rss"]] for x in lines]
    return out + [table(["harness", "result", "executions", "exec/s", "seconds", "coverage (edges)", "features",
                         "corpus (new)", "peak RSS MB"], rows), ""]


def section_crash(doc: dict | None) -> list[str]:
    out = ["## Crash consistency", "",
           "The server is killed with SIGKILL at each failpoint inside Apply; then the files on the Asterisk host "
           "must be all old or all new (never half-written, no temporaries left), the interrupted audit row must be "
           "marked `interrupted` by the restarted server, and the next Apply must succeed "
           "(`tests/e2e/test_reliability_crash.py`).", ""]
    if not doc:
        return out + [f"_{NOT_RUN}._", ""]
    f = fig(doc)
    out += [f"Result: **{outcome(doc)}**; {fmt(f.get('kills_performed'))} kills, "
            f"{fmt(f.get('repetitions'))} per failpoint.", ""]
    per = f.get("per_failpoint") or {}
    rounds = f.get("rounds") or []
    rows = []
    for fp in f.get("failpoints") or sorted(per):
        p = per.get(fp, {})
        rs = [r for r in rounds if r.get("failpoint") == fp]
        rec = [r.get("recovery_apply_s") for r in rs if isinstance(r.get("recovery_apply_s"), (int, float))]
        rows.append([f"`{fp}`", p.get("kills"), p.get("files_old_or_new"), p.get("interrupted_marked"),
                     p.get("recovered"), max(rec) if rec else None])
    out += [table(["failpoint", "kills survived", "files old or new", "audit marked interrupted",
                   "recovered", "max recovery Apply s"], rows), ""]
    if doc.get("violations"):
        out += [f"- violation: {v}" for v in doc["violations"][:20]] + [""]
    return out


def section_outage(db: dict | None, cut: dict | None, stop: dict | None) -> list[str]:
    out = ["## Outages", "",
           "PostgreSQL is stopped and restarted under a create/delete load; the Asterisk host is cut off (a TCP "
           "proxy drops every connection) and the lab's Asterisk is stopped while Applies run "
           "(`tests/e2e/test_reliability_outage.py`).", ""]
    f = fig(db)
    if db:
        rec = f.get("recovery_s")
        out += [f"**PostgreSQL outage under load**: {outcome(db)}", "",
                table(["figure", "value"], [
                    ["clients / outages / seconds down each", f"{fmt(f.get('clients'))} / {fmt(f.get('outages'))} / "
                                                              f"{fmt(f.get('outage_hold_s'))}"],
                    ["requests sent", f.get("requests_sent")],
                    ["201s (creates) kept", f"{fmt(f.get('created_201'))} ({fmt(f.get('lost_creates'))} lost)"],
                    ["deletes 200 (resurrected)", f"{fmt(f.get('deleted_200'))} ({fmt(f.get('resurrected_deletes'))})"],
                    ["503s", f.get("http_503")],
                    ["other 5xx / client timeouts", f"{fmt(f.get('other_5xx'))} / {fmt(f.get('client_timeouts'))}"],
                    ["latency p50 / p99 / max s", f"{fmt(f.get('p50_latency_s'))} / {fmt(f.get('p99_latency_s'))} / "
                                                  f"{fmt(f.get('max_latency_s'))}"],
                    ["max latency during an outage s", f.get("max_latency_outage_s")],
                    ["recovery (database back -> first 201) s", rec],
                    ["duplicate extensions at the end", f.get("duplicate_extensions_final")],
                    ["server process kept running", f.get("server_pid_unchanged")],
                ]), ""]
    else:
        out += [f"**PostgreSQL outage under load**: _{NOT_RUN}._", ""]
    for title, doc in (("Asterisk host cut during Applies", cut), ("Asterisk stopped during Applies", stop)):
        if not doc:
            out += [f"**{title}**: _{NOT_RUN}._", ""]
            continue
        g = fig(doc)
        out += [f"**{title}**: {outcome(doc)}", "",
                table(["figure", "value"], [
                    ["cuts / seconds each", f"{fmt(g.get('cuts'))} / {fmt(g.get('cut_hold_s'))}"],
                    ["Applies sent / ok / failed", f"{fmt(g.get('applies_sent'))} / {fmt(g.get('applies_ok'))} / "
                                                   f"{fmt(g.get('applies_failed'))}"],
                    ["statuses", " ".join(f"{k}×{v}" for k, v in (g.get("status_counts") or {}).items())],
                    ["failed mid-Apply", g.get("failed_mid_apply")],
                    ["every failure audited", g.get("all_failures_audited")],
                    ["max Apply latency s", g.get("max_apply_latency_s")],
                    ["host back -> first successful Apply s", g.get("host_back_to_first_success_s")],
                    ["users untouched / final Apply ok / temporaries left",
                     f"{fmt(g.get('users_untouched'))} / {fmt(g.get('final_apply_ok'))} / "
                     f"{fmt(g.get('temporaries_after'))}"],
                ]), ""]
    return out


def section_pg_failover(doc: dict | None) -> list[str]:
    out = ["## PostgreSQL failover", "",
           "The portal runs on a multi-host `PBX_DATABASE_URL` (`target_session_attrs=read-write`) over a primary "
           "and a synchronous streaming standby. Under create load the primary is stopped (`pg_ctl stop -m "
           "immediate`), the standby promoted, and the old primary re-created as the new standby "
           "(`pg_basebackup`), back and forth (`tests/e2e/test_pg_failover.py`, `tests/e2e/pg_pair.py`).", ""]
    if not doc:
        return out + [f"_{NOT_RUN}._", ""]
    f = fig(doc)
    return out + [f"{outcome(doc)}", "", table(["figure", "value"], [
        ["failovers / clients / seconds without a primary each",
         f"{fmt(f.get('failovers'))} / {fmt(f.get('clients'))} / {fmt(f.get('no_primary_s'))}"],
        ["creates sent", f.get("creates_sent")],
        ["statuses", " ".join(f"{k}×{v}" for k, v in (f.get("status_counts") or {}).items())],
        ["201s (creates) kept", f"{fmt(f.get('created_201'))} ({fmt(f.get('lost_creates'))} lost)"],
        ["recovery (promotion -> first 201) s", f.get("recovery_s")],
        ["old primary re-created as the standby s", f.get("rebuild_s")],
        ["max latency / max latency of a 503 s", f"{fmt(f.get('max_latency_s'))} / "
                                                 f"{fmt(f.get('max_latency_503_s'))}"],
        ["failed creates retried with their request id", f.get("retried_failed")],
        ["duplicate extensions at the end", f.get("duplicate_extensions")],
        ["server process kept running", f.get("server_pid_unchanged")],
    ]), ""]


def rss_rows(series: dict, step_s: float) -> list[list]:
    """RSS of both processes every step_s seconds (the sample nearest to each mark)."""
    roles = list(series)
    if not roles:
        return []
    end = max((s[-1][0] for s in series.values() if s), default=0)
    rows = []
    t = 0.0
    while t <= end + 0.01:
        row = [int(t)]
        for r in roles:
            pts = [p for p in series[r] if p[1] is not None]
            near = min(pts, key=lambda p: abs(p[0] - t)) if pts else None
            row.append(round(near[1] / 1024, 1) if near else None)
        rows.append(row)
        t += step_s
    return rows


def section_soak(doc: dict | None) -> list[str]:
    out = ["## Soak", "",
           "Many client threads send a mixed load (create, list, get, SIP credentials, delete; two operator threads "
           "Apply and read status and audit) to one portal whose server applies to the Asterisk lab, while the "
           "server's and the gateway's RSS (`/proc/PID/status` VmRSS) are sampled every second. Expected errors "
           "are only those the workload causes: 409 for a deliberately duplicated email, 404 for a user another "
           "thread deleted, 409 ABORTED for an Apply that waited too long on the lock; anything else counts as "
           "unexpected. The long run also asserts flat memory (`tests/e2e/test_reliability_soak.py`).", ""]
    if not doc:
        return out + [f"_{NOT_RUN}._", ""]
    f = fig(doc)
    out += [f"Result: **{outcome(doc)}**; {fmt(f.get('threads'))} threads for {fmt(f.get('duration_s'), 0)} s: "
            f"{fmt(f.get('requests_total'))} requests ({fmt(f.get('requests_per_s'), 0)}/s), "
            f"**{fmt(f.get('unexpected_errors'))} unexpected errors**; expected: "
            + ", ".join(f"{k} {v}" for k, v in (f.get("expected_errors") or {}).items()) + ".", ""]
    lat = f.get("latency_ms") or {}
    rows = [[op, sum((f.get("requests") or {}).get(op, {}).values()),
             " ".join(f"{s}×{n}" for s, n in (f.get("requests") or {}).get(op, {}).items()),
             lat.get(op, {}).get("p50"), lat.get(op, {}).get("p99"), lat.get(op, {}).get("max")]
            for op in sorted(f.get("requests") or {})]
    out += [table(["operation", "requests", "statuses", "p50 ms", "p99 ms", "max ms"], rows), ""]
    series = f.get("rss_kib") or {}
    dur = f.get("duration_s") or 0
    step = 30 if dur >= 150 else 5
    rows = rss_rows(series, step)
    if rows:
        out += [f"Memory (RSS, MiB) every {step} s:", "",
                table(["t (s)"] + [f"{r} MiB" for r in series], rows), ""]
    flat = f.get("rss_flatness") or {}
    if flat:
        asserted = f.get("rss_flatness_asserted")
        frows = [[r, round(v["first_third_mean_kib"] / 1024, 1), round(v["last_third_mean_kib"] / 1024, 1),
                  round(v["growth_kib"] / 1024, 1), round(v["limit_kib"] / 1024, 1)] for r, v in flat.items() if v]
        out += [f"Flatness after {fmt(f.get('rss_warmup_s'), 0)} s warm-up (mean of the first vs the last third; "
                + ("asserted" if asserted else "recorded only: a short run cannot prove flatness") + "):", "",
                table(["process", "first third MiB", "last third MiB", "growth MiB", "allowed growth MiB"], frows),
                ""]
    for u in (f.get("unexpected_examples") or [])[:10]:
        out.append(f"- unexpected: {u.get('op')}: {u.get('what')}")
    return out


def section_secrets(sec: dict | None, pw: dict | None) -> list[str]:
    out = ["## Secrets", "",
           "Every SIP password the portal generated and the database password are searched for in every log and "
           "error response a workload (creates, reads, validation errors, Applies, an outage) produced; generated "
           "passwords are checked for uniqueness and a uniform alphabet "
           "(`tests/e2e/test_reliability_secrets.py`).", ""]
    if sec:
        f = fig(sec)
        out += [f"**No secret in any log**: {outcome(sec)}", "",
                table(["figure", "value"], [
                    ["SIP passwords searched for", f.get("sip_passwords_checked")],
                    ["database password searched for", f.get("db_secret_checked")],
                    ["files / bytes scanned", f"{len(f.get('files_scanned') or [])} / {fmt(f.get('bytes_scanned'))}"],
                    ["responses / error responses checked", f"{fmt(f.get('responses_checked'))} / "
                                                            f"{fmt(f.get('error_responses_checked'))}"],
                    ["hits", len(f.get("hits") or [])],
                    ["positive control (passwords found in the generated config)", f.get("positive_control_hits")],
                ]), ""]
    else:
        out += [f"**No secret in any log**: _{NOT_RUN}._", ""]
    if pw:
        g = fig(pw)
        out += [f"**Generated passwords**: {outcome(pw)}; {fmt(g.get('passwords'))} passwords, "
                f"{fmt(g.get('unique'))} unique, {fmt(g.get('pattern_ok'))} match the pattern, "
                f"{fmt(g.get('symbols_seen'))} symbols seen, chi² {fmt(g.get('chi_square'))} "
                f"(df {fmt(g.get('chi_square_degrees_of_freedom') or 61)}, threshold "
                f"{fmt(g.get('chi_square_threshold'))}).", ""]
    else:
        out += [f"**Generated passwords**: _{NOT_RUN}._", ""]
    return out


def section_sanitize(san: dict) -> list[str]:
    out = ["## Sanitizers", "",
           "`tests/sanitize/run`: the C++ unit tests and the end-to-end suite against a server built with "
           "AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer; any sanitizer report fails it.", ""]
    return out + [f"Result: **{san.get('result', NOT_RUN)}**" + (f"; {san['detail']}" if san.get("detail") else "")
                  + ".", ""]


KNOWN = {"fuzz_api.json", "soak.json", "report-run.json", "test_crash_consistency_at_every_failpoint.json",
         "test_db_outage_under_load.json", "test_asterisk_host_cut_during_applies.json",
         "test_asterisk_stopped_during_applies.json", "test_no_secret_in_any_log.json",
         "test_generated_passwords_unique_and_uniform.json", "test_reliability_failovers_back_and_forth.json"}


def section_other(d: Path) -> list[str]:
    """Reliability tests this renderer has no section for: outcome and their scalar figures."""
    rows = []
    for p in sorted(d.glob("*.json")):
        if p.name in KNOWN:
            continue
        doc = load(d, p.name)
        if not isinstance(doc, dict):
            continue
        f = fig(doc)
        scalars = [f"{k} {fmt(v)}" for k, v in sorted(f.items()) if isinstance(v, (int, float, str, bool))][:12]
        rows.append([f"`{doc.get('nodeid') or doc.get('test') or p.stem}`", outcome(doc),
                     fmt(doc.get("duration_s"), 1), "; ".join(scalars) or "–"])
    if not rows:
        return []
    return ["## Other reliability tests", "", table(["test", "result", "seconds", "figures"], rows), ""]


def sanitize_result(step: dict | None) -> dict:
    if not step:
        return {"result": NOT_RUN}
    text = read(step.get("log"))
    counts = summary_counts(text)
    m = re.findall(r"sanitizer reports: (\d+)", text)
    reports = int(m[-1]) if m else None
    detail = []
    if counts:
        detail.append(f"{counts[0]} passed, {counts[1]} failed")
    if reports is not None:
        detail.append(f"{reports} sanitizer reports")
    if " -k " in (step.get("command") or ""):
        detail.append(f"end-to-end selection `-k {step['command'].split(' -k ', 1)[1]}`")
    for t in failed_tests(text):
        detail.append(t)
    result = "ok" if step.get("rc") == 0 else f"FAILED (exit {step.get('rc')})"
    return {"result": result, "detail": ", ".join(detail) or f"exit {step.get('rc')}"}


# --------------------------------------------------------------------------- main

def collect(d: Path) -> dict:
    return {
        "fuzz_api": load(d, "fuzz_api.json"),
        "soak": load(d, "soak.json"),
        "crash": load(d, "test_crash_consistency_at_every_failpoint.json"),
        "db_outage": load(d, "test_db_outage_under_load.json"),
        "host_cut": load(d, "test_asterisk_host_cut_during_applies.json"),
        "asterisk_stopped": load(d, "test_asterisk_stopped_during_applies.json"),
        "secrets": load(d, "test_no_secret_in_any_log.json"),
        "passwords": load(d, "test_generated_passwords_unique_and_uniform.json"),
        "pg_failover": load(d, "test_reliability_failovers_back_and_forth.json"),
    }


def render(d: Path) -> str:
    run = load(d, "report-run.json")
    steps = {s["name"]: s for s in (run or {}).get("steps", [])}
    docs = collect(d)
    fuzz_lines = libfuzzer_results(read((steps.get("libfuzzer") or {}).get("log")))
    san = sanitize_result(steps.get("sanitizers"))
    lines = section_header(run, docs)
    lines += section_summary(docs, fuzz_lines, san)
    lines += section_steps(run)
    py = steps.get("reliability tests")
    if py:
        s = pytest_summary(read(py.get("log")))
        if s:
            lines += [f"Reliability tests (pytest): {s}."]
        for t in failed_tests(read(py.get("log"))):
            lines.append(f"- {t}")
        lines.append("")
    lines += section_fuzz_api(docs["fuzz_api"])
    lines += section_libfuzzer(fuzz_lines, steps.get("libfuzzer"))
    lines += section_crash(docs["crash"])
    lines += section_outage(docs["db_outage"], docs["host_cut"], docs["asterisk_stopped"])
    lines += section_pg_failover(docs["pg_failover"])
    lines += section_soak(docs["soak"])
    lines += section_secrets(docs["secrets"], docs["passwords"])
    lines += section_other(d)
    lines += section_sanitize(san)
    text = "\n".join(lines).rstrip() + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(REPO / "build" / "reliability"))
    ap.add_argument("--out", default=str(REPO / "docs" / "reliability.md"))
    a = ap.parse_args(argv)
    text = render(Path(a.dir))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
