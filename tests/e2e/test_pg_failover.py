"""PostgreSQL failover through libpq's own multi-host connection string (PBX_DATABASE_URL with two hosts and
target_session_attrs=read-write), against a real primary and a synchronous streaming standby (pg_pair.py).

Under create load the primary is stopped (immediately: a crash to its clients) and, a moment later, the standby
promoted. Meanwhile the portal answers 503, fast; it answers 201 again within 10 s of the promotion, the same server
process; every acknowledged create is on the new primary, extensions stay unique, and retrying the failed creates
with their request ids makes at most one user each. /healthz turns unhealthy, then healthy.

PBX_RELIABILITY_LONG=1 (tests/reliability/report) adds test_reliability_failovers_back_and_forth: several failovers
under sustained load, the old primary re-created as the new standby each time, written to
build/reliability/test_reliability_failovers_back_and_forth.json (figures described there).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest

import harness as h
import lab as L
import pg_pair
import reliability as R

# Longest a request may take while no primary exists: both hosts tried with connect_timeout=2, and a pool
# wait; far below the gateway's call timeout, so nothing "hangs".
MAX_ANSWER_S = 10.0
RECOVERY_S = 10.0


@pytest.fixture
def pair():
    p = pg_pair.PgPair()
    try:
        p.start()
        yield p
    finally:
        p.destroy()


@dataclass
class Outcome:
    request_id: str
    body: dict
    started: float
    finished: float
    status: int | None  # None: no HTTP answer
    user: dict | None = None  # the created user (201)
    code: int | None = None  # the gRPC code of an error answer
    error: str = ""


@dataclass
class Load:
    """Worker threads creating users over REST, each request with a request id of its own, every outcome kept.
    Each worker sends one request per `interval` at most: the 1000 extensions must last the whole test."""
    portal: h.Portal
    workers: int = 4
    interval: float = 0.1
    outcomes: list[Outcome] = field(default_factory=list)
    health: list[tuple[float, int | None]] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._create_loop, args=(i,), daemon=True)
                         for i in range(self.workers)]
        self._threads.append(threading.Thread(target=self._health_loop, daemon=True))

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=MAX_ANSWER_S + 5)

    def _create_loop(self, worker: int):
        n = 0
        while not self._stop.is_set():
            n += 1
            rid = str(uuid.uuid4())
            body = {"name": f"Failover {worker}-{n}", "email": h.unique_email(f"fo{worker}"), "request_id": rid}
            t0 = time.monotonic()
            try:
                r = self.portal.client.post("/users", body, timeout=MAX_ANSWER_S + 20)
                ok = r.status == 201
                out = Outcome(rid, body, t0, time.monotonic(), r.status, (r.json or {}).get("user") if ok else None,
                              None if ok else (r.json or {}).get("code"), "" if ok else r.text[:200])
            except OSError as e:
                out = Outcome(rid, body, t0, time.monotonic(), None, error=repr(e))
            with self._lock:
                self.outcomes.append(out)
            self._stop.wait(max(0.0, t0 + self.interval - time.monotonic()))

    def _health_loop(self):
        while not self._stop.is_set():
            self.health.append((time.monotonic(), self.portal.healthz_status(timeout=5)))
            time.sleep(0.2)

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def first_201_after(self, t: float, timeout: float) -> float:
        """Seconds from t to the end of the first 201 whose request started after t."""
        def found():
            done = [o.finished for o in self.snapshot() if o.status == 201 and o.started >= t]
            return min(done) if done else None
        return h.wait_until(found, timeout, 0.05, "a 201 after the promotion") - t


def _check_data(pair: pg_pair.PgPair, db: str, portal: h.Portal, outcomes: list[Outcome]) -> list[str]:
    """Every acknowledged create present with its extension; no extension twice; the failed creates, retried with
    their request ids, make at most one user each. Returns the violations."""
    problems = []
    for o in outcomes:
        if o.status != 201:
            continue
        r = portal.client.get(f"/users/{o.user['id']}", timeout=10)
        if r.status != 200 or r.json["extension"] != o.user["extension"]:
            problems.append(f"acknowledged create {o.request_id} ({o.user['extension']}) lost: {r!r}")
    dup = pair.primary.psql(db, "SELECT number::text FROM extensions GROUP BY number HAVING count(*) > 1"
                                " UNION ALL SELECT user_id::text FROM extensions GROUP BY user_id"
                                " HAVING count(*) > 1").split()
    if dup:
        problems.append(f"extensions held twice: {dup}")
    for o in outcomes:
        if o.status == 201:
            continue
        r = portal.client.post("/users", o.body, timeout=MAX_ANSWER_S)
        if r.status != 201:
            problems.append(f"retry of {o.request_id} -> {r.status} {r.text[:200]}")
    counts = dict(line.split("|") for line in pair.primary.psql(
        db, "SELECT lower(email), count(*) FROM users GROUP BY 1").split())
    for o in outcomes:
        if int(counts.get(o.body["email"].lower(), 0)) != 1:
            problems.append(f"{o.body['email']} (request {o.request_id}, first answer {o.status}): "
                            f"{counts.get(o.body['email'].lower(), 0)} users after the retry")
    return problems


def _failover(pair: pg_pair.PgPair, load: Load, no_primary_s: float) -> dict:
    """Stops the primary, waits `no_primary_s`, promotes the standby; returns the times (monotonic)."""
    pair.stop_primary()
    t_stop = time.monotonic()  # the primary is gone (not: stopping)
    time.sleep(no_primary_s)
    t_promote_start = time.monotonic()
    pair.promote_standby()
    t_promoted = time.monotonic()
    return {"stopped": t_stop, "promote_started": t_promote_start, "promoted": t_promoted,
            "recovery_s": load.first_201_after(t_promoted, RECOVERY_S + 5)}


def test_failover_under_create_load(pair, portals):
    """The issue's scenario: primary stopped under create load, standby promoted 2.5 s later."""
    pair.primary.psql("postgres", "CREATE DATABASE pbx_failover")
    p = portals.start(pair.url("pbx_failover"))
    server_pid = p.server.proc.pid

    with Load(p) as load:
        h.wait_until(lambda: sum(o.status == 201 for o in load.snapshot()) >= 20, 20, 0.1, "creates before")
        times = _failover(pair, load, no_primary_s=2.5)
        time.sleep(1.5)  # load on the new primary
    outcomes = load.snapshot()

    assert p.server.proc.alive() and p.server.proc.pid == server_pid, "the server was restarted, not recovered"
    statuses = {}
    for o in outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    summary = f"statuses {statuses}, recovery {times['recovery_s']:.2f}s"
    wrong = [o for o in outcomes if o.status not in (201, 503)]
    assert not wrong, f"{summary}; answers other than 201/503: " + "; ".join(
        f"{o.status} {o.error}" for o in wrong[:5])
    slow = [o for o in outcomes if o.finished - o.started > MAX_ANSWER_S]
    assert not slow, f"{summary}; {len(slow)} answers took over {MAX_ANSWER_S}s (longest " \
                     f"{max(o.finished - o.started for o in slow):.1f}s)"
    # Started after the primary was gone and answered before the standby was promoted: nothing could write it.
    headless = [o for o in outcomes if o.started > times["stopped"] and o.finished < times["promote_started"]]
    assert headless and all(o.status == 503 for o in headless), \
        f"{summary}; while no primary existed: {[o.status for o in headless]}"
    assert all(o.code == h.UNAVAILABLE for o in outcomes if o.status == 503), "a 503 without UNAVAILABLE"
    assert times["recovery_s"] <= RECOVERY_S, summary
    # Recovered for good, not one lucky create: the load goes on succeeding on the new primary.
    recovered = times["promoted"] + times["recovery_s"]
    assert sum(o.status == 201 and o.started > recovered for o in outcomes) >= 10, summary

    # /healthz: unhealthy while the primary was gone, healthy again after the promotion.
    during = [s for t, s in load.health if times["stopped"] + 1.5 < t < times["promote_started"]]
    assert during and all(s != 200 for s in during), f"/healthz while no primary existed: {during}"
    h.wait_until(lambda: p.healthz_status() == 200, RECOVERY_S, 0.1, "/healthz 200 after the promotion")

    problems = _check_data(pair, "pbx_failover", p, outcomes)
    assert not problems, f"{summary}\n" + "\n".join(problems[:20])
    print(f"failover: {summary}, {len(outcomes)} creates")


def test_a_create_whose_commit_outcome_is_unknown_is_503_and_its_retry_makes_one_user(pair, portals):
    """The connection is lost during COMMIT: the create is committed on the primary (waiting for the synchronous
    standby, which is down) when the primary goes away. The client gets 503, not 201: the portal cannot know the
    outcome. The client's retry with the same request id, once a primary is back, answers 201 with the one user
    that exists."""
    pair.primary.psql("postgres", "CREATE DATABASE pbx_in_doubt")
    p = portals.start(pair.url("pbx_in_doubt"))
    assert p.create_user("Before", "before@example.com").status == 201
    pair.standby.stop("immediate")  # from now on every commit waits for it
    body = {"name": "In Doubt", "email": "in-doubt@example.com", "request_id": str(uuid.uuid4())}
    answer = {}
    poster = threading.Thread(target=lambda: answer.update(r=p.client.post("/users", body, timeout=30)))
    poster.start()
    h.wait_until(lambda: pair.primary.psql("pbx_in_doubt", "SELECT count(*) FROM pg_stat_activity"
                                                           " WHERE wait_event = 'SyncRep'").strip() == "1",
                 10, 0.05, "the create's COMMIT to wait for the synchronous standby")
    pair.primary.stop("immediate")
    poster.join(timeout=20)
    r = answer["r"]
    h.assert_error(r, 503, h.UNAVAILABLE)
    assert "during commit" in r.json["message"], r

    pair.primary.start()  # the same primary comes back, without its standby: writes wait for nobody
    pair.primary.set_synchronous_standby(None)
    assert pair.primary.psql("pbx_in_doubt", "SELECT count(*) FROM users WHERE email = 'in-doubt@example.com'"
                             ).strip() == "1", "the commit was lost: this test needs it made locally"
    retry = h.wait_until(lambda: (lambda x: x if x.status != 503 else None)(p.client.post("/users", body)),
                         RECOVERY_S, 0.2, "the retry to be answered")
    assert retry.status == 201, retry
    assert pair.primary.psql("pbx_in_doubt", "SELECT count(*) FROM users WHERE email = 'in-doubt@example.com'"
                             ).strip() == "1"


def test_both_forms_find_the_primary_listed_second(pair, portals):
    """libpq's key=value form works as well as the URL, and the order of the hosts does not matter: with the standby
    named first, every connection still lands on the primary, also when the URL leaves target_session_attrs out
    (the portal asks for read-write whenever several servers are named)."""
    standby, primary = pair.standby, pair.primary
    keywords = (f"host=127.0.0.1,127.0.0.1 port={standby.port},{primary.port} user=postgres dbname=pbx_keywords "
                "target_session_attrs=read-write connect_timeout=2")
    bare_url = f"postgresql://postgres@127.0.0.1:{standby.port},127.0.0.1:{primary.port}/pbx_bare_url"
    for db, url in (("pbx_keywords", keywords), ("pbx_bare_url", bare_url)):
        primary.psql("postgres", f"CREATE DATABASE {db}")
        p = portals.start(url)
        r = p.create_user("Form", "form@example.com")
        assert r.status == 201, f"{url}: {r!r}"
        assert primary.psql(db, "SELECT count(*) FROM users").strip() == "1"


def test_apply_lock_and_health_probe_move_to_the_new_primary(pair, portals, lab):
    """The Apply lock's kept session and the health probe's session both die with the old primary; the same server
    takes the lock on the new primary for the next Apply, and reports healthy again, without a restart."""
    pair.primary.psql("postgres", "CREATE DATABASE pbx_apply_failover")
    p = portals.start(pair.url("pbx_apply_failover"), server_env=lab.server_env())
    assert p.create_user("Before", "before@example.com").status == 201
    r = L.apply(p)
    assert r.status == 200, r  # leaves the lock's session open, on the old primary
    pair.stop_primary()
    h.wait_until(lambda: p.healthz_status() != 200, 10, 0.1, "/healthz to turn unhealthy without a primary")
    assert L.apply(p, timeout=30).status == 503
    pair.promote_standby()
    h.wait_until(lambda: p.healthz_status() == 200, RECOVERY_S, 0.1, "/healthz 200 after the promotion")
    assert p.create_user("After", "after@example.com").status == 201
    r = L.apply(p)
    assert r.status == 200, f"first Apply after the failover: {r!r}"
    assert pair.primary.psql("pbx_apply_failover", "SELECT count(*) FROM users").strip() == "2"


@pytest.mark.skipif(not R.LONG, reason="long variant: PBX_RELIABILITY_LONG=1 (tests/reliability/report)")
def test_reliability_failovers_back_and_forth(pair, portals, request):
    """Figures: failovers, no_primary_s (per failover), clients, creates_sent, status_counts, created_201,
    recovery_s (list: promotion -> first 201), max_latency_s, max_latency_503_s, rebuild_s (list: old primary
    re-created as the synchronous standby), lost_creates, duplicate_extensions, retried_failed (creates
    answered otherwise than 201, retried with their request id), users_per_retried_request_max,
    server_pid_unchanged."""
    failovers = 6
    no_primary_s = 3.0
    with R.recording(request) as rec:
        pair.primary.psql("postgres", "CREATE DATABASE pbx_failovers")
        p = portals.start(pair.url("pbx_failovers"))
        server_pid = p.server.proc.pid
        recovery, rebuild = [], []
        with Load(p, workers=4, interval=0.5) as load:
            time.sleep(3)
            for _ in range(failovers):
                times = _failover(pair, load, no_primary_s)
                recovery.append(round(times["recovery_s"], 3))
                time.sleep(3)
                t0 = time.monotonic()
                pair.rebuild_standby()
                rebuild.append(round(time.monotonic() - t0, 3))
                time.sleep(3)
        outcomes = load.snapshot()
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[str(o.status or "no_answer")] = counts.get(str(o.status or "no_answer"), 0) + 1
        latencies = [o.finished - o.started for o in outcomes]
        rec.figures.update({
            "failovers": failovers, "no_primary_s": no_primary_s, "clients": load.workers,
            "creates_sent": len(outcomes), "status_counts": counts, "created_201": counts.get("201", 0),
            "recovery_s": recovery, "rebuild_s": rebuild, "max_latency_s": round(max(latencies), 3),
            "max_latency_503_s": round(max([o.finished - o.started for o in outcomes if o.status == 503],
                                           default=0), 3),
            "retried_failed": sum(o.status != 201 for o in outcomes),
            "server_pid_unchanged": p.server.proc.pid == server_pid and p.server.proc.alive(),
        })
        problems = _check_data(pair, "pbx_failovers", p, outcomes)
        rec["lost_creates"] = sum(x.startswith("acknowledged create") for x in problems)
        rec["duplicate_extensions"] = sum(x.startswith("extensions held twice") for x in problems)
        for x in problems:
            rec.violation(x)
        for s in recovery:
            if s > RECOVERY_S:
                rec.violation(f"recovery took {s}s (> {RECOVERY_S}s)")
        for status in counts:
            if status not in ("201", "503"):
                rec.violation(f"{counts[status]} answers {status}")
        if max(latencies) > MAX_ANSWER_S:
            rec.violation(f"an answer took {max(latencies):.1f}s")
        if not rec["server_pid_unchanged"]:
            rec.violation("the server was restarted")
        rec.assert_no_violations()
