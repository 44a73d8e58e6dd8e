"""tests/bench's results as tables: the targets (met or missed), a plain-text table for the terminal and
docs/benchmarks.md. Input: the results dict tests/perf/bench.py also writes as JSON."""

from __future__ import annotations

from dataclasses import dataclass

CONTACTS = "pjsip show contacts"
MB = 1_000_000  # the server's memory target is in MB (10^6 bytes); /proc reports kB (1024 bytes)
SERVER_MEMORY_LIMIT_MB = 50
LIST_LIMIT_MS = 10
REST_VS_GRPC_LIMIT = 1.5
REST_VS_POSTGRES_LIMIT = 3
APPLY_VS_FLOOR_LIMIT = 1.3
TWO_HOSTS_VS_ONE_LIMIT = 1.3
NOOP_APPLY_VS_INSPECTION_LIMIT = 1.3
PREVIEW_VS_FILE_READ_LIMIT = 1.5
READY_LIMIT_MS = 2000
BATCH_VS_ROWS_LIMIT = 2
BATCH_SPEEDUP_MIN = 20
REGISTRATIONS_VS_CONTACTS_LIMIT = 1.5


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
    b = results["batch"]
    rest_ms = b["rest"]["p50_ms"]
    targets.append(_target(
        f"batch create of {b['users']} users (REST p50) within {BATCH_VS_ROWS_LIMIT}x of the same rows inserted "
        "straight into PostgreSQL in one transaction",
        f"{_ms(rest_ms)} ms = {_ratio(b['ratio_to_rows'])}",
        f"bare INSERTs p50 {_ms(b['rows']['p50_ms'])} ms (the server's SQL alone {_ms(b['server_sql']['p50_ms'])} ms)",
        f"≤ {BATCH_VS_ROWS_LIMIT}x", rest_ms <= BATCH_VS_ROWS_LIMIT * b["rows"]["p50_ms"]))
    targets.append(_target(
        f"batch create of {b['users']} users at least {BATCH_SPEEDUP_MIN}x faster than {b['users']} single creates "
        "(REST, one client, one after another)",
        f"{_ms(rest_ms)} ms: {b['speedup_over_singles']:.1f}x faster",
        f"{b['users']} single creates {_ms(b['singles_ms'])} ms", f"≥ {BATCH_SPEEDUP_MIN}x",
        b["singles_ms"] >= BATCH_SPEEDUP_MIN * rest_ms))
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
        f"changing Apply of {largest['users']} users within {APPLY_VS_FLOOR_LIMIT}x of the reload floor (cold)",
        f"{_ms(largest['wall_median_ms'])} ms = {_ratio(largest['ratio_to_cold_floor'])}",
        f"floor {_ms(largest['floor']['cold_ms']['median'])} ms (warm {_ms(largest['floor']['warm_ms']['median'])}"
        f" ms: {_ratio(largest['ratio_to_warm_floor'])})", f"≤ {APPLY_VS_FLOOR_LIMIT}x",
        largest["ratio_to_cold_floor"] <= APPLY_VS_FLOOR_LIMIT))
    two = results["hosts_apply"]
    targets.append(_target(
        f"changing Apply of {two['users']} users to two hosts within {TWO_HOSTS_VS_ONE_LIMIT}x of the same Apply to "
        f"one host (p50 of {two['rounds']} each, alternated)",
        f"{_ms(two['two']['wall_p50_ms'])} ms = {_ratio(two['ratio'])}",
        f"one host p50 {_ms(two['one']['wall_p50_ms'])} ms", f"≤ {TWO_HOSTS_VS_ONE_LIMIT}x",
        two["two"]["wall_p50_ms"] <= TWO_HOSTS_VS_ONE_LIMIT * two["one"]["wall_p50_ms"]))
    n = results["noop_apply"]
    n_rest, n_grpc = (next(r for r in n["api"] if r["path"] == p) for p in ("rest", "grpc"))
    n_floor = n["floor"]["ms"]["p50"]
    targets.append(_target(
        f"no-op Apply of {n['users']} users within {NOOP_APPLY_VS_INSPECTION_LIMIT}x of one SSH round trip that "
        "reads the four live lists and the two files' hashes (REST p50; every answer changed: false)",
        f"{_ms(n_rest['p50_ms'])} ms = {_ratio(n['ratio_to_floor'])}",
        f"round trip p50 {_ms(n_floor)} ms (gRPC {_ms(n_grpc['p50_ms'])} ms: {_ratio(n['grpc_ratio_to_floor'])})",
        f"≤ {NOOP_APPLY_VS_INSPECTION_LIMIT}x", n_rest["p50_ms"] <= NOOP_APPLY_VS_INSPECTION_LIMIT * n_floor))
    v = results["preview"]
    v_rest, v_grpc = (next(r for r in v["api"] if r["path"] == p) for p in ("rest", "grpc"))
    v_floor = v["floor"]["ms"]["p50"]
    targets.append(_target(
        f"preview of {v['users']} users within {PREVIEW_VS_FILE_READ_LIMIT}x of reading the two files over the kept "
        "session (REST p50; one user changed, every answer would_write: true)",
        f"{_ms(v_rest['p50_ms'])} ms = {_ratio(v['ratio_to_floor'])}",
        f"`cat` of both files p50 {_ms(v_floor)} ms (gRPC {_ms(v_grpc['p50_ms'])} ms: "
        f"{_ratio(v_grpc['p50_ms'] / v_floor)})",
        f"≤ {PREVIEW_VS_FILE_READ_LIMIT}x", v_rest["p50_ms"] <= PREVIEW_VS_FILE_READ_LIMIT * v_floor))
    ready = results["readiness"]
    all_registered = ready["after_apply"]["successful"] == ready["phones"] == ready["contacts_after_apply"]
    targets.append(_target(
        f"all {ready['phones']} phones registered within {READY_LIMIT_MS / 1000:g} s of Apply returning",
        f"{_ms(ready['ready_ms'])} ms" + ("" if all_registered else
                                          f" ({ready['after_apply']['successful']} registered)"),
        f"sipp alone {_ms(ready['sipp_alone']['ms'])} ms", f"≤ {READY_LIMIT_MS} ms",
        all_registered and ready["ready_ms"] <= READY_LIMIT_MS))
    g = results["registrations"]
    g_rest = next(r for r in g["api"] if r["path"] == "rest")
    floor_p50 = g["contacts_floor"]["ms"]["p50"]
    answered = g["registered_in_answer"] == g["phones"] == g["registered_in_answer_after"]
    targets.append(_target(
        f"GET /registrations with {g['phones']} phones registered within {REGISTRATIONS_VS_CONTACTS_LIMIT}x of a bare "
        "`pjsip show contacts` on a kept SSH session (p50)",
        f"{_ms(g_rest['p50_ms'])} ms = {_ratio(g['ratio_to_contacts_floor'])}"
        + ("" if answered else f" ({g['registered_in_answer']} registered in the answer)"),
        f"`pjsip show contacts` p50 {_ms(floor_p50)} ms", f"≤ {REGISTRATIONS_VS_CONTACTS_LIMIT}x",
        answered and g_rest["p50_ms"] <= REGISTRATIONS_VS_CONTACTS_LIMIT * floor_p50))
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
        ["clients", "path", "p50", "p90", "p95", "p99", "max", "per s", "count", "errors", "p50 / Postgres",
         "p50 / gRPC"],
        [[str(r["concurrency"]), r["path"], _ms(r["p50_ms"]), _ms(r["p90_ms"]), _ms(r.get("p95_ms")),
          _ms(r["p99_ms"]), _ms(r["max_ms"]), f"{r['throughput_per_s']:.0f}", str(r["count"]), str(r["errors"]),
          _ratio(r["p50_ms"] / floors[r["concurrency"]]),
          _ratio(r["p50_ms"] / grpcs[r["concurrency"]]) if r["path"] == "rest" else ""]
         for r in results["create"]],
        note=_statement_note(results["statements"])))

    if results.get("replicas"):
        out.append(_replicas_table(results["replicas"]))
    out.append(_batch_table(results["batch"]))
    out.append(_single_operations_table(results))

    out.append(Table(
        "List, get, update, rotate, delete (latency in ms)",
        ["operation", "path", "clients", "p50", "p90", "p95", "p99", "max", "per s", "count", "errors"],
        [[r["operation"] + (f" ({r['users']} users)" if "users" in r else ""), r["path"], str(r["concurrency"]),
          _ms(r["p50_ms"]), _ms(r["p90_ms"]), _ms(r.get("p95_ms")), _ms(r["p99_ms"]), _ms(r["max_ms"]),
          f"{r['throughput_per_s']:.0f}", str(r["count"]), str(r["errors"])] for r in results["reads"]],
        note="update: PATCH /users/{id} {\"name\": ...} (gRPC UpdateUser, update_mask name), a name not used "
             "before each time; rotate: POST /users/{id}/sip-credentials:rotate (gRPC RotateSipCredentials); both "
             f"round-robin over the {next((r['users'] for r in results['reads'] if 'users' in r), '?')} users of "
             "the list, each a transaction with its change-audit row."))

    out.append(Table(
        "Apply that changes something (ms; median over the runs; floor: the two reloads over one SSH session)",
        ["users", "runs", "Apply", "first (cold)", "server-side", "floor cold", "floor warm", "Apply / cold floor",
         "Apply / warm floor"],
        [[str(a["users"]), str(len(a["runs"])), _ms(a["wall_median_ms"]), _ms(a["wall_cold_ms"]),
          _ms(a["server_median_ms"]),
          f"{_ms(a['floor']['cold_ms']['median'])} ({_ms(a['floor']['cold_ms']['min'])}-"
          f"{_ms(a['floor']['cold_ms']['max'])})",
          f"{_ms(a['floor']['warm_ms']['median'])} ({_ms(a['floor']['warm_ms']['min'])}-"
          f"{_ms(a['floor']['warm_ms']['max'])})",
          _ratio(a["ratio_to_cold_floor"]), _ratio(a["ratio_to_warm_floor"])] for a in results["apply"]]))

    phased = [(str(a["users"]), a) for a in results["apply"]]
    if results.get("noop_apply"):
        phased.append((f"{results['noop_apply']['users']} (no-op)", results["noop_apply"]))
    names = []
    for _, a in phased:
        names += [p["name"] for p in a["phases"] if p["name"] not in names]
    order = ("read", "render", "connect", "inspect", "upload", "rename", "reload", "verify", "audit")
    names = [n for n in order if n in names] + [n for n in names if n not in order]
    out.append(Table(
        "Apply phases (median ms, as the audit entry reports them, in order)",
        ["users"] + names + ["sum of medians"],
        [[label] + [_ms(next((p["median_ms"] for p in a["phases"] if p["name"] == n), None))
                    for n in names] + [_ms(sum(p["median_ms"] for p in a["phases"]))]
         for label, a in phased],
        note="inspect: the round trip before anything is written (server/asterisk/host_inspection.cc), run "
             "while the users are read and rendered (so read and render overlap connect and inspect): both "
             "files' sha256sum plus `core show uptime seconds` (pre-flight), and the four live lists too when "
             "the users did not change since the server's kept plan, which the last successful Apply wrote (a "
             "likely no-op). When both files already hold the rendered bytes and the live lists match, nothing "
             "is written: a no-op Apply has no upload, rename or reload."))
    if results.get("hosts_apply"):
        out += _hosts_apply_tables(results["hosts_apply"])
    if results.get("noop_apply"):
        out.append(_noop_apply_table(results["noop_apply"]))
    if results.get("preview"):
        out.append(_preview_table(results["preview"]))

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

    out.append(_registrations_table(results["registrations"]))

    m = results["memory"]
    out.append(Table(
        "Memory (kB as /proc reports it, at the end of the run)",
        ["process", "peak (VmHWM)", "resident now (VmRSS)"],
        [[name, f"{m[name]['peak_kb']} kB ({m[name]['peak_kb'] * 1024 / MB:.1f} MB)", f"{m[name]['rss_kb']} kB"]
         for name in ("server", "gateway")]))
    if results.get("memory_by_step"):
        out.append(Table(
            "Memory after each step (MB, 10^6 bytes: peak so far / resident)",
            ["after", "server peak", "server resident", "server threads", "gateway peak", "gateway resident"],
            [[s["step"], f"{s['server']['peak_kb'] * 1024 / MB:.1f}", f"{s['server']['rss_kb'] * 1024 / MB:.1f}",
              str(s["server"].get("threads", "–")), f"{s['gateway']['peak_kb'] * 1024 / MB:.1f}",
              f"{s['gateway']['rss_kb'] * 1024 / MB:.1f}"]
             for s in results["memory_by_step"]]))
    return out


def _replicas_table(r: dict) -> Table:
    rows = []
    for row in r["rows"]:
        one, two = row["one"], row["two"]
        rows.append([str(row["concurrency"]), _ms(one["p50_ms"]), _ms(one["p90_ms"]), f"{one['throughput_per_s']:.0f}",
                     _ms(two["p50_ms"]), _ms(two["p90_ms"]), f"{two['throughput_per_s']:.0f}",
                     _ratio(row["ratio_p50"]), _ratio(row["ratio_p90"]),
                     " / ".join(str(n) for n in two["served_by_server"]), str(one["count"] + two["count"]),
                     str(one["errors"] + two["errors"])])
    verdict = "; ".join(
        f"{_clients(row['concurrency'])}: two servers "
        + (f"{(1 - row['ratio_p50']) * 100:.0f}% faster" if row["ratio_p50"] < 1 else
           f"{(row['ratio_p50'] - 1) * 100:.0f}% slower" if row["ratio_p50"] > 1 else "as fast") + " at p50"
        for row in r["rows"])
    return Table(
        "Create user through the gateway: one server behind it vs two (REST, ms; no target)",
        ["clients", "one server p50", "p90", "per s", "two servers p50", "p90", "per s", "two / one p50",
         "two / one p90", "creates per server (two)", "count", "errors"], rows,
        note=("Two servers: a second pbx-server on the same database (the bench server's settings) and one gateway "
              "with PBX_GRPC_TARGET listing both (round robin; \"creates per server\" counts the creates each "
              "server answered, warm-ups included); one server: the bench's own portal. Same load generator, concurrencies "
              f"and samples as the create table, one right after the other. {verdict}. No gain is to be expected "
              "on this machine: every create holds the allocation lock in PostgreSQL (pg_advisory_xact_lock) until "
              "it commits, so creates run one at a time whichever server sends them, and both servers share the "
              "machine's CPUs with PostgreSQL, the gateway and the load generator. Nor a loss: the gateway sends "
              "each call over a kept HTTP/2 connection to one server either way."))


def _hosts_apply_tables(a: dict) -> list[Table]:
    labels = {"one": "one host (a)", "two": "two hosts (a, b)"}
    one_p50 = a["one"]["wall_p50_ms"]
    summary = Table(
        f"Apply of {a['users']} users to one host and to two (ms; each after a one-user change, same run)",
        ["hosts", "runs", "p50", "min", "max", "server-side p50", "p50 / one host"],
        [[labels[k], str(len(a[k]["runs"])), _ms(a[k]["wall_p50_ms"]), _ms(a[k]["wall_min_ms"]),
          _ms(a[k]["wall_max_ms"]), _ms(a[k]["server_p50_ms"]), _ratio(a[k]["wall_p50_ms"] / one_p50)]
         for k in ("one", "two")],
        note=(f"Two more portals on the bench's database: one server with PBX_ASTERISK_HOSTS=a (the bench's lab), one "
              f"with a,b (b: a second lab, its root a copy of the first's); labs: "
              + "; ".join(f"{n}: {where}" for n, where in a["labs"].items())
              + f". {a['rounds']} rounds of one Apply through each, the order alternating (one-two, two-one, ...), "
              "every Apply after one user was replaced (every answer changed: true on every host), after one "
              "untimed warm-up Apply through each. Wall time of POST /apply."))
    rows = []
    for k in ("one", "two"):
        rows.append((f"{labels[k]}: the Apply (audit phases)", a[k]["phases"]))
        rows += [(f"{labels[k]}: host {n}", phases) for n, phases in a[k]["host_phases"].items()]
    order = ("read", "render", "connect", "inspect", "upload", "rename", "reload", "verify", "audit")
    names = []
    for _, phases in rows:
        names += [p["name"] for p in phases if p["name"] not in names]
    names = [n for n in order if n in names] + [n for n in names if n not in order]
    phases_table = Table(
        f"Apply of {a['users']} users to one host and to two: phases (p50 ms per phase, per host)",
        ["what"] + names,
        [[label] + [_ms(next((p["median_ms"] for p in phases if p["name"] == n), None)) for n in names]
         for label, phases in rows],
        note="Each host's phases come from the answer's hosts[] (connect, inspect, upload, rename, reload, verify: "
             "the hosts run side by side, each on its own kept SSH session); the Apply's own phases are read and "
             "render, then those of the host that finished last, then audit.")
    return [summary, phases_table]


def _batch_table(b: dict) -> Table:
    n = b["users"]
    rows_p50, sql_p50 = b["rows"]["p50_ms"], b["server_sql"]["p50_ms"]

    def row(what, summary):
        return [what, _ms(summary["p50_ms"]), _ms(summary.get("p95_ms")), _ms(summary["max_ms"]),
                str(summary["count"]), _ratio(summary["p50_ms"] / rows_p50), _ratio(summary["p50_ms"] / sql_p50),
                _ratio(b["singles_ms"] / summary["p50_ms"])]
    singles = b["singles"]
    rounds = ", ".join(f"{v * 1000:.0f}" for v in singles["rounds_s"])
    return Table(
        f"Batch create of {n} users (ms per batch of {n}, one client, each batch on an empty pool)",
        ["path", "p50", "p95", "max", "batches", "p50 / bare INSERTs", "p50 / server's SQL",
         f"{n} single creates / p50"],
        [row("PostgreSQL: the same rows, bare INSERTs (reference)", b["rows"]),
         row("PostgreSQL: the server's batch transaction", b["server_sql"]),
         row("gRPC BatchCreateUsers", b["grpc"]),
         row("REST POST /users:batchCreate", b["rest"]),
         [f"{n} single creates, REST POST /users one after another (reference)", _ms(b["singles_ms"]), "", "",
          f"{len(singles['rounds_s'])} x {n}", _ratio(b["singles_ms"] / rows_p50), _ratio(b["singles_ms"] / sql_p50),
          ""]],
        note=(f"Every user has a name, an email and two metadata entries. Bare INSERTs: the {n} ids, SIP secrets "
              "and AES-GCM seals made as the server makes them, then BEGIN; one INSERT of the users rows, one of the "
              "extensions rows (the sealed secrets, the numbers from 1000 up), one of the change-audit rows "
              "(user_change_events, the JSON a create records); COMMIT: each INSERT one statement with array "
              "parameters (unnest), text parameters like libpq, nothing read back, nothing checked (no allocation "
              "lock, no email lookup, no search for free numbers). The server's transaction: what "
              "PgUserStore::CreateUsers sends (allocation lock, the taken-emails and free-numbers query, one INSERT "
              "of all rows from a JSON parameter returning the users), the create floor's code (whose statements "
              f"pg_stat_statements checks above) with {n} rows. Single creates: the mean of the rounds' wall times "
              f"({rounds} ms), each round {n} creates sent one after another on one keep-alive connection; single "
              f"create p50 {_ms(singles['p50_ms'])} ms, p95 {_ms(singles.get('p95_ms'))} ms."))


def _single_operations_table(results: dict) -> Table:
    """p50 and p95 of each one-user operation at one client, gRPC and REST, from the tables below and above."""
    by_key = {("create", r["path"]): r for r in results["create"] if r["concurrency"] == 1}
    by_key.update({(r["operation"], r["path"]): r for r in results["reads"]
                   if r["concurrency"] == 1 and r["operation"] != "list"})
    rows = []
    for operation in ("create", "get", "update", "rotate", "delete"):
        cells = [operation]
        for path in ("grpc", "rest"):
            r = by_key.get((operation, path))
            cells += [_ms(r["p50_ms"]), _ms(r.get("p95_ms"))] if r else ["–", "–"]
        rows.append(cells)
    return Table("One user per request, one client (ms; same run, from the tables around)",
                 ["operation", "gRPC p50", "gRPC p95", "REST p50", "REST p95"], rows)


def _cli_row(label: str, cli: dict, reference_p50: float, key: str = "ms") -> list[str]:
    return [label, _ms(cli[key]["p50"]), _ms(cli[key]["p95"]), _ms(cli[key]["max"]), str(cli["runs"]),
            _ratio(cli[key]["p50"] / reference_p50)]


def _api_row(label: str, r: dict, reference_p50: float) -> list[str]:
    return [label, _ms(r["p50_ms"]), _ms(r.get("p95_ms")), _ms(r["max_ms"]), str(r["count"]),
            _ratio(r["p50_ms"] / reference_p50)]


def _inspection_warning(section: dict) -> str:
    return "" if section.get("server_inspection_in_source", True) else (
        " WARNING: server/apply/apply_operations.cc or apply_inspection.cc no longer asks InspectHost for the "
        "reads this reference models; update steps.SERVER_INSPECTION_SOURCES and the --inspect kinds.")


def _noop_apply_table(n: dict) -> Table:
    floor = n["floor"]
    floor_p50 = floor["ms"]["p50"]
    rows = [_api_row("REST POST /apply, nothing changed", r, floor_p50) if r["path"] == "rest" else
            _api_row("gRPC Apply, nothing changed", r, floor_p50) for r in n["api"]]
    rows.append(_cli_row("one round trip: both files' sha256sum + the four live lists side by side, one exec, "
                         "kept session (reference)", floor, floor_p50))
    rows.append(_cli_row("the server's InspectHost for it, parsing included, kept session", floor, floor_p50,
                         "inspect_ms"))
    rows.append(_cli_row("one exec of `true` on the kept session (the floor of any command)",
                         n["session_check"], floor_p50))
    live = floor.get("live") or {}
    return Table(
        f"No-op Apply of {n['users']} users (ms, one client, one request after another)",
        ["what", "p50", "p95", "max", "samples", "p50 / round trip"], rows,
        note=(f"Every timed Apply answered changed: false (checked by the load generator; any other answer fails "
              f"the run); {len(n['runs'])} more through the driver gave the phases (median wall "
              f"{_ms(n['wall_median_ms'])} ms, server-side {_ms(n['server_median_ms'])} ms). The reference is the "
              "exec the server's own InspectHost sends (pbx-bench-cli-floor --inspect hashes-live records it "
              "through a recording session, then times it): " + "; ".join(f"`{c}`" for c in floor["commands"])
              + f". It found {live.get('endpoints', '?')} endpoints, {live.get('aors', '?')} aors, "
              f"{live.get('auths', '?')} auths and {live.get('dialplan', '?')} synergy-internal extensions; "
              f"{floor['output_bytes']} bytes came back. The server also asks the database whether the users "
              "changed since its kept plan (reading and rendering them only if so) and writes the audit entry."
              + _inspection_warning(n)))


def _preview_table(v: dict) -> Table:
    floor = v["floor"]
    floor_p50 = floor["ms"]["p50"]
    rows = []
    for r in v["api"]:
        rows.append(_api_row(("REST POST /apply:preview" if r["path"] == "rest" else "gRPC PreviewApply")
                             + ", one user changed (files differ)", r, floor_p50))
    for r in v["in_sync_api"]:
        rows.append(_api_row(("REST POST /apply:preview" if r["path"] == "rest" else "gRPC PreviewApply")
                             + ", in sync (also reads the live lists; no target)", r, floor_p50))
    rows.append(_cli_row("`cat` of both files side by side, one exec, kept session (reference)", floor, floor_p50))
    rows.append(_cli_row("the server's InspectHost for it, parsing included, kept session", floor, floor_p50,
                         "inspect_ms"))
    changed = v["changed_answer"]
    aspects = "; ".join(f"{c['extension']}: {', '.join(c['aspects'])}" for c in changed["changed"]) or "none"
    sizes = ", ".join(f"{b} bytes" for b in floor.get("file_bytes", []))
    return Table(
        f"Preview of {v['users']} users (ms, one client, one request after another)",
        ["what", "p50", "p95", "max", "samples", "p50 / file read"], rows,
        note=(f"One user replaced before the timed previews (the files on the host no longer match): every answer "
              f"said would_write: true (checked by the load generator); it showed {changed['added']} added, "
              f"{changed['removed']} removed, changed {aspects}. In sync (right after the no-op Applies): every "
              "answer said would_write: false; the server then reads the live lists too, in a second round trip. "
              f"The reference is the exec the server's own InspectHost sends to read both files ({sizes}): "
              + "; ".join(f"`{c}`" for c in floor["commands"]) + "." + _inspection_warning(v)))


def _registrations_table(g: dict) -> Table:
    floor = g["contacts_floor"]
    floor_p50 = floor["ms"]["p50"]
    rows = []
    for r in g["api"]:
        what = "REST GET /registrations" if r["path"] == "rest" else "gRPC ListRegistrations"
        rows.append([what, _ms(r["p50_ms"]), _ms(r.get("p95_ms")), _ms(r["max_ms"]), str(r["count"]),
                     _ratio(r["p50_ms"] / floor_p50)])
    for label, cli in ((f"`{CONTACTS}` on a kept SSH session (reference)", floor),
                       ("the server's CLI read alone: "
                        + " + ".join(f"`{c}`" for c in g["server_commands"]) + " side by side, one exec, kept session",
                        g["server_cli"]),
                       ("one exec of `true` on the kept session (the floor of any command)",
                        g["session_check"])):
        rows.append([label, _ms(cli["ms"]["p50"]), _ms(cli["ms"]["p95"]), _ms(cli["ms"]["max"]), str(cli["runs"]),
                     _ratio(cli["ms"]["p50"] / floor_p50)])
    source = "" if g["server_commands_in_source"] else \
        " WARNING: server/asterisk/asterisk_cli.cc no longer names these commands; update tests/perf/steps.py."
    return Table(
        f"Registrations with {g['phones']} phones registered (ms, one client, one request after another)",
        ["what", "p50", "p95", "max", "samples", f"p50 / `{CONTACTS}`"], rows,
        note=(f"sipp registered {g['sipp']['successful']} phones (Expires {g['expires_s']} s): "
              f"{g['contacts']} contacts before the measurements, {g['contacts_after']} after; GET /registrations "
              f"showed {g['registered_in_answer']} registered before and {g['registered_in_answer_after']} after. "
              f"The CLI references run `asterisk -rx` over one SSH session opened before the first run and kept "
              f"(tests/perf/cli_floor.cc, the server's SshAsteriskHost); `{CONTACTS}` printed "
              f"{floor['output_bytes']} bytes." + source))


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
    "pg_stat_statements extension to check the floor's statements) and its own two Asterisk labs (`build/bench-lab`, "
    "SIP 127.0.0.1:5064, SSH 2225; `build/bench-lab-b`, SIP 5065, SSH 2226, its root copied from the first's, for "
    "the Apply to two hosts), then the server and the gateway on a fresh database; nothing the tests use is touched "
    "(row \"Stack\" above says what this run used).",
    "Load: `tests/perf/loadgen` (Go). gRPC: one shared connection, as another service would call. REST: HTTP/1.1 "
    "keep-alive, one connection per client, bodies read to the end but not decoded. Each worker sends its next "
    "request as soon as the previous one answered; every latency is recorded; percentiles are nearest-rank "
    "(always a measured value). Throughput: successful requests per second of wall time of the timed rounds.",
    "Create floor: the server's own transaction (BEGIN, `pg_advisory_xact_lock`, the query for taken emails and "
    "the lowest free number, one INSERT of the user, its extension and its change-audit row, COMMIT) sent straight "
    "to PostgreSQL from the same Go process, one connection per client, the way libpq's PQexecParams sends it "
    "(unnamed statement, text parameters). pg_stat_statements confirms it is the same statements (note under the "
    "create table).",
    "Create through two replicas: right after the create table, a second server on the same database (the bench "
    "server's settings) and a gateway whose PBX_GRPC_TARGET lists both (round robin); at each concurrency of the "
    "create table, REST creates through the bench's own gateway (one server) and through that gateway (two), the "
    "same load generator and sample counts, which goes first alternating by concurrency. Each server's "
    "pbx_grpc_server_handled_total (CreateUser, OK) before and after shows which served how many; a run where "
    "either served none fails.",
    "Batch create: on an empty pool (tables emptied and vacuumed before every batch, untimed), one client: first "
    "the bare-INSERT reference, then the server's transaction sent straight to PostgreSQL, then gRPC, then REST "
    "(a warm-up batch or two each), then rounds of single REST creates of as many users, one after another on one "
    "connection (after a few untimed warm-up creates); the table's note says what each reference holds.",
    "Update and rotate: right after the gets, on the same users (round-robin), at the same concurrencies.",
    "Registrations: after the readiness run, sipp registers every user again with a longer expiry; then, one "
    "request after another: the bare `pjsip show contacts` on a kept SSH session (pbx-bench-cli-floor, the "
    "server's own SSH transport), `GET /registrations`, gRPC `ListRegistrations`, and the server's CLI read alone "
    "on a kept session. The server reuses its kept session too (a kept session is checked with a no-op command "
    "before reuse). The registrar's contacts are deleted at the end.",
    "The pool holds 1000 extensions: creates run in rounds of at most 1000 on emptied and vacuumed tables "
    "(untimed, as is the refill before each round of deletes). A warm-up precedes every timed run.",
    "Apply: the users are created through the API, then Apply runs several times, each after one user was replaced "
    "(so each pushes a real change; every answer must say changed: true, or the run fails). The figure is the wall "
    "time of `POST /apply` seen by the client; \"first (cold)\" is the first run after the users were created. "
    "Phases come from the audit entry.",
    "No-op Apply: right after the changing Applies of the largest size, Apply runs again until it answers "
    "changed: false, a few more times through the driver (their phases), then through the load generator (REST, "
    "then gRPC; one client, every answer checked). The reference, measured just before: `pbx-bench-cli-floor "
    "--inspect hashes-live`, which calls the server's InspectHost once through a recording session to learn the "
    "exact exec it sends (both files' sha256sum and the four live lists, side by side), then times that exec on "
    "one kept SSH session.",
    "Preview: first in sync (every answer would_write: false), then after one user was replaced (would_write: true, "
    "the common case), REST and gRPC, one client. The reference, measured just before the latter: "
    "`pbx-bench-cli-floor --inspect contents`, the exec the server's InspectHost sends to read both files whole, "
    "on one kept SSH session. The server's background drift check (default every 60 s) runs during the whole "
    "benchmark, as in production.",
    "Apply to two hosts: after the registrations, the largest Apply size's users created again through the API; "
    "two more portals on the same database, one whose server has PBX_ASTERISK_HOSTS=a (the bench's lab), one with "
    "a,b (both labs), each host with its own SSH key settings as in README \"Several Asterisk hosts\". One untimed "
    "changing Apply through each, then rounds of one Apply through each, the order alternating (one-two, "
    "two-one, ...), every Apply after one user was replaced (every answer changed: true, on every host, or the run "
    "fails). The figures are the p50 of the wall times of `POST /apply`; each host's phases are the p50 per phase "
    "of the answers' `hosts[].phases`.",
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
