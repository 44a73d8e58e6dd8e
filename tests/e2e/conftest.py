"""Fixtures for the PBX portal end-to-end suite.

tests/run provides a private PostgreSQL cluster through PBX_TEST_PG_HOST / PBX_TEST_PG_PORT / PBX_TEST_PG_USER
(superuser, trust auth). Without them (a local `pytest tests/e2e`), a throw-away cluster is started here.

Fixtures:
  pg             session: the cluster (PgCluster)
  new_db         function: factory, new_db(hint) -> database URL of a fresh database (dropped afterwards)
  portal         function: server + gateway on a fresh database, healthy
  shared_portal  module: server + gateway on a fresh database shared by one module's tests
  module_portals module: ModulePortals, to start portals (own environment) that one module's tests share
  portal_pair    function: two servers (each with its own gateway) on one fresh database
  portals        function: ProcessSet to start more portals; all are SIGTERMed at teardown and must exit 0
  own_cluster    function: a separate cluster started with deploy/lib/pg (outage tests)
  lab_session    session: the tests' Asterisk lab (fails under tests/run when it is missing)
  lab            function: the lab, locked for this test so concurrent sessions never interleave Applies
  lab_b_session  session: the second Asterisk lab (skips when tests/run did not export PBX_TEST_LAB_B_*)
  lab_b          function: the second lab, locked like `lab` (with its own lock, taken after the lab's)
  apply_portal   function: a portal whose server applies to the lab over SSH
"""

from __future__ import annotations

import contextlib
import os

import pytest

import harness as h


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes many seconds (fills most of the extension pool, or waits for "
                                       "background checks); left out of the sanitizer rerun")


# --------------------------------------------------------------------------- database

@pytest.fixture(scope="session")
def pg():
    host = os.environ.get("PBX_TEST_PG_HOST")
    if host:
        cluster = h.PgCluster(host, int(os.environ.get("PBX_TEST_PG_PORT", "5432")),
                              os.environ.get("PBX_TEST_PG_USER", "postgres"))
        h.wait_until(cluster.is_ready, 15, 0.2, f"PostgreSQL at {host}:{cluster.port}")
        yield cluster
        return
    cluster = h.LocalCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


class _DbSet:
    def __init__(self, cluster: h.PgCluster, hint: str):
        self.cluster = cluster
        self.hint = hint
        self.names: list[str] = []

    def __call__(self, hint: str | None = None) -> str:
        name = self.cluster.create_db(hint or self.hint)
        self.names.append(name)
        return self.cluster.url(name)

    def drop_all(self):
        for n in self.names:
            self.cluster.drop_db(n)


@pytest.fixture
def new_db(pg, request):
    dbs = _DbSet(pg, request.node.name[:20])
    yield dbs
    dbs.drop_all()


def db_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


# --------------------------------------------------------------------------- processes

def _process_set(request) -> h.ProcessSet:
    h.require_binaries(h.SERVER_BIN, h.GATEWAY_BIN)
    return h.ProcessSet(request.node.nodeid.replace("/", "_").replace("::", "."))


def _finish(ps: h.ProcessSet):
    problems = ps.stop_all()
    assert not problems, "unclean shutdown:\n" + "\n".join(problems)


@pytest.fixture
def portals(request):
    ps = _process_set(request)
    yield ps
    _finish(ps)


@pytest.fixture
def portal(portals, new_db):
    return portals.start(new_db())


@pytest.fixture(scope="module")
def shared_portal(pg, request):
    ps = _process_set(request)
    dbs = _DbSet(pg, request.module.__name__[5:25])
    try:
        yield ps.start(dbs())
        _finish(ps)
    finally:
        ps.stop_all()
        dbs.drop_all()


class ModulePortals:
    """Portals and databases that live for one test module (stopped, and must exit 0, at its end)."""

    def __init__(self, ps: h.ProcessSet, dbs: _DbSet):
        self.ps = ps
        self.dbs = dbs

    def new_db(self, hint: str | None = None) -> str:
        return self.dbs(hint)

    def start(self, db_url: str | None = None, **kw) -> h.Portal:
        """A portal on DB_URL (default: a fresh database); keywords as ProcessSet.start (server_env=...)."""
        return self.ps.start(db_url or self.dbs(), **kw)


@pytest.fixture(scope="module")
def module_portals(pg, request):
    ps = _process_set(request)
    dbs = _DbSet(pg, request.module.__name__[5:25])
    try:
        yield ModulePortals(ps, dbs)
        _finish(ps)
    finally:
        ps.stop_all()
        dbs.drop_all()


@pytest.fixture
def portal_pair(portals, new_db):
    url = new_db()
    a = portals.start(url, wait=False)
    b = portals.start(url, wait=False)
    a.wait_healthy()
    b.wait_healthy()
    return a, b


@pytest.fixture
def own_cluster():
    """A separate cluster for tests that stop and restart PostgreSQL.
    Uses deploy/lib/pg; falls back to a local initdb/pg_ctl cluster only when the script does not exist yet."""
    if os.access(h.PG_SCRIPT, os.X_OK):
        cluster = h.ScriptCluster()
    else:
        cluster = h.LocalCluster()
        cluster.fallback = True
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


# --------------------------------------------------------------------------- Asterisk lab (Apply tests)

@pytest.fixture(scope="session")
def lab_session():
    """The tests' Asterisk lab (tests/run starts it and exports `asterisk-lab ssh-config` + PBX_TEST_SIP_PORT).
    Under tests/run (PBX_REPO set) a missing or dead lab fails the Apply tests; a bare local pytest skips them."""
    import shutil

    import lab as lab_mod

    missing = lab_mod.missing_env()
    if missing:
        msg = f"the Asterisk lab is not configured ({', '.join(missing)} unset; see tests/run)"
        if os.environ.get("PBX_REPO"):
            pytest.fail(msg)
        pytest.skip(msg)
    the_lab = lab_mod.Lab()
    if not the_lab.answers():
        pytest.fail(f"the lab's Asterisk at {the_lab.root} does not answer 'core show version'")
    if not shutil.which("sipp"):
        pytest.fail("sipp not found (Debian package sip-tester; deploy/lib/install-deps installs it)")
    return the_lab


@contextlib.contextmanager
def _held(the_lab):
    """THE_LAB held exclusively (the lock file .e2e-apply.lock in its directory): every Apply rewrites a lab's files
    and reloads its Asterisk, so two test sessions sharing a lab (two pytest runs at once) must not interleave their
    Apply tests."""
    import fcntl
    import time

    with open(the_lab.lab_dir / ".e2e-apply.lock", "w") as lock:
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another test session held the lab in {the_lab.lab_dir} for 10 minutes")
                time.sleep(0.2)
        try:
            yield the_lab
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def lab(lab_session):
    """The lab, held exclusively for one test (see _held)."""
    with _held(lab_session):
        yield lab_session


@pytest.fixture(scope="session")
def lab_b_session(lab_session):
    """The second Asterisk lab (tests/run's build/test-lab-b, exported as PBX_TEST_LAB_B_*), for the tests of several
    Asterisk hosts. Skips when those variables are absent (an older tests/run, a bare local pytest); fails when they
    name the first lab or a lab whose Asterisk does not answer."""
    import lab as lab_mod

    missing = lab_mod.missing_env(second=True)
    if missing:
        pytest.skip(f"the second Asterisk lab is not configured ({', '.join(missing)} unset; tests/run starts it "
                    f"in build/test-lab-b, tests/lib/testing.sh start_test_lab_b)")
    the_lab = lab_mod.Lab.second()
    if the_lab.root.resolve() == lab_session.root.resolve() or the_lab.ssh_port == lab_session.ssh_port \
            or the_lab.sip_port == lab_session.sip_port:
        pytest.fail(f"PBX_TEST_LAB_B_* name the first lab's root or ports ({the_lab!r} vs {lab_session!r})")
    if not the_lab.answers():
        pytest.fail(f"the second lab's Asterisk at {the_lab.root} does not answer 'core show version'")
    return the_lab


@pytest.fixture
def lab_b(lab, lab_b_session):
    """The second lab, held exclusively for one test like `lab`, with its own lock. It takes the first lab's lock
    first (lab_b depends on lab), so two sessions never wait on each other's locks in opposite orders."""
    with _held(lab_b_session):
        yield lab_b_session


@pytest.fixture
def apply_portal(portals, new_db, lab):
    """A portal whose server applies to the lab over SSH."""
    return portals.start(new_db(), server_env=lab.server_env())
