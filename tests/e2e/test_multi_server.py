"""Several server processes on one database: concurrent allocation, racing migrations, restart."""

import threading

import pytest

import harness as h


@pytest.mark.slow
def test_concurrent_creates_across_two_servers(portal_pair):
    a, b = portal_pair
    assert a.grpc_addr != b.grpc_addr and a.server.proc.pid != b.server.proc.pid
    rs = h.create_many(None, 200, "duo", workers=16, clients=[a.client, b.client])
    bad = [r for r in rs if r.status != 201]
    assert not bad, f"{len(bad)} of 200 creates failed, first: {bad[0]!r}"
    exts = [r.json["user"]["extension"] for r in rs]
    assert len(set(exts)) == 200, "duplicate extensions handed out by two servers"
    assert sorted(exts) == list(range(1000, 1200)), "gaps: not exactly 1000..1199"
    ids_a = [u["id"] for u in a.list_users()]
    ids_b = [u["id"] for u in b.list_users()]
    assert ids_a == ids_b and len(ids_a) == 200


def test_same_email_race_across_two_servers(portal_pair):
    a, b = portal_pair
    from concurrent.futures import ThreadPoolExecutor
    emails = ["race@example.com", "RACE@example.com", "Race@Example.com", "race@EXAMPLE.com"] * 3
    clients = [a.client, b.client]
    with ThreadPoolExecutor(max_workers=12) as ex:
        rs = list(ex.map(lambda i: clients[i % 2].create_user(f"Racer {i}", emails[i]), range(len(emails))))
    ok = [r for r in rs if r.status == 201]
    assert len(ok) == 1, f"{len(ok)} creates with one e-mail succeeded: {[r.status for r in rs]}"
    for r in rs:
        if r.status != 201:
            h.assert_error(r, 409, h.ALREADY_EXISTS)
    assert len(a.list_users()) == 1
    nxt = b.create_user("After Race", "after.race@example.com")
    assert nxt.status == 201 and nxt.json["user"]["extension"] == 1001, nxt


def test_concurrent_deletes_and_creates_keep_numbers_unique(portal_pair):
    a, b = portal_pair
    from concurrent.futures import ThreadPoolExecutor
    first = h.create_many(None, 60, "mix", workers=8, clients=[a.client, b.client])
    assert all(r.status == 201 for r in first)
    victims = [r.json["user"]["id"] for r in first if r.json["user"]["extension"] % 3 == 0]  # 20 users
    clients = [a.client, b.client]

    def job(i):
        c = clients[i % 2]
        if i < len(victims):
            return c.delete(f"/users/{victims[i]}")
        return c.create_user(f"Mixer {i}", f"mixer.{i}@example.com")

    with ThreadPoolExecutor(max_workers=12) as ex:
        rs = list(ex.map(job, range(len(victims) + 20)))
    assert all(r.status in (200, 201, 204) for r in rs), [r for r in rs if r.status not in (200, 201, 204)][:3]
    users = a.list_users()
    exts = [u["extension"] for u in users]
    assert len(users) == 60 and len(set(exts)) == 60, "duplicate extensions after concurrent delete/create"
    assert all(1000 <= e <= 1079 for e in exts), exts
    # Once quiet, allocation is again exactly lowest-free.
    free = sorted(set(range(1000, 2000)) - set(exts))[:3]
    got = [a.create_user(f"Quiet {i}", f"quiet.{i}@example.com").json["user"]["extension"] for i in range(3)]
    assert got == free, (got, free)


def _migration_rows(pg, url):
    db = url.rsplit("/", 1)[1]
    out = pg.psql(db, "SELECT version::text FROM schema_migrations ORDER BY 1")
    return [line for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("round_", range(3))
def test_simultaneous_start_on_fresh_database(pg, new_db, portals, round_):
    url = new_db(f"race{round_}")
    barrier = threading.Barrier(2)
    started = []

    def go():
        barrier.wait()
        started.append(portals.start(url, wait=False))

    ts = [threading.Thread(target=go) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for p in started:
        p.wait_healthy()

    rows = _migration_rows(pg, url)
    assert rows, "schema_migrations is empty"
    assert len(rows) == len(set(rows)), f"a migration was recorded twice: {rows}"

    # both servers are functional on the shared schema
    r1 = started[0].create_user("From A", "a@example.com")
    r2 = started[1].create_user("From B", "b@example.com")
    assert r1.status == 201 and r2.status == 201, (r1, r2)
    assert sorted([r1.json["user"]["extension"], r2.json["user"]["extension"]]) == [1000, 1001]


def test_restart_keeps_data_and_does_not_reapply_migrations(pg, new_db, portals):
    url = new_db("restart")
    p1 = portals.start(url)
    c = p1.create_user("Persistent", "persist@example.com")
    assert c.status == 201, c
    rows1 = _migration_rows(pg, url)
    codes = p1.stop()
    assert codes == {"gateway": 0, "server": 0}, f"SIGTERM exit codes {codes}"
    portals.portals.remove(p1)

    p2 = portals.start(url)
    assert _migration_rows(pg, url) == rows1
    s = p2.get(f"/users/{c.json['user']['id']}/sip-credentials")
    assert s.status == 200 and s.json == c.json["sip_credentials"], s
    r = p2.create_user("Second", "second@example.com")
    assert r.status == 201 and r.json["user"]["extension"] == 1001, r
