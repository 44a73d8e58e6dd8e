"""Soak: a mixed load from many client threads against one portal (server + gateway) whose server applies to the
Asterisk lab, for a fixed time, while the server's and the gateway's RSS are sampled every second.

The workload (per thread, at random with a fixed seed per thread):
  create      POST /users with a unique email; 1 in 20 reuses the email of a user that exists (duplicate)
  list        GET /users
  get         GET /users/{id} of a user some thread created (it may have been deleted meanwhile)
  creds       GET /users/{id}/sip-credentials, likewise
  delete      DELETE /users/{id}, likewise; creates and deletes keep the number of users near TARGET_USERS, far
              below the 1000 extensions of the pool, so the pool is never exhausted
  apply       POST /apply (only the two "operator" threads, which also read status and audit: Applies queue on
              the server's cluster-wide lock, so two are often in flight at once)
  status      GET /apply/status
  audit       GET /apply/audit?limit=20

What is expected (anything else, a 5xx or a transport error included, is an unexpected error):
  create      201; 409 ALREADY_EXISTS only for a duplicate-email create
  list        200 (a JSON array)
  get, creds  200; 404 only for a user whose DELETE some thread saw succeed
  delete      200; 404 only for a user whose DELETE another thread saw succeed (two threads raced)
  apply       200 with outcome SUCCESS; 409 ABORTED (lock wait past PBX_APPLY_LOCK_TIMEOUT_S) only if Applies
              piled up, which the workload allows
  status      200;  audit 200 (a JSON array)

Short (tests/run): 30 s, figures only. PBX_RELIABILITY_LONG=1: 5 minutes, and the memory must be flat: after a
warm-up, the mean RSS of the last third of the run must not exceed the mean of the first third by more than a
generous margin, for both processes. PBX_SOAK_SECONDS / PBX_SOAK_THREADS override the duration and thread count.
Figures: build/reliability/soak.json (requests by operation and status, unexpected errors, RSS series, p50/p99
latency per operation).
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import random
import threading
import time
import uuid

import harness as h
import reliability as R

DURATION_S = float(os.environ.get("PBX_SOAK_SECONDS") or (300 if R.LONG else 30))
THREADS = int(os.environ.get("PBX_SOAK_THREADS") or 16)
SEED = 4242
TARGET_USERS = 300
WARMUP_S = min(30.0, DURATION_S / 5)
# Flat memory (long run): mean RSS of the last third <= mean of the first third * (1 + RSS_GROWTH_RATIO) + RSS_SLACK.
RSS_GROWTH_RATIO = 0.25
RSS_SLACK_KIB = 16 * 1024

# Most threads manage users; OPERATORS threads apply and watch the Apply state, so two Applies are often in flight
# at once (the second waits on the lock) without the queue ever holding every thread.
WEIGHTS = {"create": 28, "list": 8, "get": 18, "creds": 12, "delete": 24, "status": 5, "audit": 5}
OPERATOR_WEIGHTS = {"apply": 30, "status": 35, "audit": 35}
OPERATORS = 2


class Conn:
    """One keep-alive HTTP/1.1 connection per thread (a new TCP connection per request would run the machine out of
    ephemeral ports in a long soak)."""

    def __init__(self, host, port, token):
        self.host, self.port, self.token = host, port, token
        self.c = None

    def request(self, method, path, body=None, timeout=180.0):
        if self.c is None:
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self.c.timeout = timeout
        if self.c.sock is not None:
            self.c.sock.settimeout(timeout)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            self.c.request(method, path, body=data, headers=headers)
            r = self.c.getresponse()
            payload = r.read()
        except Exception:
            self.close()
            raise
        if r.getheader("Connection", "").lower() == "close":
            self.close()
        return h.Response(r.status, payload, r.headers)

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.live: dict[str, str] = {}  # user id -> email
        self.deleted: set[str] = set()
        self.requests = collections.defaultdict(collections.Counter)  # op -> status -> n
        self.latency = collections.defaultdict(list)  # op -> [seconds]
        self.unexpected: list[dict] = []
        self.unexpected_by_op = collections.Counter()
        self.not_found: list[tuple[str, str]] = []  # (op, id): checked against `deleted` at the end
        self.apply_aborted = 0

    def record(self, op, status, seconds):
        with self.lock:
            self.requests[op][status] += 1
            self.latency[op].append(seconds)

    def bad(self, op, what, r=None):
        with self.lock:
            self.unexpected_by_op[op] += 1
            if len(self.unexpected) < 50:
                self.unexpected.append({"op": op, "what": what, "response": repr(r)[:600] if r is not None else None})


def worker(n, base, state: State, stop_at):
    rnd = random.Random(SEED + n)
    conn = Conn(base.host, base.port, base.token)
    mix = OPERATOR_WEIGHTS if n < OPERATORS else WEIGHTS
    ops, weights = list(mix), list(mix.values())
    try:
        while time.monotonic() < stop_at:
            op = rnd.choices(ops, weights)[0]
            with state.lock:
                n_live = len(state.live)
                uid = rnd.choice(list(state.live)) if state.live and op in ("get", "creds", "delete") else None
            if op == "create" and n_live > TARGET_USERS * 1.2:
                op = "delete"
            elif op == "delete" and n_live < TARGET_USERS * 0.8:
                op = "create"
            if op in ("get", "creds", "delete") and uid is None:
                with state.lock:
                    uid = rnd.choice(list(state.live)) if state.live else None
                if uid is None:
                    op = "create"
            t0 = time.monotonic()
            try:
                one(op, uid, rnd, conn, state, t0)
            except Exception as e:  # noqa: BLE001 - transport errors are unexpected errors
                state.record(op, "error", time.monotonic() - t0)
                state.bad(op, f"transport error {type(e).__name__}: {e}")
    finally:
        conn.close()


def one(op, uid, rnd, conn: Conn, state: State, t0):
    def done(r):
        state.record(op, r.status, time.monotonic() - t0)
        return r

    if op == "create":
        dup = None
        if rnd.random() < 0.05:
            with state.lock:
                if state.live:
                    dup = state.live[rnd.choice(list(state.live))]
        email = dup or f"soak.{uuid.uuid4().hex}@example.com"
        body = {"name": f"Soak User {rnd.randrange(10**6)}", "email": email}
        if rnd.random() < 0.3:
            body["metadata"] = {"team": rnd.choice(["red", "blue"]), "seq": str(rnd.randrange(1000))}
        r = done(conn.request("POST", "/users", body))
        if r.status == 201 and isinstance(r.json, dict) and "user" in r.json:
            u = r.json["user"]
            if not (h.POOL_FIRST <= u.get("extension", 0) <= h.POOL_LAST):
                state.bad(op, "extension out of the pool", r)
            with state.lock:
                state.live[u["id"]] = email
        elif not (r.status == 409 and dup and (r.json or {}).get("code") == h.ALREADY_EXISTS):
            state.bad(op, f"create {'(duplicate email) ' if dup else ''}-> {r.status}", r)
    elif op == "list":
        r = done(conn.request("GET", "/users"))
        if r.status != 200 or not isinstance(r.json, list):
            state.bad(op, f"list -> {r.status}", r)
    elif op in ("get", "creds"):
        r = done(conn.request("GET", f"/users/{uid}" + ("/sip-credentials" if op == "creds" else "")))
        if r.status == 404:
            with state.lock:
                state.not_found.append((op, uid))
        elif r.status != 200:
            state.bad(op, f"{op} -> {r.status}", r)
        elif op == "creds" and not h.PASSWORD_RE.match((r.json or {}).get("password", "")):
            state.bad(op, "credentials without a password", r)
    elif op == "delete":
        r = done(conn.request("DELETE", f"/users/{uid}"))
        if r.status == 200:
            with state.lock:
                state.live.pop(uid, None)
                state.deleted.add(uid)
        elif r.status == 404:
            with state.lock:
                state.not_found.append((op, uid))
        else:
            state.bad(op, f"delete -> {r.status}", r)
    elif op == "apply":
        r = done(conn.request("POST", "/apply", {"note": "soak"}))
        if r.status == 409 and (r.json or {}).get("code") == h.ABORTED:
            with state.lock:
                state.apply_aborted += 1
        elif r.status != 200 or (r.json or {}).get("audit", {}).get("outcome") != "APPLY_OUTCOME_SUCCESS":
            state.bad(op, f"apply -> {r.status}", r)
    elif op == "status":
        r = done(conn.request("GET", "/apply/status"))
        if r.status != 200 or not isinstance(r.json, dict):
            state.bad(op, f"status -> {r.status}", r)
    elif op == "audit":
        r = done(conn.request("GET", "/apply/audit?limit=20"))
        if r.status != 200 or not isinstance(r.json, list):
            state.bad(op, f"audit -> {r.status}", r)


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def sampler(pids: dict, series: dict, t_start, stop: threading.Event):
    while not stop.is_set():
        t = round(time.monotonic() - t_start, 1)
        for role, pid in pids.items():
            series[role].append((t, rss_kib(pid)))
        stop.wait(1.0)


def flatness(samples, warmup_s):
    """Mean RSS (KiB) of the first and the last third of the samples after the warm-up."""
    vals = [v for t, v in samples if t >= warmup_s and v is not None]
    if len(vals) < 6:
        return None
    k = len(vals) // 3
    first, last = sum(vals[:k]) / k, sum(vals[-k:]) / k
    return {"first_third_mean_kib": round(first), "last_third_mean_kib": round(last),
            "growth_kib": round(last - first), "growth_ratio": round((last - first) / first, 4),
            "limit_kib": round(first * RSS_GROWTH_RATIO + RSS_SLACK_KIB)}


def test_soak(apply_portal, lab, request):
    with R.recording(request, SEED, name="soak") as rec:
        portal = apply_portal
        # A first Apply, so the lab holds this portal's (empty) configuration and later Applies have a baseline.
        r = portal.client.post("/apply", {"note": "soak-setup"}, timeout=180)
        assert r.status == 200, f"first Apply failed: {r!r}"

        state = State()
        pids = {"server": portal.server.proc.pid, "gateway": portal.gateway.proc.pid}
        series = {role: [] for role in pids}
        stop = threading.Event()
        t_start = time.monotonic()
        sam = threading.Thread(target=sampler, args=(pids, series, t_start, stop), daemon=True)
        sam.start()
        stop_at = t_start + DURATION_S
        threads = [threading.Thread(target=worker, args=(i, portal.client, state, stop_at), daemon=True)
                   for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DURATION_S + 300)
        hung = sum(t.is_alive() for t in threads)
        elapsed = time.monotonic() - t_start
        stop.set()
        sam.join(5)

        # A 404 is expected only for a user whose DELETE succeeded (for some thread).
        for op, uid in state.not_found:
            if uid not in state.deleted:
                state.bad(op, f"404 for user {uid}, which nobody deleted")
        alive = {p.role: p.alive() for p in (portal.server.proc, portal.gateway.proc)}
        # The portal still answers and agrees with what the threads saw.
        final_users = portal.client.list_users() if all(alive.values()) else None
        consistent = final_users is not None and {u["id"] for u in final_users} == set(state.live)

        total = sum(sum(c.values()) for c in state.requests.values())
        flat = {role: flatness(s, WARMUP_S) for role, s in series.items()}
        figures = rec.figures
        figures.update({
            "duration_s": round(elapsed, 1),
            "threads": THREADS,
            "target_users": TARGET_USERS,
            "requests_total": total,
            "requests_per_s": round(total / elapsed, 1) if elapsed else None,
            "requests": {op: {str(s): n for s, n in sorted(c.items(), key=lambda kv: str(kv[0]))}
                         for op, c in sorted(state.requests.items())},
            "unexpected_errors": sum(state.unexpected_by_op.values()),
            "unexpected_by_op": dict(state.unexpected_by_op),
            "unexpected_examples": state.unexpected,
            "expected_errors": {
                "create_duplicate_409": state.requests["create"].get(409, 0),
                "not_found_404_after_delete": len(state.not_found),
                "apply_aborted_409": state.apply_aborted,
            },
            "latency_ms": {op: {"p50": round(R.percentile(v, 0.5) * 1000, 1),
                                "p99": round(R.percentile(v, 0.99) * 1000, 1),
                                "max": round(max(v) * 1000, 1), "n": len(v)}
                           for op, v in sorted(state.latency.items())},
            "rss_kib": {role: [[t, v] for t, v in s] for role, s in series.items()},
            "rss_flatness": flat,
            "rss_flatness_asserted": R.LONG,
            "rss_warmup_s": WARMUP_S,
            "processes_alive_after": alive,
            "final_users": len(final_users) if final_users is not None else None,
            "final_users_match_clients_view": consistent,
            "hung_threads": hung,
        })
        if not all(alive.values()):
            rec.violation(f"a process died during the soak: {alive}")
        if hung:
            rec.violation(f"{hung} client threads still running {DURATION_S + 300:.0f} s after the end")
        if figures["unexpected_errors"]:
            rec.violation(f"{figures['unexpected_errors']} unexpected errors: {dict(state.unexpected_by_op)}; "
                          f"first: {state.unexpected[:3]}")
        if not consistent:
            rec.violation("GET /users after the soak differs from the users the clients created and did not delete")
        if R.LONG:
            for role, f in flat.items():
                if f is None:
                    rec.violation(f"too few RSS samples for {role}")
                elif f["growth_kib"] > f["limit_kib"]:
                    rec.violation(
                        f"{role} RSS grew from {f['first_third_mean_kib']} KiB to {f['last_third_mean_kib']} KiB (mean "
                        f"of the first vs the last third after {WARMUP_S:.0f} s warm-up; limit +{f['limit_kib']} KiB)")

        print(f"\nSOAK {elapsed:.0f} s, {THREADS} threads: {total} requests ({figures['requests_per_s']}/s), "
              f"{figures['unexpected_errors']} unexpected errors, expected: {figures['expected_errors']}")
        for op, c in sorted(state.requests.items()):
            lat = figures["latency_ms"][op]
            print(f"SOAK   {op:7s} {sum(c.values()):7d}  {dict(c)}  p50 {lat['p50']} ms  p99 {lat['p99']} ms")
        for role, s in series.items():
            vals = [v for _, v in s if v is not None]
            print(f"SOAK   RSS {role:7s} start {vals[0] if vals else '?'} KiB, end {vals[-1] if vals else '?'} KiB, "
                  f"max {max(vals) if vals else '?'} KiB; {flat[role]}")
        for u in state.unexpected[:10]:
            print(f"SOAK UNEXPECTED {u}")

        assert all(alive.values()), f"a process died during the soak: {alive}\n{portal.server.proc.stderr_tail()}"
        assert not rec.violations, f"{len(rec.violations)} violations (build/reliability/soak.json):\n" + \
            "\n".join(rec.violations)
