"""The measurements of tests/bench, one function per section of the report.

Each takes the running Stack and the Plan and returns plain dicts (they go into benchmarks.json as they are).
Everything talks to loopback only: the portal, its PostgreSQL and the Asterisk lab.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import harness as h
import lab as lab_mod
from replicas import ReplicaError, Replicas

PERF_DIR = Path(__file__).resolve().parent
REGISTER_SCENARIO = PERF_DIR / "register_many.xml"

# Phases Apply reports, in the order they run; any other name the server reports is shown after these.
KNOWN_PHASES = ("read", "render", "connect", "inspect", "upload", "rename", "reload", "verify", "audit")

# sipp for the readiness figure: up to SIPP_RATE new REGISTER transactions a second, at most SIPP_LIMIT at
# once. Tried on the lab (1000 phones): -l 20..50 all took 0.43-0.52 s with sipp itself using ~0.04 s of CPU
# (Asterisk is the bottleneck); -l 100 and above gave sporadic runs twice as long.
SIPP_RATE = 5000
SIPP_LIMIT = 50
# How long sipp's registrations last (register_many.xml's Expires): readiness as before; the GET /registrations
# measurement long enough to outlast it (its contacts are cleared at its end).
READINESS_EXPIRES_S = 60
REGISTRATIONS_EXPIRES_S = 600
# The server's CLI read behind GET /registrations: the commands AsteriskCli::ReadRegistrations
# (server/asterisk/asterisk_cli.cc) runs side by side in one exec. The report says whether that file still names
# them; if it does not, update this.
SERVER_CLI_SOURCE = h.REPO_ROOT / "server" / "asterisk" / "asterisk_cli.cc"
SERVER_REGISTRATION_COMMANDS = ("pjsip show aors", "database show registrar/contact")
# The reference of GET /registrations: the bare contacts listing over a kept session.
CONTACTS_COMMAND = "pjsip show contacts"
# The references of a no-op Apply and of Preview take their command lines from the server's own InspectHost
# (server/asterisk/host_inspection.cc; pbx-bench-cli-floor --inspect records the exec it sends), so they cannot
# drift from its commands. What could drift is which reads Apply and Preview ask it for: these files must still
# hold these strings (the report warns otherwise; then update the --inspect kinds below).
SERVER_INSPECTION_SOURCES = {
    h.REPO_ROOT / "server" / "apply" / "apply_operations.cc": (
        "InspectHost(", "FileRead::kSha256", "request.live_state =", "request.probe_daemon = true"),
    h.REPO_ROOT / "server" / "apply" / "apply_inspection.cc": ("InspectHost(", "FileRead::kContent"),
}
# pbx-bench-cli-floor --inspect kinds: a likely no-op Apply's one round trip (both files' sha256sum and the four
# live lists, the reference) and Preview's (both files whole).
NOOP_INSPECTION = "hashes-live"
PREVIEW_INSPECTION = "contents"


class BenchError(RuntimeError):
    """A measurement could not be taken (what failed and where its logs are)."""


@dataclass(frozen=True)
class Plan:
    name: str
    create_clients: tuple[int, ...]
    create_samples: int
    create_warmup: int
    read_users: int
    list_samples: int
    get_clients: tuple[int, ...]
    get_samples: int
    delete_clients: tuple[int, ...]
    delete_samples: int
    apply_sizes: tuple[int, ...]
    apply_runs: int
    floor_runs: int
    token_check_runs: int
    batch_size: int         # users per batch create (and per round of the single creates beside it)
    batch_runs: int         # timed batches per path
    batch_warmup: int
    single_rounds: int      # rounds of batch_size single creates (REST, one client) beside the batches
    change_samples: int     # update and rotate, per path and concurrency (get_clients)
    registration_samples: int  # GET /registrations per path, and runs of each CLI reference
    inspection_samples: int  # no-op Applies and previews per path, and runs of their round-trip references
    hosts_rounds: int       # rounds of one changing Apply to one host and one to two hosts (plan.phones users)

    @property
    def phones(self) -> int:
        """Readiness registers every user of the largest Apply."""
        return max(self.apply_sizes)


FULL = Plan(name="full", create_clients=(1, 16, 64), create_samples=2000, create_warmup=200,
            read_users=1000, list_samples=1000, get_clients=(1, 16), get_samples=2000,
            delete_clients=(1, 16), delete_samples=2000, apply_sizes=(10, 100, 1000), apply_runs=5,
            floor_runs=7, token_check_runs=200000, batch_size=1000, batch_runs=15, batch_warmup=2,
            single_rounds=2, change_samples=1000, registration_samples=100, inspection_samples=40,
            hosts_rounds=9)
QUICK = Plan(name="quick", create_clients=(1, 4), create_samples=40, create_warmup=10,
             read_users=20, list_samples=20, get_clients=(1, 4), get_samples=40,
             delete_clients=(1, 4), delete_samples=20, apply_sizes=(10,), apply_runs=2, floor_runs=3,
             token_check_runs=2000, batch_size=20, batch_runs=3, batch_warmup=1, single_rounds=1,
             change_samples=20, registration_samples=10, inspection_samples=5, hosts_rounds=2)


@dataclass
class Stack:
    cluster: h.PgCluster
    db_name: str
    portal: h.Portal
    lab: lab_mod.Lab
    loadgen: Path
    reload_floor: Path
    work_dir: Path

    @property
    def db_url(self) -> str:
        return self.cluster.url(self.db_name)

    def sql(self, statement: str) -> str:
        return self.cluster.psql(self.db_name, statement)


def log(message: str):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- the load generator

def loadgen(stack: Stack, mode: str, clients: int, count: int, warmup: int, *, empty_first: bool = True,
            extra: tuple[str, ...] = (), http: str | None = None) -> dict:
    """One run of tests/perf/loadgen; its JSON summary. REST goes to HTTP (a gateway's base URL; default: the
    bench portal's)."""
    argv = [str(stack.loadgen), "-mode", mode, "-c", str(clients), "-n", str(count), "-warmup", str(warmup),
            "-db", stack.db_url, "-grpc", stack.portal.grpc_addr, "-http", http or stack.portal.base_url,
            "-token-file", str(h.admin_token_file(stack.db_url)),
            f"-empty={'true' if empty_first else 'false'}", *extra]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise BenchError(f"loadgen {mode} -c {clients} failed ({r.returncode}): {r.stderr.strip()}\n"
                         f"server log: {stack.portal.server.proc.stderr_path}")
    return json.loads(r.stdout)


def _with_path(summary: dict, operation: str) -> dict:
    """The summary with what was measured spelled out: operation, and path postgres, grpc or rest."""
    transport = summary["mode"].partition("-")[2]
    path = {"pg": "postgres", "rows": "postgres-rows", "grpc": "grpc", "rest": "rest"}[transport]
    return {"operation": operation, "path": path, **summary}


# --------------------------------------------------------------------------- create

class StatementCheck:
    """Checks with pg_stat_statements that the Postgres floor runs the server's statements: every statement the
    floor ran once per create must have run once per create through the server too. Available only when the
    cluster preloads pg_stat_statements (tests/bench's own cluster does)."""

    def __init__(self, stack: Stack):
        self.stack = stack
        preload = stack.sql("SHOW shared_preload_libraries").strip()
        self.available = "pg_stat_statements" in preload
        if self.available:
            stack.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def reset(self):
        self.stack.sql("SELECT pg_stat_statements_reset()")

    def per_create(self, creates: int) -> dict[str, dict]:
        """Statements of this database run at least once per create: {queryid: {query, calls}}."""
        rows = self.stack.sql(
            "SELECT json_agg(json_build_object('queryid', queryid::text, 'calls', calls, 'query', query)) "
            "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            f"AND calls >= {int(creates)}").strip()
        return {r["queryid"]: r for r in json.loads(rows or "null") or []}

    @staticmethod
    def compare(floor: dict[str, dict], server: dict[str, dict], creates: int) -> dict:
        def describe(stmts, ids):
            return [{"query": re.sub(r"\s+", " ", stmts[i]["query"])[:160],
                     "calls_per_create": round(stmts[i]["calls"] / creates, 2)} for i in sorted(ids)]
        missing = set(floor) - set(server)
        return {"checked": True, "same": not missing and len(floor) > 0,
                "floor_statements": describe(floor, set(floor)),
                "floor_only": describe(floor, missing),
                "server_only": describe(server, set(server) - set(floor))}


def measure_creates(stack: Stack, plan: Plan) -> tuple[list[dict], dict]:
    """CreateUser at each concurrency: the Postgres floor, direct gRPC and REST through the gateway, one right
    after the other, so each figure's references are measured seconds before it."""
    check = StatementCheck(stack)
    statements: dict = {"checked": False, "reason": "pg_stat_statements is not preloaded in this cluster"}
    results = []
    creates_per_run = plan.create_samples + plan.create_warmup
    for clients in plan.create_clients:
        snapshots = {}
        for mode in ("create-pg", "create-grpc", "create-rest"):
            verify = check.available and clients == plan.create_clients[0] and mode != "create-rest"
            if verify:
                check.reset()
            log(f"create: {mode} with {clients} clients, {plan.create_samples} samples")
            summary = loadgen(stack, mode, clients, plan.create_samples, plan.create_warmup)
            if verify:
                snapshots[mode] = check.per_create(creates_per_run)
            results.append(_with_path(summary, "create"))
        if snapshots:
            statements = StatementCheck.compare(snapshots["create-pg"], snapshots["create-grpc"], creates_per_run)
    return results, statements


# --------------------------------------------------------------------------- replicas

def measure_replicas(stack: Stack, plan: Plan) -> dict:
    """REST create through the gateway with one server behind it (the bench's portal) and with two (a second
    server on the same database, one gateway with PBX_GRPC_TARGET listing both: round robin), at the create
    step's concurrencies and sample counts, same load generator, one right after the other (which goes first
    alternates by concurrency). Each server's count of creates it answered shows that both served. No target."""
    try:
        # tests/e2e/replicas.py: the bench's own server first, a second one with the same settings; both must
        # report SERVING before the gateway starts.
        replicas = Replicas(stack.db_url, f"bench-{plan.name}-replicas", count=1, server_env=stack.lab.server_env(),
                            adopt=[stack.portal.server])
    except ReplicaError as e:
        raise BenchError(f"replicas: {e}") from None
    rows = []
    try:
        for i, clients in enumerate(plan.create_clients):
            row: dict = {"concurrency": clients}
            order = ("one", "two") if i % 2 == 0 else ("two", "one")
            for label in order:
                before = [replicas.handled(n, method="CreateUser", code="OK") for n in range(2)]
                log(f"replicas: create-rest with {clients} clients, {plan.create_samples} samples, through a gateway "
                    f"with {label} server{'s' if label == 'two' else ''} behind it")
                summary = loadgen(stack, "create-rest", clients, plan.create_samples, plan.create_warmup,
                                  http=stack.portal.base_url if label == "one" else replicas.base_url)
                if summary["errors"]:
                    raise BenchError(f"replicas ({label}): {summary['errors']} failed creates, first: "
                                     f"{summary.get('first_error')}")
                served = [replicas.handled(n, method="CreateUser", code="OK") - before[n] for n in range(2)]
                row[label] = {**_with_path(summary, "create"), "served_by_server": served}
            if not all(row["two"]["served_by_server"]) or row["one"]["served_by_server"][1]:
                raise BenchError(f"replicas: the creates were not spread as configured: one server "
                                 f"{row['one']['served_by_server']}, two servers {row['two']['served_by_server']} "
                                 f"(gateway log: {replicas.gateway.proc.stderr_path})")
            row["ratio_p50"] = row["two"]["p50_ms"] / row["one"]["p50_ms"]
            row["ratio_p90"] = row["two"]["p90_ms"] / row["one"]["p90_ms"]
            rows.append(row)
    finally:
        problems = replicas.unclean(replicas.close())
        if problems:
            log(f"WARNING: replicas: unclean shutdown: {'; '.join(problems)} (logs in {h.LOG_DIR})")
    return {"servers": len(replicas.servers), "grpc_target": replicas.target, "rows": rows}


# --------------------------------------------------------------------------- batch create

def measure_batch_create(stack: Stack, plan: Plan) -> dict:
    """BatchCreateUsers of plan.batch_size users on an empty pool, beside its two references measured right before
    and after it: the same rows inserted straight into PostgreSQL in one transaction (bare INSERTs), and
    plan.batch_size single creates sent one by one by the same client. Also the server's own batch transaction
    sent straight to PostgreSQL (the create floor's code with batch_size rows). Every user carries two metadata
    entries; every batch and every round of single creates starts on emptied tables (untimed)."""
    size = plan.batch_size
    extra = ("-batch", str(size), "-metadata")
    result: dict = {"users": size}
    for mode, key in (("batch-rows", "rows"), ("batch-pg", "server_sql"), ("batch-grpc", "grpc"),
                      ("batch-rest", "rest")):
        log(f"batch: {mode}, {plan.batch_runs} batches of {size}")
        summary = loadgen(stack, mode, 1, plan.batch_runs, plan.batch_warmup, extra=extra)
        if summary["errors"]:
            raise BenchError(f"{mode}: {summary['errors']} failed batches, first: {summary.get('first_error')}")
        result[key] = summary
        # The last batch's users stay until the next run empties the tables.
        created = int(stack.sql("SELECT count(*) FROM users JOIN extensions e ON e.user_id = users.id").strip())
        if created != size:
            raise BenchError(f"{mode}: {created} users after a batch of {size}")
    if stack.portal.client.count_users() != size:
        raise BenchError(f"GET /users does not list the {size} users of the last batch")
    log(f"batch: {plan.single_rounds} x {size} single creates, create-rest, one client")
    singles = loadgen(stack, "create-rest", 1, size * plan.single_rounds, min(10, size),
                      extra=("-round", str(size), "-metadata"))
    if singles["errors"]:
        raise BenchError(f"single creates: {singles['errors']} failed, first: {singles.get('first_error')}")
    result["singles"] = singles
    result["singles_ms"] = statistics.mean(singles["rounds_s"]) * 1000
    rest_ms = result["rest"]["p50_ms"]
    result["ratio_to_rows"] = rest_ms / result["rows"]["p50_ms"]
    result["ratio_to_server_sql"] = rest_ms / result["server_sql"]["p50_ms"]
    result["grpc_ratio_to_rows"] = result["grpc"]["p50_ms"] / result["rows"]["p50_ms"]
    result["speedup_over_singles"] = result["singles_ms"] / rest_ms
    return result


# --------------------------------------------------------------------------- list, get, delete

def measure_reads(stack: Stack, plan: Plan) -> list[dict]:
    """List with plan.read_users users, get, update (a new name each time), rotate and delete: gRPC and REST."""
    log(f"reads: creating {plan.read_users} users through the API")
    loadgen(stack, "create-grpc", 16, plan.read_users, 0)
    listed = stack.portal.client.count_users()
    if listed != plan.read_users:
        raise BenchError(f"GET /users lists {listed} users, want {plan.read_users}")
    results = []
    for transport in ("grpc", "rest"):
        log(f"reads: list-{transport}, {plan.list_samples} samples")
        results.append(_with_path(loadgen(stack, f"list-{transport}", 1, plan.list_samples,
                                          max(5, plan.list_samples // 10)), "list"))
        results[-1]["users"] = plan.read_users
    for clients in plan.get_clients:
        for transport in ("grpc", "rest"):
            log(f"reads: get-{transport} with {clients} clients")
            results.append(_with_path(loadgen(stack, f"get-{transport}", clients, plan.get_samples,
                                              max(10, plan.get_samples // 10)), "get"))
    # Update and rotate the same users, round-robin: each a transaction with its change-audit row.
    for operation in ("update", "rotate"):
        for clients in plan.get_clients:
            for transport in ("grpc", "rest"):
                log(f"reads: {operation}-{transport} with {clients} clients")
                results.append(_with_path(loadgen(stack, f"{operation}-{transport}", clients, plan.change_samples,
                                                  max(10, plan.change_samples // 10)), operation))
    listed = stack.portal.client.count_users()
    if listed != plan.read_users:
        raise BenchError(f"GET /users lists {listed} users after updates and rotations, want {plan.read_users}")
    # Deletes refill the tables (one SQL statement, untimed) before each round of up to 1000.
    for clients in plan.delete_clients:
        for transport in ("grpc", "rest"):
            log(f"reads: delete-{transport} with {clients} clients")
            results.append(_with_path(loadgen(stack, f"delete-{transport}", clients, plan.delete_samples,
                                              max(10, plan.delete_samples // 10)), "delete"))
    return results


# --------------------------------------------------------------------------- Apply

def _us(value) -> int:
    return int(value)  # int64 fields arrive as JSON strings


def _phases(entry: dict) -> list[dict]:
    return [{"name": p["name"], "duration_us": _us(p.get("duration_us", 0))} for p in entry.get("phases", [])]


def apply_once(stack: Stack, portal: h.Portal | None = None) -> dict:
    """POST /apply (to PORTAL's gateway; default: the bench portal's); the wall time from sending the request to
    the end of the response, and the audit entry: its phases and each host's (name, outcome, changed, phases)."""
    client = (portal or stack.portal).client
    started = time.monotonic()
    r = client.post("/apply", {"note": "tests/bench"}, timeout=300)
    returned = time.monotonic()
    if r.status != 200:
        raise BenchError(f"POST /apply -> {r.status}: {r.text[:500]}")
    audit = r.json["audit"]
    return {"wall_ms": (returned - started) * 1000, "returned_at": returned, "changed": audit.get("changed"),
            "server_ms": _us(audit.get("duration_ms", 0)), "user_count": int(audit.get("user_count", 0)),
            "phases": _phases(audit),
            "hosts": [{"name": x["name"], "outcome": x.get("outcome"), "changed": x.get("changed", False),
                       "phases": _phases(x)} for x in audit.get("hosts", [])]}


def replace_one_user(stack: Stack):
    """Delete the user with the highest extension and create another (which gets that extension and a new
    password): every Apply then has a real change to push, as in use; none can pass for a no-op."""
    users = stack.portal.client.list_users()
    last = max(users, key=lambda u: u["extension"])
    r = stack.portal.client.delete(f"/users/{last['id']}")
    if r.status != 200:
        raise BenchError(f"DELETE /users/{last['id']} -> {r.status}: {r.text[:300]}")
    r = stack.portal.client.create_user("Bench Replacement", f"bench-replacement-{time.time_ns()}@example.com")
    if r.status != 201:
        raise BenchError(f"POST /users -> {r.status}: {r.text[:300]}")


def ordered_phase_names(runs: list[dict]) -> list[str]:
    seen = []
    for run in runs:
        for p in run["phases"]:
            if p["name"] not in seen:
                seen.append(p["name"])
    return [n for n in KNOWN_PHASES if n in seen] + [n for n in seen if n not in KNOWN_PHASES]


def phase_medians(runs: list[dict]) -> list[dict]:
    """Median time per phase over the runs that reported it, known phases first."""
    medians = []
    for name in ordered_phase_names(runs):
        values = [p["duration_us"] for run in runs for p in run["phases"] if p["name"] == name]
        medians.append({"name": name, "median_ms": statistics.median(values) / 1000, "runs": len(values)})
    return medians


def reload_floor(stack: Stack, runs: int) -> dict:
    env = dict(os.environ)
    env.update({k: v for k, v in stack.lab.server_env().items() if k.startswith("PBX_ASTERISK_")})
    argv = [str(stack.reload_floor), "--runs", str(runs),
            "--touch", lab_mod.PJSIP_PATH, "--touch", lab_mod.DIALPLAN_PATH]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0:
        raise BenchError(f"{stack.reload_floor.name} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def measure_token_check(stack: Stack, plan: Plan) -> dict:
    """What checking an API token costs the server per call (tests/perf/token_check.cc), next to the create p50s
    that include it."""
    tool = stack.reload_floor.parent / "pbx-bench-token-check"
    r = subprocess.run([str(tool), "--keys", "1000", "--runs", str(plan.token_check_runs)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise BenchError(f"{tool.name} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def fill_through_api(stack: Stack, users: int):
    """Exactly `users` users, created through the API (on emptied tables)."""
    loadgen(stack, "create-grpc", 16, users, 0)
    listed = stack.portal.client.count_users()
    if listed != users:
        raise BenchError(f"{listed} users after creating {users}")


def measure_apply(stack: Stack, plan: Plan) -> list[dict]:
    """Apply at each size, plan.apply_runs times after a one-user change each, then the reload floor on the
    files the last Apply wrote. The first run after the users were created is reported apart as cold. Every
    run must answer changed: true (an Apply that changes nothing writes and reloads nothing: not this figure)."""
    results = []
    for size in plan.apply_sizes:
        log(f"apply: {size} users, {plan.apply_runs} runs")
        fill_through_api(stack, size)
        runs = []
        for i in range(plan.apply_runs):
            if i > 0:
                replace_one_user(stack)
            run = apply_once(stack)
            if run["user_count"] != size:
                raise BenchError(f"Apply pushed {run['user_count']} users, want {size}")
            if run["changed"] is not True:
                raise BenchError(f"Apply run {i + 1} of {size} users answered changed={run['changed']} after a "
                                 "change: it did not write and reload, so it cannot be timed as a changing Apply")
            run.pop("returned_at")
            runs.append(run)
        log(f"apply: reload floor after {size} users, {plan.floor_runs} runs")
        floor = reload_floor(stack, plan.floor_runs)
        walls = [r["wall_ms"] for r in runs]
        median_ms = statistics.median(walls)
        results.append({
            "users": size, "runs": runs, "wall_median_ms": median_ms, "wall_cold_ms": walls[0],
            "wall_warm_median_ms": statistics.median(walls[1:]) if len(walls) > 1 else None,
            "server_median_ms": statistics.median(r["server_ms"] for r in runs),
            "phases": phase_medians(runs), "floor": floor,
            "ratio_to_cold_floor": median_ms / floor["cold_ms"]["median"],
            "ratio_to_warm_floor": median_ms / floor["warm_ms"]["median"],
        })
    return results


# --------------------------------------------------------------------------- no-op Apply and preview

def server_inspection_in_source() -> bool:
    """Whether Apply and Preview still ask InspectHost for the reads the --inspect kinds model."""
    try:
        return all(all(needle in path.read_text() for needle in needles)
                   for path, needles in SERVER_INSPECTION_SOURCES.items())
    except OSError:
        return False


def inspection_floor(stack: Stack, kind: str, runs: int, warmup: int) -> dict:
    """pbx-bench-cli-floor --inspect KIND on the two generated files: the server's InspectHost exec on one kept
    session (and InspectHost itself, parsing included, alternating with it)."""
    tool = stack.reload_floor.parent / "pbx-bench-cli-floor"
    env = dict(os.environ)
    env.update({k: v for k, v in stack.lab.server_env().items() if k.startswith("PBX_ASTERISK_")})
    argv = [str(tool), "--runs", str(runs), "--warmup", str(warmup), "--inspect", kind,
            "--file", lab_mod.PJSIP_PATH, "--file", lab_mod.DIALPLAN_PATH]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0:
        raise BenchError(f"{tool.name} --inspect {kind} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def checked_loadgen(stack: Stack, mode: str, count: int, warmup: int, expect: str, operation: str) -> dict:
    """One client, one request after another; every answer checked against `expect` by the load generator, and
    a run with any error (a wrong answer among them) is no figure."""
    summary = _with_path(loadgen(stack, mode, 1, count, warmup, extra=("-expect", expect)), operation)
    if summary["errors"]:
        raise BenchError(f"{mode} -expect {expect}: {summary['errors']} of {count} failed, first: "
                         f"{summary.get('first_error')} (server log: {stack.portal.server.proc.stderr_path})")
    return summary


def preview_once(stack: Stack) -> dict:
    """POST /apply:preview, untimed: what it says (no secrets: extensions, aspects, hashes)."""
    r = stack.portal.client.post("/apply:preview", {}, timeout=120)
    if r.status != 200:
        raise BenchError(f"POST /apply:preview -> {r.status}: {r.text[:500]}")
    p = r.json
    return {"would_write": p["would_write"], "reason": p["reason"], "user_count": int(p["user_count"]),
            "added": len(p["added_extensions"]), "removed": len(p["removed_extensions"]),
            "changed": [{"extension": c["extension"], "aspects": c["aspects"]} for c in p["changed_extensions"]],
            "files_differ": [f["differs"] for f in p["files"]]}


def measure_noop_apply(stack: Stack, plan: Plan) -> dict:
    """Apply of plan.phones users (those measure_apply applied last) when nothing changed: first a few through
    the driver (each answer must say changed: false; they give the phases), then REST and gRPC through the load
    generator, every answer checked. The reference right before them: the round trip a likely no-op Apply makes,
    both files' sha256sum and the four live lists side by side in one exec on a kept session, as the server's
    InspectHost sends it; and the no-op command `true` (the server no longer sends it before reusing a kept
    session; kept as the floor of one exec)."""
    users = plan.phones
    listed = stack.portal.client.count_users()
    if listed != users:
        raise BenchError(f"no-op Apply: {listed} users, want the {users} the last Apply pushed")
    samples, warmup = plan.inspection_samples, max(2, plan.inspection_samples // 10)
    # The last measured Apply pushed these users; one more brings the host in step if anything moved since.
    settle = [apply_once(stack) for _ in range(2)]
    if settle[-1]["changed"] is not False:
        raise BenchError(f"two Applies in a row without a change: the second answered changed="
                         f"{settle[-1]['changed']}, so no Apply is a no-op (server log: "
                         f"{stack.portal.server.proc.stderr_path})")
    log(f"no-op Apply: {plan.apply_runs} runs through the driver (phases)")
    runs = []
    for i in range(plan.apply_runs):
        run = apply_once(stack)
        run.pop("returned_at")
        if run["changed"] is not False or run["user_count"] != users:
            raise BenchError(f"no-op Apply run {i + 1}: changed={run['changed']}, {run['user_count']} users")
        names = {p["name"] for p in run["phases"]}
        if "inspect" not in names or names & {"upload", "rename", "reload"}:
            raise BenchError(f"no-op Apply run {i + 1} reported phases {sorted(names)}")
        runs.append(run)
    log(f"no-op Apply: reference (InspectHost {NOOP_INSPECTION}), {samples} runs on a kept session")
    floor = inspection_floor(stack, NOOP_INSPECTION, samples, warmup)
    api = []
    for transport in ("rest", "grpc"):
        log(f"no-op Apply: apply-{transport}, {samples} samples, each answer changed: false")
        api.append(checked_loadgen(stack, f"apply-{transport}", samples, warmup, "unchanged", "no-op apply"))
    session_check = cli_floor(stack, ["true"], samples, warmup, shell=True)
    rest = next(r for r in api if r["path"] == "rest")
    grpc = next(r for r in api if r["path"] == "grpc")
    return {"users": users, "runs": runs, "phases": phase_medians(runs),
            "wall_median_ms": statistics.median(r["wall_ms"] for r in runs),
            "server_median_ms": statistics.median(r["server_ms"] for r in runs),
            "api": api, "floor": floor, "session_check": session_check,
            "server_inspection_in_source": server_inspection_in_source(),
            "ratio_to_floor": rest["p50_ms"] / floor["ms"]["p50"],
            "grpc_ratio_to_floor": grpc["p50_ms"] / floor["ms"]["p50"]}


def measure_preview(stack: Stack, plan: Plan) -> dict:
    """POST /apply:preview with plan.phones users: first in sync (the files equal the rendered ones, so it also
    reads the live lists; no target), then after one user was replaced (the files differ: the common case),
    REST and gRPC, every answer checked (would_write false, then true). The reference right before the
    changed previews: both files read whole (`cat`) side by side in one exec on a kept session, as the server's
    InspectHost sends it."""
    samples, warmup = plan.inspection_samples, max(2, plan.inspection_samples // 10)
    in_sync_answer = preview_once(stack)
    if in_sync_answer["would_write"] or in_sync_answer["user_count"] != plan.phones:
        raise BenchError(f"preview right after a no-op Apply: {in_sync_answer}")
    in_sync = []
    for transport in ("rest", "grpc"):
        log(f"preview: in sync, preview-{transport}, {samples} samples, each answer would_write: false")
        in_sync.append(checked_loadgen(stack, f"preview-{transport}", samples, warmup, "no-write",
                                       "preview (in sync)"))
    replace_one_user(stack)
    changed_answer = preview_once(stack)
    if not changed_answer["would_write"] or not any(changed_answer["files_differ"]):
        raise BenchError(f"preview after a one-user change: {changed_answer}")
    log(f"preview: reference (InspectHost {PREVIEW_INSPECTION}), {samples} runs on a kept session")
    floor = inspection_floor(stack, PREVIEW_INSPECTION, samples, warmup)
    api = []
    for transport in ("rest", "grpc"):
        log(f"preview: files differ, preview-{transport}, {samples} samples, each answer would_write: true")
        api.append(checked_loadgen(stack, f"preview-{transport}", samples, warmup, "write", "preview"))
    rest = next(r for r in api if r["path"] == "rest")
    in_sync_rest = next(r for r in in_sync if r["path"] == "rest")
    return {"users": plan.phones, "changed_answer": changed_answer, "in_sync_answer": in_sync_answer,
            "api": api, "in_sync_api": in_sync, "floor": floor,
            "server_inspection_in_source": server_inspection_in_source(),
            "ratio_to_floor": rest["p50_ms"] / floor["ms"]["p50"],
            "in_sync_ratio_to_floor": in_sync_rest["p50_ms"] / floor["ms"]["p50"]}


# --------------------------------------------------------------------------- Apply to two hosts

def second_lab() -> lab_mod.Lab:
    """The second Asterisk lab (PBX_TEST_LAB_B_*: tests/bench's build/bench-lab-b, or tests/run's test-lab-b)."""
    try:
        return lab_mod.Lab.second()
    except KeyError as e:
        raise BenchError(f"{e.args[0]} (tests/bench starts build/bench-lab-b; with --use-test-env, tests/run's "
                         "second lab)") from None


HOST_CONFIGS = {"one": ("a",), "two": ("a", "b")}


def measure_hosts_apply(stack: Stack, plan: Plan) -> dict:
    """A changing Apply of plan.phones users to one Asterisk host and to two, in the same run on the same users:
    two more portals on the bench's database, one whose server has PBX_ASTERISK_HOSTS=a (the bench's lab) and one
    with a,b (and the second lab). plan.hosts_rounds rounds of one Apply through each, the order alternating
    (one-two, two-one, ...) so a drift of the machine weighs on both alike, each Apply after a one-user change
    (replace_one_user: every answer must say changed: true, on every host). One untimed changing Apply through
    each first (their first SSH sessions; the second lab may hold another run's files). The wall time of
    POST /apply; each host's phases from the answer's hosts[]."""
    labs = {"a": stack.lab, "b": second_lab()}
    users = plan.phones
    log(f"hosts: {users} users, Apply to one host and to two, {plan.hosts_rounds} rounds")
    fill_through_api(stack, users)
    portals: dict[str, h.Portal] = {}
    runs: dict[str, list[dict]] = {label: [] for label in HOST_CONFIGS}
    try:
        for label, names in HOST_CONFIGS.items():
            portals[label] = h.Portal(stack.db_url, f"bench-{plan.name}-hosts-{label}",
                                      server_env=lab_mod.hosts_server_env({n: labs[n] for n in names}))
        for portal in portals.values():
            portal.wait_healthy()

        def changing_apply(label: str, what: str) -> dict:
            replace_one_user(stack)
            run = apply_once(stack, portals[label])
            run.pop("returned_at")
            names = [x["name"] for x in run["hosts"]]
            if run["changed"] is not True or run["user_count"] != users or names != list(HOST_CONFIGS[label]) \
                    or not all(x["changed"] is True and x["outcome"] == "APPLY_OUTCOME_SUCCESS" for x in run["hosts"]):
                raise BenchError(f"{what}: Apply to {label} host(s) after a one-user change answered changed="
                                 f"{run['changed']}, {run['user_count']} users, hosts {run['hosts']} (want "
                                 f"{HOST_CONFIGS[label]}, each changed; server log: "
                                 f"{portals[label].server.proc.stderr_path})")
            return run
        for label in HOST_CONFIGS:
            changing_apply(label, "warm-up")
        for i in range(plan.hosts_rounds):
            for label in (("one", "two") if i % 2 == 0 else ("two", "one")):
                runs[label].append(changing_apply(label, f"round {i + 1}"))
    finally:
        for label, portal in portals.items():
            codes = portal.stop()
            if any(rc != 0 for rc in codes.values()):
                log(f"WARNING: hosts ({label}): unclean shutdown {codes} (logs in {h.LOG_DIR})")
    result: dict = {"users": users, "rounds": plan.hosts_rounds,
                    "labs": {n: f"SSH {lab.ssh_host}:{lab.ssh_port}, SIP {lab.sip_port}" for n, lab in labs.items()}}
    for label, names in HOST_CONFIGS.items():
        walls = [r["wall_ms"] for r in runs[label]]
        result[label] = {
            "hosts": list(names), "runs": runs[label], "wall_p50_ms": statistics.median(walls),
            "wall_min_ms": min(walls), "wall_max_ms": max(walls),
            "server_p50_ms": statistics.median(r["server_ms"] for r in runs[label]),
            "phases": phase_medians(runs[label]),
            "host_phases": {n: phase_medians([next(x for x in r["hosts"] if x["name"] == n) for r in runs[label]])
                            for n in names}}
    result["ratio"] = result["two"]["wall_p50_ms"] / result["one"]["wall_p50_ms"]
    return result


# --------------------------------------------------------------------------- readiness

def sip_credentials(stack: Stack) -> list[tuple[int, str]]:
    """(extension, password) of every user, as the API hands them out."""
    users = stack.portal.client.list_users()

    def one(user):
        r = stack.portal.client.get(f"/users/{user['id']}/sip-credentials")
        if r.status != 200:
            raise BenchError(f"GET sip-credentials -> {r.status}: {r.text[:300]}")
        return int(r.json["extension"]), r.json["password"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sorted(pool.map(one, users))


def write_injection_file(path: Path, phones: list[tuple[int, str]]):
    # In [authentication password=...] sipp 3.6 reads a value starting with "0x" as hex (a password like
    # "0xhs..." then fails), so every password goes hex-encoded behind "0x".
    lines = ["SEQUENTIAL"] + [f"{ext};[authentication username={ext} password=0x{pw.encode().hex()}]"
                              for ext, pw in phones]
    path.write_text("\n".join(lines) + "\n")


def sipp_argv(stack: Stack, injection: Path, phones: int, expires_s: int = READINESS_EXPIRES_S) -> list[str]:
    return ["sipp", f"127.0.0.1:{stack.lab.sip_port}", "-sf", str(REGISTER_SCENARIO), "-inf", str(injection),
            "-key", "expires", str(expires_s), "-m", str(phones), "-r", str(SIPP_RATE), "-rp", "1000", "-l", str(SIPP_LIMIT),
            "-i", "127.0.0.1", "-p", str(lab_mod.free_udp_port()), "-mp", str(lab_mod.free_udp_port()),
            "-nostdin", "-timeout", "60s", "-trace_err", "-trace_stat", "-stf", "stats.csv"]


def run_sipp(argv: list[str], directory: Path, started: float) -> dict:
    """Runs sipp to the end; milliseconds from `started` (a time.monotonic()) to its exit, its own CPU time,
    and the calls it counted."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "stdout.log", "wb") as out:
        proc = subprocess.Popen(argv, cwd=str(directory), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    ended = time.monotonic()
    proc.returncode = os.waitstatus_to_exitcode(status)
    successful = failed = None
    stats = directory / "stats.csv"
    if stats.exists():
        lines = [ln for ln in stats.read_text().splitlines() if ln.strip()]
        header, last = lines[0].split(";"), lines[-1].split(";")
        successful = int(last[header.index("SuccessfulCall(C)")])
        failed = int(last[header.index("FailedCall(C)")])
    return {"ms": (ended - started) * 1000, "exit": proc.returncode, "successful": successful, "failed": failed,
            "sipp_cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000, "logs": str(directory)}


def registered_contacts(stack: Stack, extensions: set[int], sipp_port: int) -> int:
    """How many of these extensions have a contact in the live Asterisk (`pjsip show contacts`) that this sipp
    run registered (its local port is in the contact URI, so an older registration does not count)."""
    found = re.findall(r"^\s*Contact:\s+(\d+)/sip:\d+@127\.0\.0\.1:(\d+)", stack.lab.contacts(), re.M)
    return len({int(ext) for ext, port in found if int(port) == sipp_port} & extensions)


def measure_readiness(stack: Stack, plan: Plan) -> dict:
    """From an Apply of plan.phones users returning until sipp has registered every one of them; then the same
    registrations with nothing else going on (sipp alone), as the reference."""
    log(f"readiness: Apply of {plan.phones} users, then sipp registers all of them")
    fill_through_api(stack, plan.phones)
    phones = sip_credentials(stack)
    extensions = {ext for ext, _ in phones}
    directory = Path(tempfile.mkdtemp(prefix="readiness.", dir=stack.work_dir))
    injection = directory / "phones.csv"
    write_injection_file(injection, phones)
    argv = sipp_argv(stack, injection, len(phones))
    shown = (" ".join(["sipp", "127.0.0.1:SIP_PORT"] + argv[2:]).replace(str(injection), "phones.csv")
             .replace(str(h.REPO_ROOT) + "/", ""))

    sipp_port = int(argv[argv.index("-p") + 1])

    try:
        applied = apply_once(stack)
        after_apply = run_sipp(argv, directory / "after-apply", applied["returned_at"])
        contacts_after_apply = registered_contacts(stack, extensions, sipp_port)

        alone = run_sipp(argv, directory / "alone", time.monotonic())
        contacts_alone = registered_contacts(stack, extensions, sipp_port)
    finally:
        injection.unlink()  # it holds every SIP password; sipp's logs stay for a look at failures
    return {"phones": len(phones), "apply_wall_ms": applied["wall_ms"], "ready_ms": after_apply["ms"],
            "after_apply": after_apply, "contacts_after_apply": contacts_after_apply,
            "sipp_alone": alone, "contacts_alone": contacts_alone,
            "sipp_command": shown}


# --------------------------------------------------------------------------- registrations

def cli_floor(stack: Stack, commands: list[str], runs: int, warmup: int, *, shell: bool = False) -> dict:
    """pbx-bench-cli-floor: `asterisk -rx` of the commands (side by side when several; with shell, the command
    lines as they are) on one kept SSH session."""
    tool = stack.reload_floor.parent / "pbx-bench-cli-floor"
    env = dict(os.environ)
    env.update({k: v for k, v in stack.lab.server_env().items() if k.startswith("PBX_ASTERISK_")})
    argv = [str(tool), "--runs", str(runs), "--warmup", str(warmup)]
    for command in commands:
        argv += ["--shell" if shell else "--command", command]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0:
        raise BenchError(f"{tool.name} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def server_commands_in_source() -> bool:
    """Whether server/asterisk/asterisk_cli.cc still names every command of SERVER_REGISTRATION_COMMANDS."""
    try:
        source = SERVER_CLI_SOURCE.read_text()
    except OSError:
        return False
    return all(f'"{command}"' in source for command in SERVER_REGISTRATION_COMMANDS)


def registered_in_answer(stack: Stack) -> int:
    """Users GET /registrations shows registered."""
    r = stack.portal.client.get("/registrations", timeout=60)
    if r.status != 200:
        raise BenchError(f"GET /registrations -> {r.status}: {r.text[:300]}")
    return sum(1 for reg in r.json if reg.get("registered"))


def measure_registrations(stack: Stack, plan: Plan) -> dict:
    """GET /registrations with every user of readiness (plan.phones) registered, beside the reference: the bare
    `pjsip show contacts` over one kept SSH session (pbx-bench-cli-floor, the server's SSH transport). Also the
    server's own CLI read (the commands of AsteriskCli::ReadRegistrations, side by side in one exec) on a kept
    session, and ListRegistrations over gRPC. All sequential, one client."""
    phones = sip_credentials(stack)
    extensions = {ext for ext, _ in phones}
    directory = Path(tempfile.mkdtemp(prefix="registrations.", dir=stack.work_dir))
    injection = directory / "phones.csv"
    write_injection_file(injection, phones)
    argv = sipp_argv(stack, injection, len(phones), REGISTRATIONS_EXPIRES_S)
    sipp_port = int(argv[argv.index("-p") + 1])
    samples, warmup = plan.registration_samples, max(5, plan.registration_samples // 10)
    log(f"registrations: sipp registers {len(phones)} phones (Expires {REGISTRATIONS_EXPIRES_S} s)")
    # Only this run's contacts: the registrar keeps older ones (in the astdb) until they expire.
    stack.lab.cli("database deltree registrar/contact")
    try:
        registered = run_sipp(argv, directory / "register", time.monotonic())
    finally:
        injection.unlink()
    try:
        contacts = registered_contacts(stack, extensions, sipp_port)
        if registered["successful"] != len(phones) or contacts != len(phones):
            raise BenchError(f"sipp registered {registered['successful']} phones, {contacts} contacts, want "
                             f"{len(phones)} (logs in {registered['logs']})")
        answered_before = registered_in_answer(stack)
        log(f"registrations: reference `{CONTACTS_COMMAND}`, {samples} runs on a kept session")
        floor = cli_floor(stack, [CONTACTS_COMMAND], samples, warmup)
        results = []
        for transport in ("rest", "grpc"):
            log(f"registrations: registrations-{transport}, {samples} samples")
            results.append(_with_path(loadgen(stack, f"registrations-{transport}", 1, samples, warmup),
                                      "list registrations"))
        commands = list(SERVER_REGISTRATION_COMMANDS)
        log(f"registrations: the server's CLI read {commands}, {samples} runs on a kept session")
        server_cli = cli_floor(stack, commands, samples, warmup)
        # The floor of any one exec on the kept session (the server no longer checks it before reuse).
        session_check = cli_floor(stack, ["true"], samples, warmup, shell=True)
        contacts_after = registered_contacts(stack, extensions, sipp_port)
        answered_after = registered_in_answer(stack)
    finally:
        # Gone, so no later test or run on this lab finds them (the registrar keeps them in the astdb).
        stack.lab.cli("database deltree registrar/contact")
    rest = next(r for r in results if r["path"] == "rest")
    return {"phones": len(phones), "expires_s": REGISTRATIONS_EXPIRES_S, "sipp": registered,
            "contacts": contacts, "contacts_after": contacts_after,
            "registered_in_answer": answered_before, "registered_in_answer_after": answered_after,
            "api": results, "contacts_floor": floor, "server_cli": server_cli, "server_commands": commands, "session_check": session_check,
            "server_commands_in_source": server_commands_in_source(),
            "ratio_to_contacts_floor": rest["p50_ms"] / floor["ms"]["p50"],
            "ratio_to_server_cli": rest["p50_ms"] / server_cli["ms"]["p50"]}


# --------------------------------------------------------------------------- memory

def process_memory(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "Threads"):
            fields[key] = int(value.split()[0])  # kB (Threads: a count)
    return {"peak_kb": fields["VmHWM"], "rss_kb": fields["VmRSS"], "threads": fields["Threads"]}


def measure_memory(stack: Stack) -> dict:
    """Peak resident memory (VmHWM) of the server and the gateway after everything above ran."""
    return {"server": process_memory(stack.portal.server.proc.pid),
            "gateway": process_memory(stack.portal.gateway.proc.pid)}
