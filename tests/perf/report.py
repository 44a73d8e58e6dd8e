"""tests/bench's results as tables: the targets (met or missed), a plain-text table for the terminal and
docs/benchmarks.md. Input: the results dict tests/perf/bench.py also writes as JSON."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000  # the server's memory target is in MB (10^6 bytes); /proc reports kB (1024 bytes)
SERVER_MEMORY_LIMIT_MB = 50
LIST_LIMIT_MS = 10
REST_VS_GRPC_LIMIT = 1.5
REST_VS_POSTGRES_LIMIT = 3
APPLY_VS_FLOOR_LIMIT = 1.3
READY_LIMIT_MS = 2000


def _ms(v) -> str:
    return "–" if v is None else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def _clients(n: int) -> str:
    return f"{n} client" + ("" if n == 1 else "s")


def _ratio(v) -> str:
    return "–" if v is None else f"{v:.2f}x"


# --------------------------------------------------------------------------- targets

def _target(name, figure, reference, limit, met) -> dict:
    return {"target": name, "figure": figure, "reference": reference, "limit": limit, "met": bool(met)}


def evaluate_targets(results: dict) -> list[dict]:
    targets = []
    creates = {(r["path"], r["concurrency"]): r for r in results["create"]}
    for clients in sorted({c for _, c in creates}):
        rest, grpc, pg = (creates[(p, clients)]["p50_ms"] for p in ("rest", "grpc", "postgres"))
        targets.append(_target(
            f"REST create p50 within {REST_VS_GRPC_LIMIT}x of direct gRPC, {_clients(clients)}",
            f"{_ms(rest)} ms = {_ratio(rest / grpc)}", f"gRPC p50 {_ms(grpc)} ms", f"≤ {REST_VS_GRPC_LIMIT}x",
            rest <= REST_VS_GRPC_LIMIT * grpc))
        targets.append(_target(
            f"REST create p50 within {REST_VS_POSTGRES_LIMIT}x of the bare Postgres transaction, {_clients(clients)}",
            f"{_ms(rest)} ms = {_ratio(rest / pg)}", f"Postgres p50 {_ms(pg)} ms", f"≤ {REST_VS_POSTGRES_LIMIT}x",
            rest <= REST_VS_POSTGRES_LIMIT * pg))
    for r in results["reads"]:
        if r["operation"] == "list" and r["path"] == "rest":
            targets.append(_target(
                f"list of {r['users']} users under {LIST_LIMIT_MS} ms (REST p50)",
                f"{_ms(r['p50_ms'])} ms (p99 {_ms(r['p99_ms'])} ms)",
                "gRPC p50 " + next(_ms(g["p50_ms"]) for g in results["reads"]
                                   if g["operation"] == "list" and g["path"] == "grpc") + " ms",
                f"< {LIST_LIMIT_MS} ms", r["p50_ms"] < LIST_LIMIT_MS))
    largest = results["apply"][-1]
    targets.append(_target(
        f"Apply of {largest['users']} users within {APPLY_VS_FLOOR_LIMIT}x of the reload floor (cold)",
        f"{_ms(largest['wall_median_ms'])} ms = {_ratio(largest['ratio_to_cold_floor'])}",
        f"floor {_ms(largest['floor']['cold_ms']['median'])} ms (warm {_ms(largest['floor']['warm_ms']['median'])}"
        f" ms: {_ratio(largest['ratio_to_warm_floor'])})", f"≤ {APPLY_VS_FLOOR_LIMIT}x",
        largest["ratio_to_cold_floor"] <= APPLY_VS_FLOOR_LIMIT))
    ready = results["readiness"]
    all_registered = ready["after_apply"]["successful"] == ready["phones"] == ready["contacts_after_apply"]
    targets.append(_target(
        f"all {ready['phones']} phones registered within {READY_LIMIT_MS / 1000:g} s of Apply returning",
        f"{_ms(ready['ready_ms'])} ms" + ("" if all_registered else
                                          f" ({ready['after_apply']['successful']} registered)"),
        f"sipp alone {_ms(ready['sipp_alone']['ms'])} ms", f"≤ {READY_LIMIT_MS} ms",
        all_registered and ready["ready_ms"] <= READY_LIMIT_MS))
    server_mb = results["memory"]["server"]["peak_kb"] * 1024 / MB
    targets.append(_target(
        f"server under {SERVER_MEMORY_LIMIT_MB} MB (peak resident)", f"{server_mb:.1f} MB",
        f"gateway {results['memory']['gateway']['peak_kb'] * 1024 / MB:.1f} MB",
        f"< {SERVER_MEMORY_LIMIT_MB} MB", server_mb < SERVER_MEMORY_LIMIT_MB))
    return targets


# --------------------------------------------------------------------------- tables

@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""


def tables(results: dict) -> list[Table]:
    out = [Table("Targets", ["target", "figure", "reference", "limit", "result"],
                 [[t["target"], t["figure"], t["reference"], t["limit"], "met" if t["met"] else "MISSED"]
                  for t in results["targets"]])]

    floors = {r["concurrency"]: r["p50_ms"] for r in results["create"] if r["path"] == "postgres"}
    grpcs = {r["concurrency"]: r["p50_ms"] for r in results["create"] if r["path"] == "grpc"}
    out.append(Table(
        "Create user (latency in ms)",
        ["clients", "path", "p50", "p90", "p99", "max", "per s", "count", "errors", "p50 / Postgres", "p50 / gRPC"],
        [[str(r["concurrency"]), r["path"], _ms(r["p50_ms"]), _ms(r["p90_ms"]), _ms(r["p99_ms"]),
          _ms(r["max_ms"]), f"{r['throughput_per_s']:.0f}", str(r["count"]), str(r["errors"]),
          _ratio(r["p50_ms"] / floors[r["concurrency"]]),
          _ratio(r["p50_ms"] / grpcs[r["concurrency"]]) if r["path"] == "rest" else ""]
         for r in results["create"]],
        note=_statement_note(results["statements"])))

    out.append(Table(
        "List, get, delete (latency in ms)",
        ["operation", "path", "clients", "p50", "p90", "p99", "max", "per s", "count", "errors"],
        [[r["operation"] + (f" ({r['users']} users)" if "users" in r else ""), r["path"], str(r["concurrency"]),
          _ms(r["p50_ms"]), _ms(r["p90_ms"]), _ms(r["p99_ms"]), _ms(r["max_ms"]), f"{r['throughput_per_s']:.0f}",
          str(r["count"]), str(r["errors"])] for r in results["reads"]]))

    out.append(Table(
        "Apply (ms; median over the runs; floor: the two reloads over one SSH session)",
        ["users", "runs", "Apply", "first (cold)", "server-side", "floor cold", "floor warm", "Apply / cold floor",
         "Apply / warm floor"],
        [[str(a["users"]), str(len(a["runs"])), _ms(a["wall_median_ms"]), _ms(a["wall_cold_ms"]),
          _ms(a["server_median_ms"]),
          f"{_ms(a['floor']['cold_ms']['median'])} ({_ms(a['floor']['cold_ms']['min'])}-"
          f"{_ms(a['floor']['cold_ms']['max'])})",
          f"{_ms(a['floor']['warm_ms']['median'])} ({_ms(a['floor']['warm_ms']['min'])}-"
          f"{_ms(a['floor']['warm_ms']['max'])})",
          _ratio(a["ratio_to_cold_floor"]), _ratio(a["ratio_to_warm_floor"])] for a in results["apply"]]))

    names = []
    for a in results["apply"]:
        names += [p["name"] for p in a["phases"] if p["name"] not in names]
    out.append(Table(
        "Apply phases (median ms, as the audit entry reports them, in order)",
        ["users"] + names + ["sum of medians"],
        [[str(a["users"])] + [_ms(next((p["median_ms"] for p in a["phases"] if p["name"] == n), None))
                              for n in names] + [_ms(sum(p["median_ms"] for p in a["phases"]))]
         for a in results["apply"]]))

    t = results["token_check"]
    out.append(Table(
        "API token check per call (server code, in process; included in every create above)",
        ["stage", "p50", "p99"],
        [["call authenticator (role, token lookup, constant-time compare)",
          f"{t['authenticator_ns']['p50'] / 1000:.2f} µs", f"{t['authenticator_ns']['p99'] / 1000:.2f} µs"],
         ["call pipeline (the caller's key looked up again)",
          f"{t['lookup_ns']['p50'] / 1000:.2f} µs", f"{t['lookup_ns']['p99'] / 1000:.2f} µs"],
         ["per call", f"{t['per_call_ns']['p50'] / 1000:.2f} µs", f"{t['per_call_ns']['p99'] / 1000:.2f} µs"]],
        note=f"{t['runs']} calls against {t['keys']} live keys (tests/perf/token_check.cc); no database round trip."))

    r = results["readiness"]
    out.append(Table(
        "Readiness (sipp REGISTER with digest auth)",
        ["phones", "Apply returned -> all registered", "sipp alone", "200s after Apply", "contacts after Apply",
         "200s alone", "sipp CPU"],
        [[str(r["phones"]), f"{_ms(r['ready_ms'])} ms", f"{_ms(r['sipp_alone']['ms'])} ms",
          str(r["after_apply"]["successful"]), str(r["contacts_after_apply"]), str(r["sipp_alone"]["successful"]),
          f"{_ms(r['after_apply']['sipp_cpu_ms'])} ms"]],
        note=f"sipp: `{r['sipp_command']}`"))

    m = results["memory"]
    out.append(Table(
        "Memory (kB as /proc reports it, at the end of the run)",
        ["process", "peak (VmHWM)", "resident now (VmRSS)"],
        [[name, f"{m[name]['peak_kb']} kB ({m[name]['peak_kb'] * 1024 / MB:.1f} MB)", f"{m[name]['rss_kb']} kB"]
         for name in ("server", "gateway")]))
    return out


def _statement_note(s: dict) -> str:
    if not s.get("checked"):
        return f"Floor statements not checked: {s.get('reason', 'unknown')}."
    if s["same"]:
        extra = "; ".join(f"{x['query'][:60]}… ({x['calls_per_create']}/create)" for x in s["server_only"])
        return ("pg_stat_statements: the Postgres floor ran the same statements as the server "
                f"({len(s['floor_statements'])} per create)" + (f"; the server also ran: {extra}" if extra else "")
                + ".")
    return ("pg_stat_statements: the floor ran statements the server did not: "
            + "; ".join(x["query"] for x in s["floor_only"]) + " (update tests/perf/loadgen/pg_floor.go).")


# --------------------------------------------------------------------------- rendering

def render_text(results: dict) -> str:
    lines = []
    for t in tables(results):
        widths = [max(len(str(c)) for c in col) for col in zip(t.headers, *t.rows)]
        lines += ["", t.title]
        lines.append("  ".join(h.ljust(w) for h, w in zip(t.headers, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in t.rows]
        if t.note:
            lines.append(t.note)
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def render_markdown(results: dict) -> str:
    meta = results["meta"]
    lines = [
        "# Benchmarks", "",
        "Generated by `tests/bench` (do not edit by hand: rerun it). Every figure below was measured in the same "
        "run as the reference printed beside it.", "",
        "|  |  |", "|---|---|",
        f"| Date (UTC) | {meta['date']} |",
        f"| Git commit | {meta['commit']} |",
        f"| Machine | {meta['machine']} |",
        f"| Load average (1, 5, 15 min) | before {meta['load_before']}, after {meta['load_after']} |",
        f"| Run | {meta['plan']}, {meta['duration_s']:.0f} s |",
        f"| Stack | {meta['stack']} |",
        f"| PostgreSQL | {meta['postgres']} |",
        f"| Server | {meta['server']} |",
    ]
    for t in tables(results):
        lines += ["", f"## {t.title}", "", "| " + " | ".join(t.headers) + " |",
                  "|" + "|".join("---" for _ in t.headers) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
        if t.note:
            lines += ["", t.note]
    lines += ["", "## How it is measured", ""] + [f"- {m}" for m in METHOD] + [""]
    return "\n".join(lines)


METHOD = [
    "`tests/bench` starts its own PostgreSQL (`build/bench/pg`: default settings, fsync on, plus the "
    "pg_stat_statements extension to check the floor's statements) and its own Asterisk lab (`build/bench-lab`, "
    "SIP 127.0.0.1:5064, SSH 2225), then the server and the gateway on a fresh database; nothing the tests use "
    "is touched (row \"Stack\" above says what this run used).",
    "Load: `tests/perf/loadgen` (Go). gRPC: one shared connection, as another service would call. REST: HTTP/1.1 "
    "keep-alive, one connection per client, bodies read to the end but not decoded. Each worker sends its next "
    "request as soon as the previous one answered; every latency is recorded; percentiles are nearest-rank "
    "(always a measured value). Throughput: successful requests per second of wall time of the timed rounds.",
    "Create floor: the server's own transaction (BEGIN, `pg_advisory_xact_lock`, the allocating INSERT, COMMIT) "
    "sent straight to PostgreSQL from the same Go process, one connection per client, the way libpq's "
    "PQexecParams sends it (unnamed statement, text parameters). pg_stat_statements confirms it is the same "
    "statements (note under the create table).",
    "The pool holds 1000 extensions: creates run in rounds of at most 1000 on emptied and vacuumed tables "
    "(untimed, as is the refill before each round of deletes). A warm-up precedes every timed run.",
    "Apply: the users are created through the API, then Apply runs several times, each after one user was replaced "
    "(so each pushes a real change). The figure is the wall time of `POST /apply` seen by the client; "
    "\"first (cold)\" is the first run after the users were created. Phases come from the audit entry.",
    "Reload floor: `pbx-bench-reload-floor` (C++, the server's own `SshAsteriskHost`) right after each size, on "
    "the files that Apply wrote (touched first, untimed, so Asterisk parses them as it does after an Apply): "
    "cold = open an SSH session, `asterisk -rx 'pjsip reload' && asterisk -rx 'dialplan reload'`, close; "
    "warm = the same exec on a session kept open.",
    "Readiness: the clock starts when the `POST /apply` response has arrived; sipp (sip-tester) then registers "
    "every user with the password the API returned (REGISTER, 401, REGISTER with digest, 200) and the clock stops "
    "when sipp exits. `pjsip show contacts` is counted afterwards as a cross-check. \"sipp alone\" repeats the "
    "registrations with nothing else going on.",
    "Memory: VmHWM (peak resident set) and VmRSS from /proc/PID/status of the server and the gateway after "
    "everything above ran.",
    "The load generator, sipp and the driver share the machine's CPUs with the server, the gateway, PostgreSQL "
    "and Asterisk, as the references do. The machine may also have been running other work: the load averages "
    "above say how busy it was.",
]
