"""Access to the tests' Asterisk labs (deploy/lib/asterisk-lab) for the Apply end-to-end tests.

tests/run starts the lab and exports `asterisk-lab ssh-config` (PBX_ASTERISK_SSH_HOST/_PORT/_USER/_KEY/_KNOWN_HOSTS,
PBX_ASTERISK_PROGRAM, PBX_ASTERISK_FILE_GROUP, PBX_ASTERISK_ROOT) plus PBX_TEST_SIP_PORT: `Lab()`. It also starts a
second lab, a host of its own with a root copied from the first one's (build/test-lab-b), for the tests of several
Asterisk hosts, exported as PBX_TEST_LAB_B_DIR, PBX_TEST_LAB_B_SIP_PORT and its ssh-config under the same prefix
(PBX_TEST_LAB_B_SSH_HOST/_SSH_PORT/_SSH_USER/_SSH_KEY/_SSH_KNOWN_HOSTS/_PROGRAM/_FILE_GROUP/_ROOT): `Lab.second()`;
`hosts_server_env({"a": lab, "b": lab_b})` is the server's environment for both. The portal logs in as each lab's
unprivileged account (pbxportal, group asterisk), as in production. Everything here talks to loopback only:
  - the live Asterisk through `chroot ROOT asterisk -rx ...` (the daemon's control socket), or over SSH as the portal,
  - the generated files directly under ROOT/etc/asterisk/...,
  - SIP through sipp (Debian sip-tester) at 127.0.0.1:PBX_TEST_SIP_PORT with the scenarios in tests/lab/.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import harness as h

LAB_SCRIPT = h.REPO_ROOT / "deploy" / "lib" / "asterisk-lab"
SCENARIOS = h.REPO_ROOT / "tests" / "lab"
SIPP_LOG_DIR = h.LOG_DIR / "sipp"

# The spec's paths on the Asterisk host (FR-007, FR-008), the server's defaults.
PJSIP_PATH = "/etc/asterisk/pjsip.d/synergycall/generated_endpoints.conf"
DIALPLAN_PATH = "/etc/asterisk/extensions.d/synergycall/generated_routing.conf"

REQUIRED_ENV = ("PBX_ASTERISK_ROOT", "PBX_ASTERISK_SSH_HOST", "PBX_ASTERISK_SSH_PORT", "PBX_ASTERISK_SSH_USER",
                "PBX_ASTERISK_SSH_KEY", "PBX_ASTERISK_SSH_KNOWN_HOSTS", "PBX_ASTERISK_PROGRAM",
                "PBX_ASTERISK_FILE_GROUP", "PBX_TEST_SIP_PORT")

# The second lab's variables (tests/run's start_test_lab_b), by the first lab's name each stands for. PROGRAM and
# FILE_GROUP are optional: the same on every lab, they default to the first lab's.
SECOND_PREFIX = "PBX_TEST_LAB_B_"
SECOND_ENV = {"PBX_ASTERISK_ROOT": "PBX_TEST_LAB_B_ROOT", "PBX_ASTERISK_SSH_HOST": "PBX_TEST_LAB_B_SSH_HOST",
              "PBX_ASTERISK_SSH_PORT": "PBX_TEST_LAB_B_SSH_PORT", "PBX_ASTERISK_SSH_USER": "PBX_TEST_LAB_B_SSH_USER",
              "PBX_ASTERISK_SSH_KEY": "PBX_TEST_LAB_B_SSH_KEY",
              "PBX_ASTERISK_SSH_KNOWN_HOSTS": "PBX_TEST_LAB_B_SSH_KNOWN_HOSTS",
              "PBX_ASTERISK_PROGRAM": "PBX_TEST_LAB_B_PROGRAM", "PBX_ASTERISK_FILE_GROUP": "PBX_TEST_LAB_B_FILE_GROUP",
              "PBX_TEST_SIP_PORT": "PBX_TEST_LAB_B_SIP_PORT"}
SECOND_OPTIONAL = {"PBX_TEST_LAB_B_PROGRAM", "PBX_TEST_LAB_B_FILE_GROUP"}

# A host name of PBX_ASTERISK_HOSTS (NAME=HOST:PORT,...).
HOST_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")

_ROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
             "LANG": "C.UTF-8"}

# The per-connection processes of the lab's OpenSSH (sid: sshd-session, sshd-auth) beside the listener, sshd.
_SSHD_NAMES = {"sshd", "sshd-session", "sshd-auth"}


def missing_env(second: bool = False) -> list[str]:
    """The unset variables Lab() needs, or with SECOND those Lab.second() needs."""
    names = [v for v in SECOND_ENV.values() if v not in SECOND_OPTIONAL] if second else REQUIRED_ENV
    return [k for k in names if not os.environ.get(k)]


def wait_sipp_bound(proc: "SippProcess", port: int, what: str):
    """Until PROC holds UDP PORT on loopback (binding it ourselves fails then); fails if PROC exits first."""
    def bound():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return True
        assert proc.popen.poll() is None, f"{what} exited early: {proc.wait(1).explain()}"
        return False
    h.wait_until(bound, 10, 0.05, f"{what} to bind its port")


def sha256_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def free_udp_port() -> int:
    """A loopback port free for both UDP and TCP, never handed out twice in this session (shares the harness'
    bookkeeping, so portal ports and sipp ports never collide)."""
    with h._port_lock:  # noqa: SLF001 - one registry of handed-out ports for the whole suite
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port in h._handed_out:  # noqa: SLF001
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind(("127.0.0.1", port))
            except OSError:
                continue
            h._handed_out.add(port)  # noqa: SLF001
            return port
    raise RuntimeError("no fresh free UDP port")


def parse_pjsip_list(output: str, kind: str) -> set[str]:
    """Ids from `pjsip list endpoints|aors|auths` ("Endpoint:  1000  ..." lines; the header's "<Endpoint...>" aside)."""
    ids = set()
    for line in output.splitlines():
        m = re.match(rf"^\s*{kind}:\s+(\S+)", line)
        if m and not m.group(1).startswith("<"):
            ids.add(m.group(1).split("/", 1)[0])
    return ids


def parse_dialplan(output: str) -> dict[str, str]:
    """{extension: priority-1 application} from `dialplan show CONTEXT`."""
    exts = {}
    for line in output.splitlines():
        m = re.match(r"^\s*'([^']*)'\s*=>\s*1\.\s*(\S+)", line)
        if m:
            exts[m.group(1)] = m.group(2)
    return exts


def _shared_server_env(program: str, file_group: str) -> dict:
    """The server settings every lab host shares: transport, CLI program, file group, timeouts."""
    return {
        "PBX_ASTERISK_TRANSPORT": "ssh",
        "PBX_ASTERISK_PROGRAM": program,
        "PBX_ASTERISK_FILE_GROUP": file_group,
        "PBX_ASTERISK_CONNECT_TIMEOUT_S": "5",
        "PBX_ASTERISK_COMMAND_TIMEOUT_S": "30",
        "PBX_APPLY_LOCK_TIMEOUT_S": "60",
    }


def host_env_prefix(name: str) -> str:
    """PBX_ASTERISK_<NAME>: the prefix of host NAME's own SSH settings (NAME upper-cased, '-' -> '_')."""
    if not HOST_NAME_RE.fullmatch(name):
        raise ValueError(f"host name {name!r} does not match {HOST_NAME_RE.pattern}")
    return "PBX_ASTERISK_" + name.upper().replace("-", "_")


def hosts_server_env(labs: Mapping[str, "Lab"], **overrides) -> dict:
    """The server's environment for several Asterisk hosts, one per lab of LABS ({name: Lab}, in host order):
    PBX_ASTERISK_HOSTS=name=HOST:PORT,..., each host's PBX_ASTERISK_<NAME>_SSH_USER/_SSH_KEY/_SSH_KNOWN_HOSTS, and
    the settings Lab.server_env shares (transport, program, file group, timeouts). No shared
    PBX_ASTERISK_SSH_HOST/_PORT/_USER/_KEY/_KNOWN_HOSTS: every host names its own (pass them as OVERRIDES to test
    the shared defaults). OVERRIDES replace or add variables; a None value removes one.

        env = hosts_server_env({"a": lab, "b": lab_b}, PBX_DRIFT_CHECK_INTERVAL_S=0)
        portal = portals.start(new_db(), server_env=env)
    """
    if not labs:
        raise ValueError("hosts_server_env needs at least one lab")
    shared = {(lab.asterisk_program, lab.file_group) for lab in labs.values()}
    if len(shared) != 1:
        raise ValueError(f"the labs differ in PBX_ASTERISK_PROGRAM / PBX_ASTERISK_FILE_GROUP: {sorted(shared)}")
    env = _shared_server_env(*shared.pop())
    env["PBX_ASTERISK_HOSTS"] = ",".join(f"{name}={lab.ssh_host}:{lab.ssh_port}" for name, lab in labs.items())
    for name, lab in labs.items():
        prefix = host_env_prefix(name)
        env[f"{prefix}_SSH_USER"] = lab.ssh_user
        env[f"{prefix}_SSH_KEY"] = lab.ssh_key
        env[f"{prefix}_SSH_KNOWN_HOSTS"] = lab.known_hosts
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


class Lab:
    def __init__(self, env: Mapping[str, str] | None = None):
        """The lab ENV (default: os.environ) names with the first lab's variables (REQUIRED_ENV). Lab.second() is
        the second lab."""
        env = os.environ if env is None else env
        self.root = Path(env["PBX_ASTERISK_ROOT"])
        self.ssh_host = env["PBX_ASTERISK_SSH_HOST"]
        self.ssh_port = int(env["PBX_ASTERISK_SSH_PORT"])
        self.ssh_user = env["PBX_ASTERISK_SSH_USER"]
        self.ssh_key = env["PBX_ASTERISK_SSH_KEY"]
        self.known_hosts = env["PBX_ASTERISK_SSH_KNOWN_HOSTS"]
        # A non-root SSH session's PATH has no /usr/sbin, so the CLI is named by its absolute path.
        self.asterisk_program = env["PBX_ASTERISK_PROGRAM"]
        self.file_group = env["PBX_ASTERISK_FILE_GROUP"]
        self.sip_port = int(env["PBX_TEST_SIP_PORT"])
        self.pjsip_file = self.root / PJSIP_PATH.lstrip("/")
        self.dialplan_file = self.root / DIALPLAN_PATH.lstrip("/")
        self.pjsip_dir = self.pjsip_file.parent
        self.dialplan_dir = self.dialplan_file.parent
        # The lab's directory (asterisk-lab's PBX_LAB_DIR): the root is its root/.
        self.lab_dir = self.root.parent

    @classmethod
    def second(cls, env: Mapping[str, str] | None = None) -> "Lab":
        """The second lab tests/run starts (build/test-lab-b), from its PBX_TEST_LAB_B_* variables in ENV (default:
        os.environ): `lab_b = Lab.second()`."""
        env = os.environ if env is None else env
        mapped = {first: env[second] for first, second in SECOND_ENV.items() if env.get(second)}
        mapped.setdefault("PBX_ASTERISK_PROGRAM", env.get("PBX_ASTERISK_PROGRAM") or "/usr/sbin/asterisk")
        mapped.setdefault("PBX_ASTERISK_FILE_GROUP", env.get("PBX_ASTERISK_FILE_GROUP") or "asterisk")
        missing = [second for first, second in SECOND_ENV.items() if first not in mapped]
        if missing:
            raise KeyError(f"the second lab is not configured: {', '.join(missing)} unset")
        return cls(mapped)

    def __repr__(self):
        return f"<Lab {self.lab_dir} ssh {self.ssh_host}:{self.ssh_port} sip {self.sip_port}>"

    # ------------------------------------------------------------------ portal configuration

    def server_env(self, **overrides) -> dict:
        """The server's environment for the SSH transport to this lab (the harness strips inherited PBX_*)."""
        env = _shared_server_env(self.asterisk_program, self.file_group)
        env.update({
            "PBX_ASTERISK_SSH_HOST": self.ssh_host,
            "PBX_ASTERISK_SSH_PORT": str(self.ssh_port),
            "PBX_ASTERISK_SSH_USER": self.ssh_user,
            "PBX_ASTERISK_SSH_KEY": self.ssh_key,
            "PBX_ASTERISK_SSH_KNOWN_HOSTS": self.known_hosts,
        })
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    def asterisk_gid(self) -> int:
        for line in (self.root / "etc" / "group").read_text().splitlines():
            f = line.split(":")
            if f[0] == "asterisk":
                return int(f[2])
        raise AssertionError(f"no asterisk group in {self.root}/etc/group")

    def local_server_env(self) -> dict:
        """The server's environment for the local transport: the same lab, reached with chroot."""
        return {
            "PBX_ASTERISK_TRANSPORT": "local",
            "PBX_ASTERISK_PROGRAM": f"chroot {self.root} asterisk",
            "PBX_PJSIP_CONFIG_PATH": str(self.pjsip_file),
            "PBX_DIALPLAN_CONFIG_PATH": str(self.dialplan_file),
            "PBX_ASTERISK_FILE_GROUP": str(self.asterisk_gid()),
            "PBX_ASTERISK_COMMAND_TIMEOUT_S": "30",
        }

    # ------------------------------------------------------------------ the live Asterisk

    def cli_run(self, command: str, timeout: float = 20) -> subprocess.CompletedProcess:
        return subprocess.run(["chroot", str(self.root), "asterisk", "-rx", command], env=_ROOT_ENV,
                              capture_output=True, text=True, timeout=timeout)

    def cli(self, command: str, timeout: float = 20) -> str:
        r = self.cli_run(command, timeout)
        if r.returncode != 0:
            raise AssertionError(f"asterisk -rx {command!r} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r.stdout

    def endpoints(self) -> set[str]:
        return parse_pjsip_list(self.cli("pjsip list endpoints"), "Endpoint")

    def aors(self) -> set[str]:
        return parse_pjsip_list(self.cli("pjsip list aors"), "Aor")

    def auths(self) -> set[str]:
        return parse_pjsip_list(self.cli("pjsip list auths"), "Auth")

    def dialplan(self, context: str = "synergy-internal") -> dict[str, str]:
        return parse_dialplan(self.cli(f"dialplan show {context}"))

    def live(self) -> dict:
        """Everything the portal manages, as the running Asterisk holds it."""
        return {"endpoints": self.endpoints(), "aors": self.aors(), "auths": self.auths(),
                "dialplan": self.dialplan()}

    @staticmethod
    def expected(extensions) -> dict:
        exts = sorted(int(e) for e in extensions)
        return {"endpoints": {str(e) for e in exts}, "aors": {str(e) for e in exts},
                "auths": {f"{e}-auth" for e in exts},
                "dialplan": {str(e): f"Dial(PJSIP/{e},25)" for e in exts}}

    def assert_live(self, extensions, what: str = ""):
        live = self.live()
        want = self.expected(extensions)
        assert live == want, (f"live Asterisk differs from the database{(' (' + what + ')') if what else ''}:\n"
                              f"  live: { {k: sorted(v) for k, v in live.items()} }\n"
                              f"  want: { {k: sorted(v) for k, v in want.items()} }")

    def answers(self) -> bool:
        try:
            r = self.cli_run("core show version", timeout=10)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0 and r.stdout.startswith("Asterisk ")

    def contacts(self) -> str:
        return self.cli("pjsip show contacts")

    def contact_status(self, ext: int) -> str | None:
        """The qualify status of EXT's contact in `pjsip show contacts` (Avail, Unavail, Unknown, NonQual)."""
        m = re.search(rf"^\s*Contact:\s+{ext}/\S+\s+\S+\s+(\S+)", self.contacts(), re.M)
        return m.group(1) if m else None

    def channels(self) -> str:
        return self.cli("core show channels concise")

    def stop_asterisk(self):
        """Stop the lab's Asterisk ('core stop now'); sshd keeps running. `up()` starts it again."""
        self.cli_run("core stop now", timeout=20)
        h.wait_until(lambda: not self.answers(), 20, 0.2, "the lab's Asterisk to stop")
        pidfile = self.root / "run" / "asterisk" / "asterisk.pid"

        def gone():
            try:
                pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                return True
            return not Path(f"/proc/{pid}").exists() or \
                "asterisk" not in Path(f"/proc/{pid}/comm").read_text(errors="replace")
        h.wait_until(gone, 20, 0.2, "the lab's Asterisk process to exit")

    def up(self, timeout: float = 120):
        """`asterisk-lab up` for this lab (restarts what is not running; a no-op when everything runs)."""
        env = dict(os.environ)
        env.update({"PBX_LAB_ROOT": str(self.root), "PBX_LAB_DIR": str(self.root.parent),
                    "PBX_LAB_SIP_PORT": str(self.sip_port), "PBX_LAB_SSH_PORT": str(self.ssh_port)})
        r = subprocess.run([str(LAB_SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=timeout,
                           cwd=str(h.REPO_ROOT))
        if r.returncode != 0:
            raise AssertionError(f"asterisk-lab up failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        h.wait_until(self.answers, 30, 0.2, "the lab's Asterisk to answer")

    @contextlib.contextmanager
    def asterisk_stopped(self):
        """The lab's Asterisk stopped inside the block (sshd keeps running); `up()` after it, whatever happened."""
        self.stop_asterisk()
        try:
            yield self
        finally:
            self.up()

    # ------------------------------------------------------------------ processes and SSH

    def _pids_in_root(self, names) -> list[int]:
        """Pids of the processes named NAMES (comm) whose root directory is this lab's root."""
        root = str(self.root.resolve())
        pids = []
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                if p.joinpath("comm").read_text().strip() in names and os.readlink(p / "root") == root:
                    pids.append(int(p.name))
            except OSError:
                continue
        return pids

    def _pidfile_alive(self, pidfile: Path, name: str) -> bool:
        try:
            pid = int(pidfile.read_text().strip())
            return (Path(f"/proc/{pid}/comm").read_text().strip() == name
                    and os.readlink(f"/proc/{pid}/root") == str(self.root.resolve()))
        except (OSError, ValueError):
            return False

    def asterisk_running(self) -> bool:
        """The lab's Asterisk process runs (it may not answer yet: see answers())."""
        return self._pidfile_alive(self.root / "run" / "asterisk" / "asterisk.pid", "asterisk")

    def sshd_running(self) -> bool:
        """The lab's sshd listener runs (see ssh_answers() for the port)."""
        return self._pidfile_alive(self.root / "run" / "sshd.pid", "sshd")

    def ssh_answers(self, timeout: float = 5) -> bool:
        """Something on the lab's SSH port greets with an SSH banner."""
        try:
            with socket.create_connection((self.ssh_host, self.ssh_port), timeout=timeout) as c:
                c.settimeout(timeout)
                return c.recv(256).startswith(b"SSH-2.0-")
        except OSError:
            return False

    def stop_sshd(self, *, sessions: bool = True):
        """Stop the lab's sshd, as on a host whose SSH daemon is down: new connections are refused. With SESSIONS (the
        default) every open SSH session is cut too (the server's kept session included); without, only the
        listener goes and open sessions keep working. Asterisk keeps running; `up()` starts sshd again."""
        pidfile = self.root / "run" / "sshd.pid"
        if sessions:
            pids = self._pids_in_root(_SSHD_NAMES)
        else:
            # The listener only: the pid file's process.
            pids = [int(pidfile.read_text().strip())] if self._pidfile_alive(pidfile, "sshd") else []
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        h.wait_until(lambda: not self.sshd_running() and not self.ssh_answers(1), 20, 0.1,
                     "the lab's sshd to stop")
        if sessions:
            h.wait_until(lambda: not self._pids_in_root(_SSHD_NAMES), 20, 0.1, "the lab's SSH sessions to end")

    @contextlib.contextmanager
    def sshd_stopped(self, *, sessions: bool = True):
        """The lab's sshd stopped inside the block (see stop_sshd); `up()` after it, whatever happened."""
        self.stop_sshd(sessions=sessions)
        try:
            yield self
        finally:
            self.up()

    def ssh_argv(self, command: str, *, key: str | None = None) -> list[str]:
        """ssh running COMMAND as the portal's account, with the lab's key (or KEY) and only its known_hosts."""
        return ["ssh", "-i", key or self.ssh_key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
                "-p", str(self.ssh_port), f"{self.ssh_user}@{self.ssh_host}", command]

    def ssh(self, command: str, *, key: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        """COMMAND run over SSH as the portal logs in (its account, key and known_hosts)."""
        return subprocess.run(self.ssh_argv(command, key=key), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def ssh_cli(self, command: str, timeout: float = 30) -> str:
        """`asterisk -rx COMMAND` over SSH, as the server runs it (the CLI through the group's control socket)."""
        r = self.ssh(f"{self.asterisk_program} -rx {shlex.quote(command)}", timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"ssh {self.ssh_host}:{self.ssh_port} asterisk -rx {command!r} failed "
                                 f"({r.returncode}): {r.stdout}{r.stderr}")
        return r.stdout

    def known_host_keys(self) -> set[str]:
        """The host keys ("TYPE BASE64") the lab's known_hosts trusts for its SSH port."""
        keys = set()
        for line in Path(self.known_hosts).read_text().splitlines():
            f = line.split()
            if len(f) >= 3 and f[0] == f"[{self.ssh_host}]:{self.ssh_port}":
                keys.add(f"{f[1]} {f[2]}")
        return keys

    def served_host_keys(self) -> set[str]:
        """The host keys ("TYPE BASE64") the lab's sshd presents (ssh-keyscan)."""
        r = subprocess.run(["ssh-keyscan", "-T", "5", "-p", str(self.ssh_port), self.ssh_host],
                           capture_output=True, text=True, timeout=30)
        keys = set()
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) >= 3 and not line.startswith("#"):
                keys.add(f"{f[1]} {f[2]}")
        return keys

    def root_stamp(self) -> Path:
        """asterisk-lab's ROOT.stamp: written when the root was built (or copied), before anything ran in it."""
        return Path(f"{self.root}.stamp")

    # ------------------------------------------------------------------ files

    def files(self) -> tuple[bytes, bytes]:
        return self.pjsip_file.read_bytes(), self.dialplan_file.read_bytes()

    def assert_files_match_audit(self, audit: dict, *, local: bool = False):
        """AUDIT's file records (an Apply's audit or a GET /apply/audit entry) are the files on the lab's disk: one
        record per generated file, named by its path on the Asterisk host (the spec's paths for the SSH transport;
        for the local transport, LOCAL=True, the lab paths the server was configured with), whose sha256 and size
        are the file's, and each file's header hash is the audit's content_hash."""
        disk_files = (self.pjsip_file, self.dialplan_file)
        paths = (str(self.pjsip_file), str(self.dialplan_file)) if local else (PJSIP_PATH, DIALPLAN_PATH)
        records = audit.get("files") or []
        by_path = {f["path"]: f for f in records}
        assert len(records) == 2 and set(by_path) == set(paths), \
            f"audit {audit.get('id')} files: want records for {list(paths)}, got {records!r}"
        for path, disk in zip(paths, disk_files):
            rec = by_path[path]
            assert rec["sha256"] == sha256_file(disk), f"audit sha256 of {path} != the file on disk ({disk})"
            assert int(rec["size_bytes"]) == disk.stat().st_size, f"audit size of {path} != the file on disk ({disk})"
            assert header_hash(disk.read_text()) == audit["content_hash"], \
                f"{disk}: header hash != audit content_hash {audit['content_hash']}"

    def assert_file_modes(self):
        """The generated files are readable by Asterisk (runs as group asterisk) and nobody else: mode 0640, group
        asterisk."""
        gid = self.asterisk_gid()
        for f in (self.pjsip_file, self.dialplan_file):
            st = f.stat()
            assert st.st_mode & 0o777 == 0o640 and st.st_gid == gid, \
                f"{f}: mode {oct(st.st_mode & 0o777)} gid {st.st_gid}, want 0640 gid {gid}"

    def stray_files(self) -> list[str]:
        """Anything in the two include directories besides the generated files (temporaries, backups)."""
        stray = []
        for d, keep in ((self.pjsip_dir, self.pjsip_file.name), (self.dialplan_dir, self.dialplan_file.name)):
            stray += [str(p) for p in d.iterdir() if p.name != keep]
        return stray

    def messages_log_size(self) -> int:
        try:
            return (self.root / "var" / "log" / "asterisk" / "messages.log").stat().st_size
        except OSError:
            return 0

    def messages_log_since(self, offset: int) -> str:
        p = self.root / "var" / "log" / "asterisk" / "messages.log"
        with open(p, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", errors="replace")

    def file_stats(self) -> list[tuple[int, int]]:
        """(inode, mtime in ns) of the pjsip and the dialplan file: what a rewrite (temporary + rename) changes."""
        return [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (self.pjsip_file, self.dialplan_file)]

    @contextlib.contextmanager
    def watch_reloads(self):
        """Evidence of the reloads Asterisk runs inside the block:
        `with lab.watch_reloads() as w: ...; w.dialplan_reloaded(); w.pjsip_reloads()`.

        Verified on the lab's Asterisk 22: every `pjsip reload` (or `module reload res_pjsip.so`) logs one NOTICE
        "sorcery.c: Type 'system' is not reloadable, maintaining previous values" to messages.log (the lab's
        pjsip.conf has a [system] section); `dialplan reload` logs nothing at the levels messages.log keeps, but it
        drops every context the CLI added at run time (registrar pbx_config), so a marker context added before the
        block is gone after a dialplan reload and still there without one. Nothing else (the drift check, Preview,
        `pjsip list ...`) logs either."""
        w = ReloadWatch(self)
        try:
            yield w
        finally:
            w.close()

    def config_errors_since(self, offset: int) -> list[str]:
        """ERROR/WARNING lines of the config loaders (PJSIP sorcery, config parser, dialplan) logged since OFFSET:
        a rejected object shows up only here, the reload itself always 'succeeds'."""
        pat = re.compile(r"(ERROR|WARNING)\[\d+\].*(config|sorcery|res_pjsip|pbx_config|generated_)")
        return [ln for ln in self.messages_log_since(offset).splitlines()
                if pat.search(ln) and "deprecated" not in ln]

    @contextlib.contextmanager
    def read_only(self, directory: Path):
        """Make DIRECTORY read-only for everyone (the SSH host's sftp server included) with a read-only bind mount
        from the host; always unmounted again. E.g. `with lab_b.read_only(lab_b.pjsip_dir): ...` for a host whose
        generated-file directory cannot be written."""
        d = str(directory)
        subprocess.run(["mount", "--bind", d, d], check=True, capture_output=True, text=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", d], check=True, capture_output=True, text=True)
            yield
        finally:
            r = subprocess.run(["umount", d], capture_output=True, text=True)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", d], capture_output=True, text=True)

    # ------------------------------------------------------------------ sipp

    def sipp_argv(self, scenario: str, *, service: str, user: str | None = None, password: str | None = None,
                  port: int | None = None, calls: int = 1, timeout_s: int = 20, extra=()) -> list[str]:
        port = port or free_udp_port()
        argv = ["sipp", f"127.0.0.1:{self.sip_port}", "-sf", str(SCENARIOS / scenario), "-s", service,
                "-m", str(calls), "-i", "127.0.0.1", "-p", str(port), "-mp", str(free_udp_port()),
                "-nostdin", "-timeout", f"{timeout_s}s", "-trace_err", "-trace_msg"]
        if user is not None:
            argv += ["-au", user]
        if password is not None:
            argv += ["-ap", password]
        return argv + list(extra)

    def _sipp_dir(self, tag: str) -> Path:
        SIPP_LOG_DIR.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=h.safe_name(tag)[:60] + ".", dir=SIPP_LOG_DIR))

    def sipp(self, tag: str, scenario: str, *, timeout: float = 40, **kw) -> "SippResult":
        argv = self.sipp_argv(scenario, **kw)
        d = self._sipp_dir(tag)
        r = subprocess.run(argv, cwd=str(d), capture_output=True, text=True, timeout=timeout)
        return SippResult(argv, r.returncode, r.stdout, r.stderr, d)

    def register(self, extension, password: str, *, port: int | None = None, tag: str = "register") -> "SippResult":
        """REGISTER EXT with PASSWORD (tests/lab/register.xml); exit 0 only when Asterisk answers 200."""
        ext = str(extension)
        return self.sipp(f"{tag}-{ext}", "register.xml", service=ext, user=ext, password=password, port=port)

    def start_sipp(self, tag: str, scenario: str, **kw) -> "SippProcess":
        argv = self.sipp_argv(scenario, **kw)
        d = self._sipp_dir(tag)
        return SippProcess(argv, d)

    def call(self, caller, caller_password: str, callee, callee_password: str,
             timeout_s: int = 40) -> tuple["SippResult", "SippResult"]:
        """CALLER calls CALLEE through this lab's Asterisk (digest auth, Dial(PJSIP/CALLEE,25)), as
        test_apply_sip.py's call does: the callee registers from a port P and a sipp UAS answers on P (see
        tests/lab/phone.xml), its contact qualified Avail; the UAC (tests/lab/uac_call.xml) holds the call until both
        legs are Up in Asterisk, then hangs up. Returns (caller's result, callee's result): both exit 0 for a
        call that was set up, bridged and hung up cleanly. Raises when the legs never came up or stayed."""
        caller, callee = str(caller), str(callee)
        port = free_udp_port()
        reg = self.register(callee, callee_password, port=port, tag=f"callee-{self.sip_port}")
        if reg.returncode != 0:
            raise AssertionError(f"{callee} could not register at {self!r}:\n{reg.explain()}")
        uas = self.start_sipp(f"uas-{callee}-{self.sip_port}", "phone.xml", service=callee, port=port, calls=1000,
                              timeout_s=timeout_s)
        try:
            wait_sipp_bound(uas, port, "the sipp UAS")
            self.cli(f"pjsip qualify {callee}")
            h.wait_until(lambda: self.contact_status(int(callee)) == "Avail", 10, 0.1,
                         f"{callee}'s contact to answer a qualify")
            uac = self.start_sipp(f"uac-{caller}-{callee}-{self.sip_port}", "uac_call.xml", service=callee,
                                  user=caller, password=caller_password, timeout_s=timeout_s,
                                  extra=["-key", "caller", caller])
            try:
                def both_legs_up():
                    up = [ln for ln in self.channels().splitlines()
                          if re.match(rf"PJSIP/({caller}|{callee})-", ln) and "!Up!" in ln]
                    return len(up) >= 2 and any(ln.startswith(f"PJSIP/{caller}-") and "Dial" in ln for ln in up)
                h.wait_until(both_legs_up, 10, 0.1, f"two Up PJSIP channels ({caller} -> {callee}) at {self!r}")
                caller_result = uac.wait(30)
            finally:
                uac.stop()
            callee_result = uas.wait(15)
        finally:
            uas.stop()
        h.wait_until(lambda: not [ln for ln in self.channels().splitlines() if ln.startswith("PJSIP/")], 10, 0.2,
                     "the channels to go away after BYE")
        return caller_result, callee_result


RELOAD_NOTICE = "sorcery.c: Type 'system' is not reloadable"
RELOAD_MARKER_CONTEXT = "e2e-reload-marker"


class ReloadWatch:
    """See Lab.watch_reloads."""

    def __init__(self, lab: Lab):
        self.lab = lab
        lab.cli_run(f"dialplan remove context {RELOAD_MARKER_CONTEXT}")
        lab.cli(f"dialplan add extension 1,1,NoOp(e2e-reload-marker) into {RELOAD_MARKER_CONTEXT}")
        assert self._marker_present(), "could not add the dialplan reload marker"
        self.offset = lab.messages_log_size()

    def _marker_present(self) -> bool:
        r = self.lab.cli_run(f"dialplan show {RELOAD_MARKER_CONTEXT}")
        return f"Context '{RELOAD_MARKER_CONTEXT}' created by" in r.stdout

    def dialplan_reloaded(self) -> bool:
        return not self._marker_present()

    def pjsip_reloads(self) -> int:
        """How many pjsip reloads logged since the block began. Asterisk's logger writes from its own thread, so
        this runs one more `pjsip reload` as a marker and waits for its line: every earlier line is written by
        then (the marker pjsip reload leaves the dialplan marker alone)."""
        def count() -> int:
            return self.lab.messages_log_since(self.offset).count(RELOAD_NOTICE)
        before = count()
        self.lab.cli("pjsip reload")
        h.wait_until(lambda: count() > before, 10, 0.02, "the marker pjsip reload's line in messages.log")
        time.sleep(0.1)  # the logger thread writes what was queued with the marker in the same pass
        return count() - 1

    def close(self):
        self.lab.cli_run(f"dialplan remove context {RELOAD_MARKER_CONTEXT}")


class SippResult:
    def __init__(self, argv, returncode, stdout, stderr, directory: Path):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.dir = directory

    def explain(self) -> str:
        errs = "".join(p.read_text(errors="replace")[-3000:] for p in self.dir.glob("*_errors.log"))
        msgs = "".join(p.read_text(errors="replace")[-4000:] for p in self.dir.glob("*_messages.log"))
        return (f"sipp exit {self.returncode}: {' '.join(self.argv)}\n(logs in {self.dir})\n"
                f"stderr: {self.stderr[-1500:]}\nerrors: {errs}\nmessages (tail): {msgs}")

    def __repr__(self):
        return f"<sipp exit {self.returncode} logs {self.dir}>"


class SippProcess:
    """A sipp run in the background (a UAS waiting for a call)."""

    def __init__(self, argv, directory: Path):
        self.argv = argv
        self.dir = directory
        self._out = open(directory / "stdout.log", "wb")
        self._err = open(directory / "stderr.log", "wb")
        self.popen = subprocess.Popen(argv, cwd=str(directory), stdout=self._out, stderr=self._err,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

    def wait(self, timeout: float) -> SippResult:
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)
            rc = None
        self._out.close()
        self._err.close()
        return SippResult(self.argv, rc, (self.dir / "stdout.log").read_text(errors="replace"),
                          (self.dir / "stderr.log").read_text(errors="replace"), self.dir)

    def stop(self):
        if self.popen.poll() is None:
            self.popen.kill()
        with contextlib.suppress(Exception):
            self.popen.wait(timeout=5)
        for f in (self._out, self._err):
            with contextlib.suppress(Exception):
                f.close()


class SilentListener:
    """A TCP port that accepts connections and never says anything (a hung sshd)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                pass

    def close(self):
        self._stop = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


# --------------------------------------------------------------------------- config files

def parse_conf(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Asterisk config text -> [(section, [(key, value), ...])]; comments, blank lines and `exten =>` kept as keys.
    Raises on a line that is neither (a section header, a #directive or `key = value`)."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("#"):
            sections.append(("#", [("directive", line)]))
            continue
        m = re.fullmatch(r"\[([^\]]+)\]", line)
        if m:
            sections.append((m.group(1), []))
            continue
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=>?\s*(.*)", line)
        if not m or not sections:
            raise AssertionError(f"unexpected config line {raw!r}")
        sections[-1][1].append((m.group(1), m.group(2)))
    return sections


def header_hash(text: str) -> str | None:
    m = re.search(r"^; content-sha256: ([0-9a-f]{64})$", text, re.M)
    return m.group(1) if m else None


# --------------------------------------------------------------------------- portal calls

def apply(portal, admin: str | None = "e2e-admin", body=None, timeout: float = 180) -> h.Response:
    """POST /apply as the portal's admin key, with `admin` as the note (the audit names the key, not the note)."""
    if body is None:
        body = {"note": admin} if admin is not None else {}
    return portal.client.post("/apply", body, timeout=timeout)


@contextlib.contextmanager
def apply_holding_the_lock(stuck, observer, note: str):
    """An Apply by STUCK (a portal whose Asterisk host never answers, e.g. a SilentListener) in a thread, with NOTE
    as its note; the block runs once OBSERVER's GET /apply/status shows it running, so it holds the Apply lock.
    Yields a dict whose "r" is that Apply's response once the block has ended."""
    holder: dict = {}
    t = threading.Thread(target=lambda: holder.update(r=apply(stuck, admin=note, timeout=60)))
    t.start()
    try:
        h.wait_until(lambda: (observer.client.get("/apply/status").json.get("last_apply") or {})
                     .get("outcome") == "APPLY_OUTCOME_RUNNING", 5, 0.05, "the stuck Apply to hold the lock")
        yield holder
    finally:
        t.join(60)


def apply_ok(portal, admin: str = "e2e-admin", timeout: float = 180) -> dict:
    r = apply(portal, admin, timeout=timeout)
    assert r.status == 200, f"POST /apply: want 200, got {r!r}\nserver stderr:\n{portal.server.proc.stderr_tail()}"
    audit = r.json["audit"]
    assert audit["outcome"] == "APPLY_OUTCOME_SUCCESS", audit
    # With several Asterisk hosts the audit's verification is one "NAME: ok: ..." line per host; each host's own
    # record says "ok: ...".
    hosts = audit.get("hosts") or [audit]
    assert all(h_.get("verification", "").startswith("ok") for h_ in hosts), audit
    return audit


def error_audit_id(r: h.Response, reason: str = "APPLY_FAILED") -> str:
    """The audit id from the error's one google.rpc.ErrorInfo {reason: REASON, metadata: {audit_id}}."""
    h.assert_error_shape(r)
    infos = [d for d in r.json["details"] if str(d.get("@type", "")).endswith("google.rpc.ErrorInfo")]
    assert len(infos) == 1 and infos[0].get("reason") == reason, \
        f"want one google.rpc.ErrorInfo with reason {reason}, got {r!r}"
    audit_id = (infos[0].get("metadata") or {}).get("audit_id")
    assert audit_id and audit_id.isdigit(), f"ErrorInfo without a numeric audit_id: {r!r}"
    return audit_id


def audit_log(portal, limit: int | None = None) -> list[dict]:
    r = portal.client.get("/apply/audit" + (f"?limit={limit}" if limit is not None else ""))
    assert r.status == 200 and isinstance(r.json, list), f"GET /apply/audit -> {r!r}"
    return r.json


def audit_entry(portal, audit_id) -> dict:
    found = [e for e in audit_log(portal, 1000) if str(e["id"]) == str(audit_id)]
    assert len(found) == 1, f"audit entry {audit_id} not (exactly once) in GET /apply/audit"
    return found[0]


def create_user(portal, name: str, email: str, metadata=None) -> dict:
    """POST /users -> {"user": ..., "sip_credentials": ...}."""
    r = portal.client.create_user(name, email, metadata)
    assert r.status == 201, f"POST /users -> {r!r}"
    return r.json


def create_users(portal, n: int, prefix: str, workers: int = 8) -> list[dict]:
    rs = h.create_many(portal.client, n, prefix, workers=workers)
    bad = [r for r in rs if r.status != 201]
    assert not bad, f"{len(bad)} of {n} creates failed, first: {bad[0]!r}"
    return [r.json for r in rs]


def extensions_of(portal) -> list[int]:
    return sorted(u["extension"] for u in portal.client.list_users())
