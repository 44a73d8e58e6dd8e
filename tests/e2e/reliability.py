"""Shared helpers of the reliability tests (test_reliability_crash.py, _outage.py, _secrets.py; _soak.py and
_fuzz_api.py use the mode and the figures envelope).

Modes
-----
Every reliability test has a short version (the default, part of tests/run; all three modules together take
well under 90 s) and a long version selected with PBX_RELIABILITY_LONG=1 (more iterations, longer load, random
user sets). PBX_RELIABILITY_SEED=<int> fixes the random seed (otherwise one is drawn and recorded).

Figures (build/reliability/<test-name>.json)
--------------------------------------------
Each test writes one JSON object, also when it fails (written by `recording()`), to
build/reliability/<test-name>.json, where <test-name> is the pytest test name (parameters included, unsafe
characters replaced by "_") or the name the test gives `recording()`: test_reliability_soak.py writes soak.json and
test_reliability_fuzz_api.py fuzz_api.json (their figures are described in those modules). Common keys:

  schema        "pbx-reliability/1"
  test          <test-name> (above);  nodeid: full pytest node id;  module: test module name
  mode          "short" | "long"
  seed          random seed used (int) or null
  outcome       "passed" | "failed"
  error         null, or the first 4000 characters of the failure (assertion message / exception)
  started_at    UTC ISO-8601 time the test body started;  duration_s: wall time of the test body (float)
  violations    list of strings: every broken reliability property found (empty when passed)
  figures       object, test specific (below). Durations are seconds (float) unless the key ends in _ms.

test_crash_consistency_at_every_failpoint (test_reliability_crash.py)
  failpoints            the failpoints exercised;  repetitions: rounds per failpoint
  kills_performed       number of servers killed with SIGKILL at a failpoint
  rounds                list, one per kill: {round, failpoint, users_before, users_after (counts), deleted, created,
                        reached_after_s (POST /apply -> "failpoint reached" log line), killed_apply_http_status
                        (what the client of the killed Apply got; null = no answer), files_at_kill
                        {pjsip: "old"|"new"|"old=new"|"neither", dialplan: ...}, expected_files
                        {pjsip, dialplan} (what the failpoint's position implies), temporaries_at_kill (count),
                        live_at_kill ("old"|"new"|"mixed"|"other": the live Asterisk's extension set),
                        interrupted_marked (bool), interrupted_after_s (restart -> audit row seen interrupted),
                        interrupted_audit_id, recovery_apply_s (duration of the next, successful Apply),
                        temporaries_after_recovery (count), live_ok_after_recovery (bool),
                        sha256 {old_pjsip, old_dialplan, new_pjsip, new_dialplan, kill_pjsip, kill_dialplan}}
  per_failpoint         {failpoint: {kills, files_old_or_new (count of kills where both files were old or new),
                        interrupted_marked, recovered}}

test_db_outage_under_load (test_reliability_outage.py)
  clients, outages (number of cluster restarts), outage_hold_s (seconds the cluster stayed down per restart)
  requests_sent, creates_sent, deletes_sent, status_counts {"201": n, "503": n, ...; "timeout", "conn_error"}
  created_201, deleted_200, http_503, other_5xx, client_timeouts
  max_latency_s, p50_latency_s, p99_latency_s, max_latency_503_s, max_latency_outage_s (requests overlapping an
  outage), recovery_s (list: cluster back -> first 201, per restart), server_pid_unchanged (bool),
  users_final, lost_creates (201 but gone, not deleted by its client with 200), resurrected_deletes (200 but
  present), in_doubt_deletes (non-200 delete, user gone), in_doubt_creates (no 201, user present),
  duplicate_extensions_final, overlapping_extension_holders (201 users proven to hold one number at once)

test_asterisk_host_cut_during_applies / test_asterisk_stopped_during_applies (test_reliability_outage.py)
  cuts (proxy cuts / Asterisk stops performed), cut_hold_s, applies_sent, applies_ok, applies_failed,
  status_counts, failed_mid_apply (failures whose Apply was in flight when the host went away),
  failure_details ({"<HTTP status> <audit error_detail, first 160 chars>": count}), all_failures_audited
  (bool), max_apply_latency_s, host_back_to_first_success_s, users_untouched (bool), final_apply_ok (bool),
  temporaries_after (count), lab_restart_s (Asterisk test: `asterisk-lab up` duration),
  misreported_as_auth_failure (cut test: failures whose detail blames the SSH key / host key although only the
  connection was lost; counted only, test_host_lost_during_ssh_auth_is_unavailable asserts it never happens)

test_host_lost_during_ssh_auth_is_unavailable (test_reliability_outage.py)
  attempts [{cut_at_chunk, http_status, grpc_code, audit_outcome, detail}] (one per cut; every one must be a 503
  audited as a failure), misreported (count of attempts answered 500 or blaming the SSH key / host key; must be 0),
  unavailable_503 (count)

test_no_secret_in_any_log (test_reliability_secrets.py)
  sip_passwords_checked, db_secret_checked (bool), files_scanned [{path, bytes}], bytes_scanned,
  responses_checked, error_responses_checked, hits (list of {needle_kind, where}; must be empty),
  positive_control_hits (passwords found in generated_endpoints.conf, proves the search works),
  workload {creates, gets, credential_reads, validation_errors, applies_ok, applies_failed, outage_requests,
  outage_503}

test_generated_passwords_unique_and_uniform (test_reliability_secrets.py)
  passwords, rounds (create 1000 / delete all cycles), unique, pattern_ok, chi_square (62 symbols, df 61),
  chi_square_threshold, chi_square_per_position_max, symbols_seen, create_s, delete_s, log_hits
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import select
import signal
import socket
import struct
import threading
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import harness as h

LONG = os.environ.get("PBX_RELIABILITY_LONG", "") not in ("", "0")
MODE = "long" if LONG else "short"
OUT_DIR = h.REPO_ROOT / "build" / "reliability"

FAILPOINTS = ("apply.before_upload", "apply.during_upload", "apply.before_renames", "apply.before_reload",
              "apply.between_reloads", "apply.before_audit_close")

TEMP_RE = re.compile(r"^\.generated_(endpoints|routing)\.conf\.tmp-")


def seed() -> int:
    s = os.environ.get("PBX_RELIABILITY_SEED")
    return int(s) if s else random.SystemRandom().randrange(1, 2**31)


# --------------------------------------------------------------------------- figures

class Record:
    """What one test writes to build/reliability/<test-name>.json (NAME, when given, instead of the test name)."""

    def __init__(self, request, seed_value: int | None = None, name: str | None = None):
        self.test = name or request.node.name
        self.nodeid = request.node.nodeid
        self.module = request.module.__name__
        self.seed = seed_value
        self.figures: dict = {}
        self.violations: list[str] = []
        self.started = time.monotonic()
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def __setitem__(self, k, v):
        self.figures[k] = v

    def __getitem__(self, k):
        return self.figures[k]

    def violation(self, msg: str):
        self.violations.append(msg)

    def path(self) -> Path:
        return OUT_DIR / (h.safe_name(self.test) + ".json")

    def write(self, outcome: str, error: str | None):
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        doc = {"schema": "pbx-reliability/1", "test": self.test, "nodeid": self.nodeid, "module": self.module,
               "mode": MODE, "seed": self.seed, "outcome": outcome, "error": error,
               "started_at": self.started_at, "duration_s": round(time.monotonic() - self.started, 3),
               "violations": self.violations, "figures": self.figures}
        tmp = self.path().with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")
        tmp.replace(self.path())

    def assert_no_violations(self):
        assert not self.violations, f"{len(self.violations)} violation(s):\n" + "\n".join(self.violations[:40])


@contextlib.contextmanager
def recording(request, seed_value: int | None = None, name: str | None = None):
    """with recording(request) as rec: ... -> the JSON is written whatever happens in the block (to NAME.json when
    NAME is given)."""
    rec = Record(request, seed_value, name)
    try:
        yield rec
    except BaseException as e:  # noqa: BLE001 - record, then re-raise
        msg = "".join(traceback.format_exception_only(type(e), e))[:4000]
        rec.write("failed", msg)
        raise
    if rec.violations:
        rec.write("failed", "violations: " + "; ".join(rec.violations)[:4000])
    else:
        rec.write("passed", None)


# --------------------------------------------------------------------------- processes

def retire(ps: h.ProcessSet, portal: h.Portal) -> dict:
    """Stop one portal of a ProcessSet now (gateway, then server) and forget it; returns {role: exit code}."""
    codes = portal.stop()
    with ps._lock:  # noqa: SLF001 - the fixture's own bookkeeping
        if portal in ps.portals:
            ps.portals.remove(portal)
    return codes


def kill9_server(portal: h.Portal) -> int:
    """SIGKILL the portal's server process and reap it; returns its exit code (-9)."""
    os.kill(portal.server.proc.pid, signal.SIGKILL)
    return portal.server.proc.popen.wait(timeout=10)


def log_lines(path: Path) -> list[dict]:
    out = []
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def wait_failpoint(portal: h.Portal, name: str, timeout: float = 30.0) -> float:
    """Wait until the server logged {"msg":"failpoint reached","failpoint":NAME}; returns the seconds waited."""
    t0 = time.monotonic()

    def reached():
        if not portal.server.proc.alive():
            raise AssertionError(f"server exited with {portal.server.proc.popen.returncode} before failpoint {name}")
        return any(e.get("msg") == "failpoint reached" and e.get("failpoint") == name
                   for e in log_lines(portal.server.proc.stderr_path))
    h.wait_until(reached, timeout, 0.02, f"failpoint {name} to be reached")
    return time.monotonic() - t0


# --------------------------------------------------------------------------- a TCP proxy that can cut the host off

class CuttableProxy:
    """127.0.0.1:port -> target, forwarding bytes both ways. cut() closes the listener and every connection (the
    host is gone: established sessions break, new connects are refused); restore() listens on the same port again.
    While `dropping_answers` is set, what the client sends still goes through but what comes back is swallowed, and
    `answer_seen` is set at its first byte: a request that was carried out, whose answer is lost (cut() then breaks
    the client's connection without one)."""

    def __init__(self, target_host: str, target_port: int):
        self.dropping_answers = False
        self.answer_seen = threading.Event()
        self.target = (target_host, target_port)
        self.port = h.free_port()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.connections_total = 0
        self.restore()

    def restore(self):
        with self._lock:
            if self._listener is not None:
                return
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            deadline = time.monotonic() + 10
            while True:
                try:
                    s.bind(("127.0.0.1", self.port))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            s.listen(64)
            self._listener = s
            self._acceptor = threading.Thread(target=self._accept_loop, args=(s,), daemon=True)
            self._acceptor.start()

    def cut(self):
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for c in conns:
            with contextlib.suppress(OSError):
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()

    def close(self):
        self.cut()

    def _accept_loop(self, listener: socket.socket):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
                self.connections_total += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket):  # a: the client's connection, b: upstream
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is b and self.dropping_answers:
                        self.answer_seen.set()
                        continue
                    peers[s].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()
            with self._lock:
                self._conns = [c for c in self._conns if c not in (a, b)]


class _ForwardingProxy:
    """127.0.0.1:port -> target: every connection gets a fresh upstream connection, and the bytes flow both ways until
    either side closes. What the client sends passes through self._client_chunk(connection_state, data), which
    answers FORWARD, CLOSE (drop both connections, the chunk is not forwarded) or HOLD (forward nothing more, but
    keep both sockets open)."""

    FORWARD, CLOSE, HOLD = "forward", "close", "hold"

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = h.free_port()
        self._lock = threading.Lock()
        self._held: list[socket.socket] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(16)
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _new_connection(self) -> dict:
        return {}

    def _client_chunk(self, state: dict, data: bytes) -> str:
        return self.FORWARD

    def _accept_loop(self):
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, self._new_connection()), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket, state: dict):
        holding = False
        try:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 60)
                if not readable:
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is upstream:
                        client.sendall(data)
                        continue
                    verdict = self._client_chunk(state, data)
                    if verdict == self.CLOSE:
                        return
                    if verdict == self.HOLD:
                        holding = True
                        with self._lock:
                            self._held += [client, upstream]
                        return
                    upstream.sendall(data)
        except OSError:
            return
        finally:
            if not holding:
                for s in (client, upstream):
                    with contextlib.suppress(OSError):
                        s.close()

    def close(self):
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with self._lock:
            held, self._held = self._held, []
        for s in held:
            with contextlib.suppress(OSError):
                s.close()


class CutAtChunkProxy(_ForwardingProxy):
    """Each connection is closed when the client sends its `cut_at`-th chunk (that chunk is not forwarded): with
    cut_at = 1, 2, ... the host goes away at successive steps of an SSH session (key exchange, user authentication,
    channel open, ...). cut_at = 0 forwards everything."""

    def __init__(self, target_host: str, target_port: int):
        self.cut_at = 0
        super().__init__(target_host, target_port)

    def _new_connection(self) -> dict:
        return {"cut_at": self.cut_at, "chunks": 0}

    def _client_chunk(self, state: dict, data: bytes) -> str:
        state["chunks"] += 1
        return self.CLOSE if state["chunks"] == state["cut_at"] else self.FORWARD


class StallingProxy(_ForwardingProxy):
    """Once a connection's client has sent more than `stall_after` bytes, the proxy forwards nothing more in either
    direction but keeps both sockets open: the host looks alive (TCP stays up, nothing is refused) and never answers
    again, like a disk stuck in fsync or a paused VM. stall_after = None forwards everything. `stalled` counts the
    connections stalled so far."""

    def __init__(self, target_host: str, target_port: int, stall_after: int | None = None):
        self.stall_after = stall_after
        self.stalled = 0
        super().__init__(target_host, target_port)

    def _new_connection(self) -> dict:
        return {"stall_after": self.stall_after, "sent": 0}

    def _client_chunk(self, state: dict, data: bytes) -> str:
        state["sent"] += len(data)
        if state["stall_after"] is None or state["sent"] <= state["stall_after"]:
            return self.FORWARD
        with self._lock:
            self.stalled += 1
        return self.HOLD


def known_hosts_for_port(known_hosts: str, old_port: int, new_port: int, dest: Path) -> Path:
    """A copy of the lab's known_hosts that names the proxy's port instead of the lab's."""
    text = Path(known_hosts).read_text()
    dest.write_text(text.replace(f"]:{old_port} ", f"]:{new_port} "))
    return dest


# --------------------------------------------------------------------------- misc

def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]

