"""Prometheus metrics: the server's /metrics (PBX_METRICS_LISTEN, one free port per test server) and the gateway's
/metrics on its HTTP listener, scraped after real traffic over REST and gRPC, a real Apply to the lab, and a
database outage."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import harness as h
import lab as L
from test_grpc import grpcurl

MISSING_ID = "00000000-0000-4000-8000-000000000000"
APPLY_PHASES = ("read", "render", "connect", "upload", "rename", "reload", "verify", "audit")

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Scrape:
    """One scrape in the Prometheus text format: samples as (name, labels, value)."""

    def __init__(self, text: str):
        self.text = text
        self.samples = []
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            assert m, f"not a Prometheus sample line: {line!r}"
            self.samples.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))

    def value(self, name: str, **labels) -> float | None:
        """The value of the one sample with exactly these labels (None when absent)."""
        found = [v for n, ls, v in self.samples if n == name and ls == labels]
        assert len(found) <= 1, f"{name}{labels} appears {len(found)} times"
        return found[0] if found else None

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}

    def label_values(self) -> set[str]:
        return {v for _, ls, _ in self.samples for v in ls.values()}


def scrape(url: str, timeout: float = 10) -> Scrape:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        assert r.status == 200, f"GET {url} -> {r.status}"
        assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers.get("Content-Type")
        return Scrape(r.read().decode())


def rpc(s: Scrape, method: str, code: str, service: str = "pbx.v1.UserService") -> float:
    return s.value("pbx_grpc_server_handled_total", grpc_service=service, grpc_method=method, grpc_code=code) or 0


def test_requests_are_counted_by_method_and_code_on_both_sides(portal):
    rest = [L.create_user(portal, f"Metrics User {i}", f"metrics.{i}@example.com") for i in range(2)]
    r = grpcurl("-plaintext", "-d", json.dumps({"name": "Grpc Metrics", "email": "grpc.metrics@example.com"}),
                portal.grpc_addr, "pbx.v1.UserService/CreateUser", token=portal.admin_token)
    assert r.returncode == 0, r.stderr
    assert portal.get(f"/users/{MISSING_ID}").status == 404
    h.assert_error(portal.post("/users", {}), 400, h.INVALID_ARGUMENT)
    assert portal.get(f"/users/{rest[0]['user']['id']}").status == 200
    assert portal.get("/no/such/path").status == 404

    server = scrape(portal.server_metrics_url)
    assert rpc(server, "CreateUser", "OK") == 3  # two through the gateway, one straight over gRPC
    assert rpc(server, "CreateUser", "INVALID_ARGUMENT") == 1
    assert rpc(server, "GetUser", "NOT_FOUND") == 1
    assert rpc(server, "GetUser", "OK") == 1
    assert rpc(server, "Check", "OK", service="grpc.health.v1.Health") >= 1  # the gateway's /healthz
    created = dict(grpc_service="pbx.v1.UserService", grpc_method="CreateUser")
    assert server.value("pbx_grpc_server_handling_seconds_count", **created) == 4
    assert server.value("pbx_grpc_server_handling_seconds_bucket", le="+Inf", **created) == 4
    assert server.value("pbx_grpc_server_handling_seconds_sum", **created) > 0

    gateway = scrape(portal.gateway_metrics_url)
    count = lambda method, route, code: gateway.value(  # noqa: E731
        "pbx_http_requests_total", method=method, route=route, code=str(code)) or 0
    assert count("POST", "/users", 201) == 2
    assert count("POST", "/users", 400) == 1
    assert count("GET", "/users/{id}", 404) == 1
    assert count("GET", "/users/{id}", 200) == 1
    assert count("GET", "unmatched", 404) == 1
    assert count("GET", "/healthz", 200) >= 1
    assert gateway.value("pbx_http_request_duration_seconds_count", method="POST", route="/users") == 3
    assert gateway.value("pbx_http_request_duration_seconds_count", method="GET", route="/users/{id}") == 2
    assert {"go_goroutines", "process_resident_memory_bytes"} <= gateway.names()
    # Routes, never paths: no id or unknown path becomes a label value.
    ids = {u["user"]["id"] for u in rest} | {MISSING_ID}
    for s in (server, gateway):
        assert not (s.label_values() & ids), "a user id became a label value"
        assert not any("/no/such" in v for v in s.label_values())


def test_extension_gauges_are_exact_at_scrape_time(portal):
    made = [L.create_user(portal, f"Ext User {i}", f"ext.{i}@example.com") for i in range(3)]
    s = scrape(portal.server_metrics_url)
    assert s.value("pbx_extensions_count_success") == 1
    assert s.value("pbx_extensions_allocated") == portal.client.count_users() == 3
    assert s.value("pbx_extensions_free") == 1000 - 3

    assert portal.delete(f"/users/{made[0]['user']['id']}").status == 200
    s = scrape(portal.server_metrics_url)
    assert s.value("pbx_extensions_allocated") == portal.client.count_users() == 2
    assert s.value("pbx_extensions_free") == 998


def test_pool_gauges_are_consistent(portal):
    h.create_many(portal.client, 16, "Pool", workers=8)
    s = scrape(portal.server_metrics_url)
    in_use = s.value("pbx_db_pool_connections", state="in_use")
    idle = s.value("pbx_db_pool_connections", state="idle")
    maximum = s.value("pbx_db_pool_max_connections")
    assert maximum == 8  # the harness's PBX_DB_POOL_SIZE
    assert in_use is not None and idle is not None and in_use >= 0 and idle >= 1, (in_use, idle)
    assert in_use + idle <= maximum
    for counter in ("pbx_db_pool_acquire_waits_total", "pbx_db_pool_acquire_wait_seconds_total",
                    "pbx_db_pool_acquire_timeouts_total"):
        assert s.value(counter) is not None and s.value(counter) >= 0, counter
    assert s.value("pbx_db_pool_acquire_timeouts_total") == 0


def test_apply_is_timed_by_phase_and_outcome(apply_portal):
    L.create_users(apply_portal, 2, "MetricsApply")
    L.apply_ok(apply_portal)

    s = scrape(apply_portal.server_metrics_url)
    assert s.value("pbx_apply_total", outcome="success") == 1
    assert s.value("pbx_apply_duration_seconds_count", outcome="success") == 1
    for phase in APPLY_PHASES:
        assert s.value("pbx_apply_phase_duration_seconds_count", phase=phase, outcome="success") == 1, phase
        assert s.value("pbx_apply_phase_duration_seconds_sum", phase=phase, outcome="success") >= 0, phase
    assert s.value("pbx_apply_phase_duration_seconds_sum", phase="reload", outcome="success") > 0
    assert rpc(s, "Apply", "OK", service="pbx.v1.ApplyService") == 1
    gateway = scrape(apply_portal.gateway_metrics_url)
    assert gateway.value("pbx_http_requests_total", method="POST", route="/apply", code="200") == 1


def test_scrape_stays_fast_and_omits_extensions_while_the_database_is_down(own_cluster, portals):
    p = portals.start(own_cluster.url(own_cluster.create_db("metrics_outage")))
    L.create_user(p, "Before Outage", "metrics.outage@example.com")
    assert scrape(p.server_metrics_url).value("pbx_extensions_allocated") == 1

    own_cluster.stop()
    t0 = time.monotonic()
    s = scrape(p.server_metrics_url)
    took = time.monotonic() - t0
    assert took < 3, f"a scrape took {took:.1f}s with the database down"
    assert s.value("pbx_extensions_count_success") == 0
    assert s.value("pbx_extensions_allocated") is None and s.value("pbx_extensions_free") is None, \
        "extension gauges reported without a fresh count"
    assert s.value("pbx_db_pool_max_connections") == 8

    own_cluster.start()
    h.wait_until(lambda: scrape(p.server_metrics_url).value("pbx_extensions_allocated") == 1, 20, 0.5,
                 "the extension count to come back after the outage")
