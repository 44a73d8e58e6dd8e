"""tests/bench's driver (run it through tests/bench, which builds what it needs and starts the stack).

    python3 tests/perf/bench.py --plan full|quick --out DIR --stack "description"

Expects in the environment, as tests/bench (or tests/run) exports them:
  PBX_TEST_PG_HOST/_PORT/_USER      a PostgreSQL cluster (superuser, trust); a database is created and dropped
  PBX_ASTERISK_SSH_*, PBX_ASTERISK_ROOT, PBX_TEST_SIP_PORT   the Asterisk lab (tests/e2e/lab.py reads them)
  PBX_TEST_LAB_B_*                  the second lab, for the Apply to two hosts (lab.py's Lab.second())
  PBX_SERVER_BIN, PBX_GATEWAY_BIN   the binaries (defaults: build/cmake/server/pbx-server, build/bin/pbx-gateway)
  PBX_GRPCURL                       grpcurl (default: build/tools/bin/grpcurl, from deploy/lib/install-deps)
  PBX_BENCH_LOADGEN                 tests/perf/loadgen's binary
  PBX_BENCH_RELOAD_FLOOR            pbx-bench-reload-floor (default: tests/perf/ in the server's build tree; the
                                    other tools, pbx-bench-token-check and pbx-bench-cli-floor, are beside it)
Writes DIR/benchmarks.json and DIR/benchmarks.md and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

import harness as h  # noqa: E402
import lab as lab_mod  # noqa: E402
import report  # noqa: E402
import steps  # noqa: E402


def git_commit() -> str:
    def git(*args):
        return subprocess.run(["git", *args], cwd=h.REPO_ROOT, capture_output=True, text=True).stdout.strip()
    line = git("log", "-1", "--format=%h %s")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return line + (" (with uncommitted changes)" if dirty else "")


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                      if ln.startswith("MemTotal:")))
    return f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB memory, Linux {platform.release()}"


def load_average() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def postgres_settings(stack: steps.Stack) -> str:
    def show(name):
        return stack.sql(f"SHOW {name}").strip()
    return (f"{show('server_version')}, fsync {show('fsync')}, synchronous_commit {show('synchronous_commit')}, "
            f"shared_preload_libraries '{show('shared_preload_libraries')}'")


def reload_floor_binary() -> Path:
    if os.environ.get("PBX_BENCH_RELOAD_FLOOR"):
        return Path(os.environ["PBX_BENCH_RELOAD_FLOOR"])
    # The server's build tree builds it too: <tree>/server/pbx-server -> <tree>/tests/perf/...
    return h.SERVER_BIN.parent.parent / "tests" / "perf" / "pbx-bench-reload-floor"


def run(plan: steps.Plan, stack_description: str) -> dict:
    missing = lab_mod.missing_env() + lab_mod.missing_env(second=True) + [
        k for k in ("PBX_TEST_PG_HOST", "PBX_TEST_PG_PORT", "PBX_BENCH_LOADGEN") if not os.environ.get(k)]
    if missing:
        raise steps.BenchError(f"not set: {', '.join(missing)} (run tests/bench)")
    floor_bin = reload_floor_binary()
    # grpcurl: the replicas step asks each server's grpc.health.v1 before starting the gateway (tests/e2e/replicas.py).
    h.require_binaries(h.SERVER_BIN, h.GATEWAY_BIN, Path(os.environ["PBX_BENCH_LOADGEN"]), floor_bin,
                       floor_bin.parent / "pbx-bench-token-check", floor_bin.parent / "pbx-bench-cli-floor",
                       h.GRPCURL_BIN)

    started = time.monotonic()
    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": git_commit(),
            "machine": machine(), "load_before": load_average(), "plan": plan.name, "stack": stack_description}
    cluster = h.PgCluster(os.environ["PBX_TEST_PG_HOST"], int(os.environ["PBX_TEST_PG_PORT"]),
                          os.environ.get("PBX_TEST_PG_USER", "postgres"))
    h.wait_until(cluster.is_ready, 30, 0.2, "PostgreSQL")
    db_name = cluster.create_db("bench")
    work_dir = h.REPO_ROOT / "build" / "bench" / "work"  # sipp's files and logs
    work_dir.mkdir(parents=True, exist_ok=True)
    lab = lab_mod.Lab()
    portal = None
    try:
        portal = h.Portal(cluster.url(db_name), f"bench-{plan.name}", server_env=lab.server_env())
        portal.wait_healthy()
        stack = steps.Stack(cluster=cluster, db_name=db_name, portal=portal, lab=lab,
                            loadgen=Path(os.environ["PBX_BENCH_LOADGEN"]), reload_floor=floor_bin,
                            work_dir=work_dir)
        meta["postgres"] = postgres_settings(stack)
        server_bin = os.path.relpath(h.SERVER_BIN, h.REPO_ROOT) if h.REPO_ROOT in h.SERVER_BIN.parents \
            else str(h.SERVER_BIN)
        meta["server"] = f"{server_bin}, default settings (PBX_DB_POOL_SIZE 8), Apply over SSH to the lab"
        results: dict = {"meta": meta}
        # The peak memory after each step: which step raised it.
        after = results["memory_by_step"] = [{"step": "started", **steps.measure_memory(stack)}]

        def step(name: str, measure):
            value = measure(stack, plan)
            after.append({"step": name, **steps.measure_memory(stack)})
            return value
        results["create"], results["statements"] = step("create", steps.measure_creates)
        results["replicas"] = step("create through two replicas", steps.measure_replicas)
        results["batch"] = step("batch create", steps.measure_batch_create)
        results["token_check"] = steps.measure_token_check(stack, plan)  # a tool of its own: not the server
        results["reads"] = step("list, get, update, rotate, delete", steps.measure_reads)
        results["apply"] = step("Apply", steps.measure_apply)
        results["noop_apply"] = step("no-op Apply", steps.measure_noop_apply)
        results["preview"] = step("preview", steps.measure_preview)
        results["readiness"] = step("readiness", steps.measure_readiness)
        results["registrations"] = step("registrations", steps.measure_registrations)
        results["hosts_apply"] = step("Apply to one host and to two", steps.measure_hosts_apply)
        results["memory"] = steps.measure_memory(stack)
    finally:
        if portal is not None:
            codes = portal.stop()
            if any(rc != 0 for rc in codes.values()):
                steps.log(f"WARNING: unclean shutdown {codes} (logs in {h.LOG_DIR})")
        cluster.drop_db(db_name)
    meta["load_after"] = load_average()
    meta["duration_s"] = time.monotonic() - started
    results["targets"] = report.evaluate_targets(results)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=("full", "quick"), default="full")
    parser.add_argument("--out", type=Path, required=True, help="directory for benchmarks.json and benchmarks.md")
    parser.add_argument("--stack", default="", help="how the stack was provided, for the report")
    args = parser.parse_args()
    plan = steps.QUICK if args.plan == "quick" else steps.FULL
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        results = run(plan, args.stack)
    except (steps.BenchError, AssertionError) as e:
        print(f"tests/bench: FAILED: {e}", file=sys.stderr)
        return 1
    (args.out / "benchmarks.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "benchmarks.md").write_text(report.render_markdown(results))
    print(report.render_text(results))
    print(f"wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
