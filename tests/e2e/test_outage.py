"""PostgreSQL outage: every endpoint fails fast with 503, the same server process recovers."""

import time

import harness as h


def _create_until_ok(p, name, email, within):
    """Poll POST /users until it succeeds; a 409 ALREADY_EXISTS means an earlier, timed-out try succeeded."""
    def attempt():
        r = p.create_user(name, email, timeout=5)
        if r.status == 201:
            return r
        if r.status == 409 and (r.json or {}).get("code") == h.ALREADY_EXISTS:
            return r
        return None
    return h.wait_until(attempt, within, 0.5, f"POST /users to succeed again ({email})")


def test_outage_every_endpoint_503_then_recovery(own_cluster, portals):
    db = own_cluster.create_db("outage")
    p = portals.start(own_cluster.url(db))
    c = p.create_user("Before Outage", "before@example.com")
    assert c.status == 201 and c.json["user"]["extension"] == 1000, c
    uid = c.json["user"]["id"]
    server_pid = p.server.proc.pid

    own_cluster.stop()

    calls = [
        ("POST", "/users", {"name": "During Outage", "email": "during@example.com"}),
        ("GET", "/users", None),
        ("GET", f"/users/{uid}", None),
        ("DELETE", f"/users/{uid}", None),
        ("GET", f"/users/{uid}/sip-credentials", None),
    ]
    failures = []
    for method, path, body in calls:
        t0 = time.monotonic()
        try:
            r = p.call(method, path, body, timeout=10)
        except OSError as e:
            failures.append(f"{method} {path}: no answer within 10 s ({e!r})")
            continue
        dt = time.monotonic() - t0
        if r.status != 503:
            failures.append(f"{method} {path}: want 503, got {r.status} {r.text[:300]!r} after {dt:.1f}s")
            continue
        if dt > 6:
            failures.append(f"{method} {path}: 503 only after {dt:.1f}s (want a few seconds)")
        try:
            h.assert_error(r, 503, h.UNAVAILABLE)
        except AssertionError as e:
            failures.append(f"{method} {path}: {e}")
    assert not failures, "during the outage:\n" + "\n".join(failures)

    h.wait_until(lambda: p.healthz_status() != 200, 10, 0.2, "/healthz to stop answering 200 during the outage")
    assert p.server.proc.alive() and p.gateway.proc.alive(), "a process died during the outage"

    own_cluster.start()
    t0 = time.monotonic()
    r = _create_until_ok(p, "After Outage", "after@example.com", 15)
    took = time.monotonic() - t0
    assert p.server.proc.alive() and p.server.proc.pid == server_pid, "server was restarted, not recovered"

    users = p.list_users()
    emails = sorted(u["email"].lower() for u in users)
    assert emails == ["after@example.com", "before@example.com"], \
        f"after recovery (took {took:.1f}s): the outage requests changed data: {emails}"
    assert [u["extension"] for u in users] == [1000, 1001]
    h.wait_until(lambda: p.healthz_status() == 200, 10, 0.2, "/healthz to return 200 after recovery")


def test_start_with_database_down_then_recover(own_cluster, portals):
    db = own_cluster.create_db("latedb")
    own_cluster.stop()
    p = portals.start(own_cluster.url(db), wait=False)
    h.wait_until(lambda: p.healthz_status() is not None, 20, 0.2, "gateway to listen")
    assert p.server.proc.alive(), f"server exited with the database down:\n{p.server.proc.stderr_tail()}"
    assert p.healthz_status() != 200, "healthy although the database is down"
    r = p.create_user("Early", "early@example.com", timeout=10)
    h.assert_error(r, 503, h.UNAVAILABLE)

    own_cluster.start()
    p.wait_healthy(timeout=20)
    r = _create_until_ok(p, "Late", "late@example.com", 15)
    assert p.list_users()[0]["extension"] == 1000 and len(p.list_users()) == 1
