"""A PostgreSQL primary and a synchronous streaming standby on loopback, for failover tests.

    pair = PgPair(); pair.start()           # primary + standby, the standby streaming with sync_state 'sync'
    url = pair.url(db)                      # postgresql://postgres@127.0.0.1:A,127.0.0.1:B/db?target_session_attrs=...
    pair.stop_primary()                     # pg_ctl stop -m immediate: the primary vanishes mid-transaction
    pair.promote_standby()                  # the standby becomes the primary (no synchronous standby yet)
    pair.rebuild_standby()                  # the old primary's node, re-created from the new primary (pg_basebackup),
                                            # streaming and synchronous again
    pair.destroy()

The two nodes keep their names and ports; which one is primary changes. Both run the Debian binaries that
deploy/lib/pg uses, in a private directory, as the postgres OS user when we are root. Everything is loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import harness as h

# Durability across an immediate stop needs no fsync: the operating system keeps the written pages.
_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
wal_keep_size = '256MB'
synchronous_commit = on
fsync = off
full_page_writes = on
wal_receiver_status_interval = 1s
"""


class PgNode(h.PgCluster):
    """One PostgreSQL instance of the pair (named "a" or "b")."""

    def __init__(self, name: str, parent: Path):
        super().__init__("127.0.0.1", h.free_port(), "postgres")
        self.name = name
        self.datadir = parent / name
        self.logfile = parent / f"{name}.log"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> str:
        r = subprocess.run(h._as_postgres([str(h.pg_bindir() / tool), *args]), capture_output=True, text=True,
                           timeout=timeout, cwd="/")
        if r.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                               f"{self.log_tail()}")
        return r.stdout

    def make_empty_datadir(self):
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.datadir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.datadir, "postgres", "postgres")

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def start(self):
        if not self.logfile.exists():
            self.logfile.touch()
            if os.geteuid() == 0:
                shutil.chown(self.logfile, "postgres", "postgres")
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", "30",
                  "-o", f"-c port={self.port} -c cluster_name=pbx_pair_{self.name}", "start")
        h.wait_until(self.is_ready, 20, 0.1, f"node {self.name} to accept connections")

    def stop(self, mode: str = "fast"):
        """mode "immediate" is a crash as far as the clients can tell: no clean shutdown, no goodbye."""
        if (self.datadir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "30", "stop")

    def in_recovery(self) -> bool:
        return self.psql("postgres", "SELECT pg_is_in_recovery()").strip() == "t"

    def set_synchronous_standby(self, standby_name: str | None):
        """Whom a commit waits for: `standby_name` (FIRST 1), or nobody. Takes effect on reload, also for commits
        that are waiting right now."""
        value = f"FIRST 1 ({standby_name})" if standby_name else ""
        self.psql("postgres", f"ALTER SYSTEM SET synchronous_standby_names = '{value}'")
        self.psql("postgres", "SELECT pg_reload_conf()")


class PgPair:
    def __init__(self, parent: Path | None = None):
        self.parent = parent or Path(tempfile.mkdtemp(prefix="pbx-pg-pair-"))
        self.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.parent, 0o755)
        a, b = PgNode("a", self.parent), PgNode("b", self.parent)
        self.primary, self.standby = a, b
        self.nodes = (a, b)

    def url(self, db: str) -> str:
        """The portal's view: both nodes, and libpq picks the one that accepts writes."""
        query = {"target_session_attrs": "read-write", "connect_timeout": "2"}
        hosts = ",".join(f"{n.host}:{n.port}" for n in self.nodes)
        return f"postgresql://postgres@{hosts}/{db}?" + "&".join(f"{k}={v}" for k, v in query.items())

    def keyword_url(self, db: str) -> str:
        """The same in libpq's key=value form."""
        return (f"host={','.join(n.host for n in self.nodes)} port={','.join(str(n.port) for n in self.nodes)} "
                f"user=postgres dbname={db} target_session_attrs=read-write connect_timeout=2")

    def start(self):
        p = self.primary
        p.make_empty_datadir()
        p._run("initdb", "-D", str(p.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        with open(p.datadir / "postgresql.conf", "a") as conf:
            conf.write(_SETTINGS)
        with open(p.datadir / "pg_hba.conf", "a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        p.start()
        self._attach_standby()

    def _attach_standby(self):
        """Copies the primary into the standby's (empty) directory, starts it streaming, and makes it the
        synchronous standby; returns once the primary reports it as such."""
        p, s = self.primary, self.standby
        s.make_empty_datadir()
        # -R writes standby.signal and primary_conninfo; the application name is what synchronous_standby_names
        # refers to.
        p._run("pg_basebackup", "-h", p.host, "-p", str(p.port), "-U", "postgres", "-D", str(s.datadir), "-R",
               "-X", "stream", "-c", "fast", "-d",
               f"host={p.host} port={p.port} user=postgres application_name={s.name}", timeout=120)
        # The copy carries the primary's synchronous_standby_names: a standby has no use for it.
        (s.datadir / "postgresql.auto.conf").write_text(
            "\n".join(line for line in (s.datadir / "postgresql.auto.conf").read_text().splitlines()
                      if not line.startswith("synchronous_standby_names")) + "\n")
        s.start()
        p.set_synchronous_standby(s.name)
        h.wait_until(lambda: p.psql("postgres", "SELECT state, sync_state FROM pg_stat_replication "
                                                f"WHERE application_name = '{s.name}'").strip() == "streaming|sync",
                     30, 0.1, f"node {s.name} to stream synchronously from node {p.name}")

    def stop_primary(self):
        self.primary.stop("immediate")

    def promote_standby(self):
        """The standby takes over. With no standby of its own yet, its commits wait for nobody (what an HA manager
        does when the synchronous standby is gone, rather than stopping every write)."""
        s = self.standby
        s._run("pg_ctl", "-D", str(s.datadir), "-w", "-t", "30", "promote")
        h.wait_until(lambda: not s.in_recovery(), 20, 0.05, f"node {s.name} to leave recovery")
        s.set_synchronous_standby(None)
        self.primary, self.standby = s, self.primary

    def rebuild_standby(self):
        """The stopped old primary comes back as the synchronous standby of the new one."""
        self.standby.stop("immediate")
        self._attach_standby()

    def destroy(self):
        for n in self.nodes:
            try:
                n.stop("immediate")
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        shutil.rmtree(self.parent, ignore_errors=True)
