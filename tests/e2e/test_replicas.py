"""Portal replicas behind one gateway: PBX_GRPC_TARGET=a,b, grpc-go's round robin over the healthy replicas.

Both replicas serve; one SIGKILLed under load costs only the calls it had in flight, and no acknowledged create is
lost; one stopped with SIGTERM costs none; a replica whose database is unreachable (health NOT_SERVING) gets no call
at all.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid

import pytest

import harness as h
from replicas import Replicas


# How long after a killed replica's sockets are closed the gateway may still send a call on its connection: the
# time grpc-go takes to read the EOF and drop the connection from round robin (well under a millisecond when idle).
NOTICED_WITHIN = 0.1


@pytest.fixture
def replica_sets(request):
    """Starts Replicas (keywords as Replicas); at teardown SIGTERMs them, and each must exit cleanly (a replica the
    test killed: -9)."""
    h.require_binaries(h.SERVER_BIN, h.GATEWAY_BIN, h.GRPCURL_BIN)
    prefix = h.safe_name(request.node.nodeid.replace("/", "_").replace("::", "."))
    started: list[Replicas] = []

    def start(db_url: str, **kw) -> Replicas:
        rs = Replicas(db_url, f"{prefix}.{len(started) + 1}", **kw)
        started.append(rs)
        return rs

    yield start
    problems = [p for rs in started for p in rs.unclean(rs.close())]
    assert not problems, "unclean shutdown:\n" + "\n".join(problems)


class Outcome:
    """One REST request of the load: what it was, when it ran (monotonic) and how it ended."""

    def __init__(self, kind: str, body: dict | None = None):
        self.kind = kind
        self.body = body
        self.start = self.end = 0.0
        self.response: h.Response | None = None
        self.error: str | None = None

    @property
    def ok(self) -> bool:
        return self.response is not None and self.response.status in (200, 201)

    def __repr__(self):
        what = self.error or repr(self.response)
        return f"<{self.kind} {self.start:.4f}..{self.end:.4f}: {what}>"


class Load:
    """THREADS threads calling the gateway until stop(): each creates a user (with a request_id, so a failed create
    can be retried safely), reads it back, and every few rounds lists the users."""

    def __init__(self, client: h.Client, threads: int, prefix: str):
        self.client = client
        self.prefix = prefix
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in range(threads)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _call(self, kind: str, method: str, path: str, body: dict | None = None) -> Outcome:
        o = Outcome(kind, body)
        o.start = time.monotonic()
        try:
            o.response = self.client.call(method, path, body, timeout=10)
        except OSError as e:
            o.error = repr(e)
        o.end = time.monotonic()
        with self._lock:
            self.outcomes.append(o)
        return o

    def _run(self, t: int):
        n = 0
        while not self._stop.is_set():
            n += 1
            body = {"name": f"Replica Load {t}-{n}", "email": f"{self.prefix}.{t}.{n}@example.com",
                    "request_id": str(uuid.uuid4())}
            created = self._call("create", "POST", "/users", body)
            if created.ok:
                self._call("get", "GET", f"/users/{created.response.json['user']['id']}")
            if n % 5 == 0:
                self._call("list", "GET", "/users")


def test_both_replicas_serve_and_a_killed_one_costs_only_its_calls_in_flight(new_db, replica_sets):
    """Two replicas, both serving; replica 2 SIGKILLed under load (6 threads creating, reading and listing users):
    only requests in flight at the kill may fail, every later one succeeds, no acknowledged create is lost."""
    rs = replica_sets(new_db(), count=2)
    client = rs.client

    # Round robin: both replicas answer the gateway's calls.
    for i in range(10):
        r = client.create_user(f"Warm {i}", f"warm.{i}@example.com")
        assert r.status == 201, r
    warm = [rs.handled(i, method="CreateUser", code="OK") for i in (0, 1)]
    assert warm[0] + warm[1] == 10 and min(warm) >= 3, f"CreateUser answered per replica: {warm} (want both)"

    with Load(client, threads=6, prefix="load") as load:
        time.sleep(1.5)
        before_kill = [rs.handled(i) for i in (0, 1)]
        sent, gone = rs.kill(1)
        time.sleep(2.0)
    outcomes = sorted(load.outcomes, key=lambda o: o.start)

    # Replica 2 served the load up to the kill (its last count, read just before), so the kill cut real traffic.
    assert before_kill[1] > warm[1] + 10, f"replica 2 hardly served the load before the kill: {before_kill}"

    # "gone" is when the process was reaped: its sockets are closed, so the gateway can know. grpc-go's round robin
    # no longer picks the dead connection once its reader has seen the EOF, and a call that finds the connection
    # closing before it was sent is retried transparently; that reading takes the gateway a moment (a GET started
    # 0.3 ms after "gone" was once sent on the dead connection, the 2 cores busy with a build). So a request that
    # started a little after that (NOTICED_WITHIN) must succeed.
    noticed = gone + NOTICED_WITHIN
    after = [o for o in outcomes if o.start > noticed]
    assert len(after) >= 30, f"only {len(after)} requests after the kill: the load did not go on"
    failed_after = [o for o in after if not o.ok]
    assert not failed_after, (f"{len(failed_after)} of {len(after)} requests that started after the kill failed, "
                              f"first {failed_after[:3]} (kill {sent:.4f}, gone {gone:.4f}, noticed by "
                              f"{noticed:.4f})")
    # Any failure was a call in flight on the killed replica: it started before the gateway could notice the death
    # and ended after the signal, and the gateway answered it 503 UNAVAILABLE.
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        assert o.start < noticed and o.end > sent, \
            f"{o} failed but was not in flight at the kill ({sent:.4f}..{gone:.4f}, noticed by {noticed:.4f})"
        assert o.response is not None, f"{o}: the gateway did not answer"
        h.assert_error(o.response, 503, h.UNAVAILABLE)
    assert len(failed) <= 6, f"{len(failed)} failures: more than the 6 threads can have had in flight"
    assert client.get("/healthz").status == 200

    # Every acknowledged create exists, as acknowledged; a create that failed in flight may or may not have been
    # made, and its retry with the same request_id answers the one user, never a second.
    creates = [o for o in outcomes if o.kind == "create"]
    for o in creates:
        if not o.ok:
            o.response = client.post("/users", o.body)
            assert o.response.status == 201, f"retry of {o.body['email']} with its request_id: {o.response!r}"
    users = {u["id"]: u for u in client.list_users()}
    for o in creates:
        u = o.response.json["user"]
        assert users.get(u["id"]) == u, f"acknowledged create {u} is not in GET /users as acknowledged"
    emails = [u["email"] for u in users.values()]
    assert len(emails) == len(set(emails)) == len(creates) + 10, \
        f"{len(users)} users for {len(creates)} load creates + 10 (duplicates: {len(emails) - len(set(emails))})"
    extensions = [u["extension"] for u in users.values()]
    assert len(extensions) == len(set(extensions)), "an extension was handed out twice"

    # The survivor took every call after the kill.
    assert rs.handled(0) - before_kill[0] >= len(after)


def test_replica_stopped_with_sigterm_costs_no_request(new_db, replica_sets):
    """A replica stopped in order (SIGTERM: a rolling restart) tells the gateway first (HTTP/2 GOAWAY) and finishes
    its calls in flight, so no request fails at all."""
    rs = replica_sets(new_db(), count=2)
    with Load(rs.client, threads=6, prefix="term") as load:
        time.sleep(1.0)
        served = rs.handled(1)
        assert rs.servers[1].proc.stop() == 0, "replica 2 did not exit cleanly on SIGTERM"
        stopped = time.monotonic()
        time.sleep(1.0)
    assert served > 10, f"replica 2 hardly served the load before its stop ({served} calls)"
    failed = [o for o in load.outcomes if not o.ok]
    assert not failed, f"{len(failed)} of {len(load.outcomes)} requests failed, first {failed[:3]}"
    assert len([o for o in load.outcomes if o.start > stopped]) >= 20, "the load did not go on after the stop"


def test_sigterm_reports_not_serving_and_serves_through_the_drain(new_db, replica_sets):
    """On SIGTERM a replica first reports NOT_SERVING on grpc.health.v1 and goes on answering for
    PBX_SHUTDOWN_DRAIN_MS: a call that a client picked it for just before it heard is answered, not cancelled (a
    call reaching a gRPC server that is shutting down is cancelled, and a client cannot move it elsewhere). Then it
    exits cleanly."""
    rs = replica_sets(new_db(), count=1, server_env={"PBX_SHUTDOWN_DRAIN_MS": "4000"})
    server = rs.servers[0]
    server.proc.popen.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 2
    while (status := rs.health(0)) != "NOT_SERVING":
        assert status == "SERVING" and time.monotonic() < deadline, f"health {status!r} after SIGTERM"
        time.sleep(0.05)
    code, out = h.grpc_call(server.grpc_addr, "pbx.v1.UserService/ListUsers", {}, rs.admin_token)
    assert code == 0, f"a call during the drain: {out}"
    assert server.proc.alive(), "the replica stopped before its drain ended"
    assert server.proc.popen.wait(timeout=15) == 0


def test_replica_without_its_database_gets_no_calls(new_db, replica_sets):
    """Replica 1's database is unreachable (nothing listens on its port): its health says NOT_SERVING, so the
    gateway sends it nothing, though it comes first in PBX_GRPC_TARGET and accepts connections; every request
    succeeds on replica 2, and /healthz stays 200."""
    nowhere = f"postgresql://postgres@127.0.0.1:{h.free_port()}/pbx"
    rs = replica_sets(new_db(), count=2, server_envs=[{"PBX_DATABASE_URL": nowhere}, None], serving=[1])
    assert rs.health(0) == "NOT_SERVING"
    client = rs.client

    failures = []
    for i in range(20):
        for r in (client.create_user(f"Only B {i}", f"only.b.{i}@example.com"), client.get("/users"),
                  client.get("/healthz")):
            if r.status not in (200, 201):
                failures.append(r)
    assert not failures, f"{len(failures)} of 60 requests failed, first {failures[:3]}"
    assert rs.handled(0) == 0, "the replica without its database was sent calls"
    assert rs.handled(1, method="CreateUser", code="OK") == 20
    assert [u["extension"] for u in client.list_users()] == list(range(1000, 1020))
