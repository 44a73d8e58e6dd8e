"""Access to the tests' Asterisk lab (deploy/lib/asterisk-lab) for the Apply end-to-end tests.

tests/run starts the lab and exports `asterisk-lab ssh-config` (PBX_ASTERISK_SSH_HOST/_PORT/_USER/_KEY/_KNOWN_HOSTS,
PBX_ASTERISK_PROGRAM, PBX_ASTERISK_FILE_GROUP, PBX_ASTERISK_ROOT) plus PBX_TEST_SIP_PORT. The portal logs in as the
lab's unprivileged account (pbxportal, group asterisk), as in production. Everything here talks to loopback only:
  - the live Asterisk through `chroot ROOT asterisk -rx ...` (the daemon's control socket),
  - the generated files directly under ROOT/etc/asterisk/...,
  - SIP through sipp (Debian sip-tester) at 127.0.0.1:PBX_TEST_SIP_PORT with the scenarios in tests/lab/.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
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

_ROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
             "LANG": "C.UTF-8"}


def missing_env() -> list[str]:
    return [k for k in REQUIRED_ENV if not os.environ.get(k)]


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


class Lab:
    def __init__(self):
        env = os.environ
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

    # ------------------------------------------------------------------ portal configuration

    def server_env(self, **overrides) -> dict:
        """The server's environment for the SSH transport to this lab (the harness strips inherited PBX_*)."""
        env = {
            "PBX_ASTERISK_TRANSPORT": "ssh",
            "PBX_ASTERISK_SSH_HOST": self.ssh_host,
            "PBX_ASTERISK_SSH_PORT": str(self.ssh_port),
            "PBX_ASTERISK_SSH_USER": self.ssh_user,
            "PBX_ASTERISK_SSH_KEY": self.ssh_key,
            "PBX_ASTERISK_SSH_KNOWN_HOSTS": self.known_hosts,
            "PBX_ASTERISK_PROGRAM": self.asterisk_program,
            "PBX_ASTERISK_FILE_GROUP": self.file_group,
            "PBX_ASTERISK_CONNECT_TIMEOUT_S": "5",
            "PBX_ASTERISK_COMMAND_TIMEOUT_S": "30",
            "PBX_APPLY_LOCK_TIMEOUT_S": "60",
        }
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
        from the host; always unmounted again."""
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


def apply_ok(portal, admin: str = "e2e-admin", timeout: float = 180) -> dict:
    r = apply(portal, admin, timeout=timeout)
    assert r.status == 200, f"POST /apply: want 200, got {r!r}\nserver stderr:\n{portal.server.proc.stderr_tail()}"
    audit = r.json["audit"]
    assert audit["outcome"] == "APPLY_OUTCOME_SUCCESS", audit
    assert audit.get("verification", "").startswith("ok"), audit
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
