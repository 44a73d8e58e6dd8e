"""Several pbx-server replicas on one database behind one pbx-gateway (PBX_GRPC_TARGET lists them all: grpc-go's
round robin over the healthy ones). Used by test_replicas.py; reusable by anything that needs N replicas and a
gateway, e.g. a benchmark comparing one server with two.

    rs = Replicas(db_url, "bench-replicas", count=2, server_env=lab.server_env())
    rs.client.create_user(...)            # through the gateway, with the database's admin token
    rs.handled(0, method="CreateUser")    # calls replica 0 answered (its /metrics)
    rs.kill(1)                            # SIGKILL replica 1, returns when it is gone
    rs.close()                            # gateway, then the replicas: SIGTERM; {role: exit code}

Everything listens on loopback.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time

import harness as h


class ReplicaError(AssertionError):
    """A replica or the gateway did not come up."""


class Replicas:
    """COUNT pbx-server processes on DB_URL (each with its own gRPC and /metrics port; SERVER_ENV for all, and
    SERVER_ENVS[i] on top for replica i) plus servers started elsewhere (ADOPT: h.Server objects, listed first and
    never stopped here), and one gateway whose PBX_GRPC_TARGET lists them all, comma-separated (GATEWAY_ENV on top).

    The replicas are started first and each must answer on its gRPC port (those in SERVING, by default all, must
    report SERVING on grpc.health.v1 too) before the gateway starts: its first connections then find every replica
    up, instead of one caught in grpc-go's reconnect backoff. Then the gateway must answer /healthz 200 and GET /users
    200. Any failure stops what was started and raises ReplicaError naming the logs.

    Attributes: servers (h.Server, in PBX_GRPC_TARGET order), gateway (h.Gateway), target (PBX_GRPC_TARGET),
    base_url, admin_token, client (h.Client of the gateway with the admin token)."""

    def __init__(self, db_url: str, log_prefix: str, count: int = 2, *, server_env: dict | None = None,
                 server_envs: list[dict | None] | None = None, gateway_env: dict | None = None,
                 adopt: list[h.Server] | None = None, serving: list[int] | None = None, timeout: float = 30):
        self.adopted = list(adopt or [])
        self.servers: list[h.Server] = list(self.adopted)
        self.gateway: h.Gateway | None = None
        self.killed: set[int] = set()
        envs = list(server_envs or [])
        if len(envs) > count:
            raise ValueError(f"server_envs has {len(envs)} entries for {count} replicas")
        try:
            for i in range(count):
                # Replicas stop the way they ship: draining for PBX_SHUTDOWN_DRAIN_MS's default on SIGTERM.
                env = {"PBX_SHUTDOWN_DRAIN_MS": None}
                env.update(server_env or {})
                env.update((envs[i] if i < len(envs) else None) or {})
                self.servers.append(h.Server(db_url, f"{log_prefix}.replica-{len(self.servers) + 1}", env))
            self.target = ",".join(s.grpc_addr for s in self.servers)
            want_serving = range(len(self.servers)) if serving is None else serving
            deadline = time.monotonic() + timeout
            for i in range(len(self.servers)):
                self._wait_replica(i, i in want_serving, deadline)
            self.gateway = h.Gateway(self.target, log_prefix, gateway_env)
            self.base_url = self.gateway.base_url
            self.admin_token = h.admin_token(db_url)
            self.client = h.Client(self.base_url, token=self.admin_token)
            self._wait_gateway(deadline)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ start

    def _alive_or_raise(self, proc: h.Proc):
        if not proc.alive():
            raise ReplicaError(f"the {proc.role} exited with {proc.popen.returncode} "
                               f"(PBX_GRPC_TARGET={getattr(self, 'target', '?')}); log {proc.stderr_path}:\n"
                               f"{proc.stderr_tail()}")

    def _wait_replica(self, i: int, serving: bool, deadline: float):
        """Until replica I accepts connections on its gRPC port and, when SERVING, reports SERVING (grpcurl)."""
        server = self.servers[i]
        while True:
            self._alive_or_raise(server.proc)
            try:
                socket.create_connection(("127.0.0.1", server.grpc_port), timeout=2).close()
                if not serving or self.health(i) == "SERVING":
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise ReplicaError(f"replica {i} ({server.grpc_addr}) not {'serving' if serving else 'listening'} "
                                   f"in time; log {server.proc.stderr_path}:\n{server.proc.stderr_tail()}")
            time.sleep(0.1)

    def _wait_gateway(self, deadline: float):
        while True:
            self._alive_or_raise(self.gateway.proc)
            try:
                if self.client.get("/healthz", timeout=3).status == 200 and \
                        self.client.get("/users", timeout=5).status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise ReplicaError(f"the gateway (PBX_GRPC_TARGET={self.target}) not serving in time; log "
                                   f"{self.gateway.proc.stderr_path}:\n{self.gateway.proc.stderr_tail()}")
            time.sleep(0.1)

    # ------------------------------------------------------------------ looking at the replicas

    def health(self, i: int) -> str:
        """Replica I's overall grpc.health.v1 status ("SERVING", "NOT_SERVING", ...), asked directly."""
        code, out = h.grpc_call(self.servers[i].grpc_addr, "grpc.health.v1.Health/Check", {}, None, timeout=10)
        if code != 0:
            raise OSError(f"Health/Check on {self.servers[i].grpc_addr}: code {code} {out}")
        return out.get("status", "")

    def metrics(self, i: int) -> str:
        r = h.Client(f"http://{self.servers[i].metrics_addr}").get("/metrics", timeout=10)
        if r.status != 200:
            raise AssertionError(f"GET http://{self.servers[i].metrics_addr}/metrics -> {r!r}")
        return r.text

    def handled(self, i: int, service: str = "pbx.v1.UserService", method: str | None = None,
                code: str | None = None) -> int:
        """How many calls of SERVICE (METHOD, answered with CODE: any when None) replica I answered since it
        started (pbx_grpc_server_handled_total on its /metrics)."""
        return handled_in_metrics(self.metrics(i), service, method, code)

    # ------------------------------------------------------------------ stopping

    def kill(self, i: int) -> tuple[float, float]:
        """SIGKILL replica I and wait until it is gone (reaped: its sockets are closed). Returns the monotonic times
        the signal was sent and the process was gone."""
        proc = self.servers[i].proc
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.popen.wait(timeout=10)
        gone = time.monotonic()
        self.killed.add(i)
        return sent, gone

    def close(self) -> dict:
        """SIGTERM the gateway, then every replica started here (adopted ones stay). Returns {role: exit code}, the
        role being "gateway" or "replica N" (1-based, PBX_GRPC_TARGET order); a killed replica gives -9."""
        codes = {}
        if self.gateway is not None:
            codes["gateway"] = self.gateway.proc.stop()
        for i, server in enumerate(self.servers):
            if i >= len(self.adopted):
                codes[f"replica {i + 1}"] = server.proc.stop()
        return codes

    def unclean(self, codes: dict) -> list[str]:
        """The entries of close()'s CODES that are not a clean exit (0; -9 for a replica this set killed)."""
        problems = []
        for role, rc in codes.items():
            killed = role.startswith("replica ") and int(role.split()[1]) - 1 in self.killed
            if rc != (-signal.SIGKILL if killed else 0):
                problems.append(f"{role}: exit code {rc!r} (want {'-9, killed' if killed else '0'})")
        return problems


_HANDLED = re.compile(r'^pbx_grpc_server_handled_total\{([^}]*)\} (\S+)$', re.M)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def handled_in_metrics(text: str, service: str, method: str | None = None, code: str | None = None) -> int:
    """The sum of pbx_grpc_server_handled_total over the series of SERVICE (and METHOD, CODE when given)."""
    total = 0.0
    for labels, value in _HANDLED.findall(text):
        got = dict(_LABEL.findall(labels))
        if got.get("grpc_service") == service and (method is None or got.get("grpc_method") == method) \
                and (code is None or got.get("grpc_code") == code):
            total += float(value)
    return int(total)
