"""Bounds on what an Apply may hold: every step on the Asterisk host ends within its timeout (a stalled host never
keeps the cluster-wide Apply lock), at most PBX_APPLY_MAX_WAITERS Applies of a server wait for the lock (each holds a
database connection), and a waiter whose caller went away stops waiting."""

from __future__ import annotations

import subprocess
import threading
import time

import harness as h
import lab as L
import reliability as R
from conftest import db_name
from test_grpc import grpcurl

# store/advisory_locks.h: kApplyLockKey.
APPLY_LOCK_KEY = 0x7062780003


class HeldApplyLock:
    """The Apply lock taken by a psql session of the test's own, as another server's running Apply would hold it;
    release() ends the session."""

    def __init__(self, pg: h.PgCluster, db: str):
        self.psql = subprocess.Popen(
            [h.pg_tool("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", pg.host, "-p", str(pg.port),
             "-U", pg.user, "-d", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.psql.stdin.write(f"SELECT pg_advisory_lock({APPLY_LOCK_KEY}); SELECT 'locked';\n")
        self.psql.stdin.flush()
        assert self.psql.stdout.readline().strip() == "", "pg_advisory_lock answers an empty row"
        assert self.psql.stdout.readline().strip() == "locked"

    def release(self):
        if self.psql.poll() is None:
            self.psql.stdin.close()
            self.psql.wait(10)


def lock_waiters(pg: h.PgCluster, db: str) -> int:
    """Backends of the portal waiting for an advisory lock in `db`."""
    return int(pg.psql(db, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                           " WHERE l.locktype = 'advisory' AND NOT l.granted"
                           " AND a.application_name = 'pbx-portal' AND a.datname = current_database()").strip())


def portal_backends(pg: h.PgCluster, db: str) -> int:
    return int(pg.psql(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pbx-portal'"
                           " AND datname = current_database()").strip())


def test_a_host_that_stalls_mid_upload_fails_the_apply_within_the_timeout(portals, new_db, lab, tmp_path):
    """The proxy forwards the SSH session until the upload is under way, then forwards nothing more while keeping
    the connection open. The Apply ends within PBX_ASTERISK_COMMAND_TIMEOUT_S (plus the watchdog's second) with
    503, its audit row closed, the files on the host untouched, and the lock released for the next Apply."""
    proxy = R.StallingProxy(lab.ssh_host, lab.ssh_port)
    try:
        kh = R.known_hosts_for_port(lab.known_hosts, lab.ssh_port, proxy.port, tmp_path / "known_hosts")
        p = portals.start(new_db(), server_env=lab.server_env(
            PBX_ASTERISK_SSH_PORT=proxy.port, PBX_ASTERISK_SSH_KNOWN_HOSTS=kh, PBX_ASTERISK_CONNECT_TIMEOUT_S=3,
            PBX_ASTERISK_COMMAND_TIMEOUT_S=3, PBX_ASTERISK_SESSION_IDLE_S=0))
        L.create_users(p, 2, "Stall")
        L.apply_ok(p, "stall-baseline")
        before = lab.files()
        # ~250 bytes per user in generated_endpoints.conf: 200 users make a ~50 kB upload; the SSH handshake and
        # the commands before it send a few kB.
        L.create_users(p, 200, "Stalled")
        proxy.stall_after = 20_000

        started = time.monotonic()
        r = L.apply(p, "stalled", timeout=60)
        took = time.monotonic() - started
        assert proxy.stalled == 1, "the proxy never stalled the session: the test proves nothing"
        h.assert_error(r, 503, h.UNAVAILABLE)
        assert took < 3 + 1 + 5, f"the stalled Apply took {took:.1f} s (command timeout 3 s)"
        entry = L.audit_entry(p, L.error_audit_id(r))
        assert entry["outcome"] == "APPLY_OUTCOME_FAILURE", entry
        assert "did not finish within 3s" in entry["error_detail"], entry
        assert "the previous files are unchanged" in entry["error_detail"], entry
        assert lab.files() == before, "a stalled upload changed the live files"

        # The lock was released: the next Apply (through a proxy that forwards again) runs at once.
        proxy.stall_after = None
        audit = L.apply_ok(p, "after-stall", timeout=60)
        assert audit["user_count"] == 202, audit
        assert not lab.stray_files(), lab.stray_files()
        lab.assert_live(L.extensions_of(p), "after the stalled Apply")
    finally:
        proxy.close()


def test_applies_beyond_max_waiters_are_refused_at_once(portals, new_db, pg, lab):
    url = new_db()
    db = db_name(url)
    p = portals.start(url, server_env=lab.server_env(PBX_APPLY_MAX_WAITERS=2, PBX_APPLY_LOCK_TIMEOUT_S=60))
    L.create_users(p, 2, "Waiter")
    held = HeldApplyLock(pg, db)
    results: list = [None] * 6
    try:
        def go(i):
            t0 = time.monotonic()
            r = L.apply(p, f"waiter-{i}", timeout=90)
            results[i] = (r, time.monotonic() - t0)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        # Four are refused at once; two wait in the database.
        h.wait_until(lambda: sum(1 for x in results if x is not None) == 4, 10, 0.05, "four refusals")
        refused = [x for x in results if x is not None]
        for r, took in refused:
            h.assert_error(r, 409, h.ABORTED)
            assert "PBX_APPLY_MAX_WAITERS" in r.json["message"], r
            assert took < 3, f"refused after {took:.1f} s: not at once"
        h.wait_until(lambda: lock_waiters(pg, db) == 2, 10, 0.1, "two Applies waiting in the database")
        time.sleep(0.5)
        # At most: a waiter is briefly out of pg_locks between its 200 ms waits.
        assert lock_waiters(pg, db) <= 2, "more than PBX_APPLY_MAX_WAITERS Applies wait"
    finally:
        held.release()
        for t in threads:
            t.join(120)
    waited = [r for r, _ in results if r.status != 409]
    assert len(waited) == 2 and all(r.status == 200 for r in waited), results
    # The refused ones are audited as Applies that never ran.
    entries = L.audit_log(p, 100)
    refused_rows = [e for e in entries if "PBX_APPLY_MAX_WAITERS" in e["error_detail"]]
    assert len(refused_rows) == 4 and all(e["outcome"] == "APPLY_OUTCOME_FAILURE" for e in refused_rows), entries
    lab.assert_live(L.extensions_of(p), "after the waiters ran")


def test_abandoned_applies_stop_waiting(portals, new_db, pg, lab):
    """Twenty POST /apply whose clients give up after 0.5 s (and one gRPC call past its deadline) while another
    Apply holds the lock: every waiter leaves the database within a second or two of its caller, and the portal
    keeps no more connections than its pool (PBX_DB_POOL_SIZE, where the refusals were audited), the one kept for
    the Apply lock and the health check's."""
    url = new_db()
    db = db_name(url)
    p = portals.start(url, server_env=lab.server_env(PBX_APPLY_MAX_WAITERS=32, PBX_APPLY_LOCK_TIMEOUT_S=120))
    L.create_users(p, 1, "Abandon")
    held = HeldApplyLock(pg, db)
    try:
        def abandon(i):
            try:
                L.apply(p, f"gone-{i}", timeout=0.5)
            except OSError:
                pass  # the client gave up, as intended

        threads = [threading.Thread(target=abandon, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        r = grpcurl("-plaintext", "-max-time", "1", "-d", "{}", p.grpc_addr, "pbx.v1.ApplyService/Apply",
                    token=p.admin_token)
        assert r.returncode != 0, r
        abandoned_at = time.monotonic()
        h.wait_until(lambda: lock_waiters(pg, db) == 0, 5, 0.1, "the abandoned Applies to stop waiting")
        assert time.monotonic() - abandoned_at < 3
        pool_size = 8  # harness.Server
        h.wait_until(lambda: portal_backends(pg, db) <= pool_size + 2, 5, 0.1,
                     f"the waiters' connections to be given back (now {portal_backends(pg, db)})")
    finally:
        held.release()
    entries = L.audit_log(p, 100)
    gone = [e for e in entries if e["note"].startswith("gone-")]
    assert len(gone) == 20, entries
    assert all("went away" in e["error_detail"] for e in gone), gone
    L.apply_ok(p, "after-abandoned")
