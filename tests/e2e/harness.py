"""Process, database and HTTP helpers for the end-to-end suite (stdlib only).

Everything here talks to loopback addresses only.
"""

from __future__ import annotations

import atexit
import base64
import functools
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# tests/run exports these; the defaults are the contract's paths.
SERVER_BIN = Path(os.environ.get("PBX_SERVER_BIN") or REPO_ROOT / "build" / "cmake" / "server" / "pbx-server")
GATEWAY_BIN = Path(os.environ.get("PBX_GATEWAY_BIN") or REPO_ROOT / "build" / "bin" / "pbx-gateway")
GRPCURL_BIN = Path(os.environ.get("PBX_GRPCURL") or REPO_ROOT / "build" / "tools" / "bin" / "grpcurl")
PG_SCRIPT = REPO_ROOT / "deploy" / "lib" / "pg"
LOG_DIR = REPO_ROOT / "build" / "test-logs"

POOL_FIRST = 1000
POOL_LAST = 1999
PASSWORD_RE = re.compile(r"^[A-Za-z0-9]{22,}$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# gRPC status codes used by the contract.
INVALID_ARGUMENT = 3
NOT_FOUND = 5
ALREADY_EXISTS = 6
RESOURCE_EXHAUSTED = 8
ABORTED = 10
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14


# --------------------------------------------------------------------------- utils

_handed_out: set[int] = set()
_port_lock = threading.Lock()


def free_port() -> int:
    """A currently free loopback port, never the same one twice in this test session."""
    with _port_lock:
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("no fresh free port")


def wait_until(pred, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll pred() until it returns a truthy value; return it or raise AssertionError."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - keep polling, report the last failure
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                                 + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


@functools.cache
def pg_bindir() -> Path | None:
    """PostgreSQL's server binaries, chosen by the scripts' one rule (`deploy/lib/pg bindir`); None when absent."""
    r = subprocess.run([str(PG_SCRIPT), "bindir"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or not r.stdout.strip():
        return None
    return Path(r.stdout.strip())


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    bd = pg_bindir()
    if bd and (bd / name).exists():
        return str(bd / name)
    raise RuntimeError(f"PostgreSQL tool {name!r} not found on PATH or in /usr/lib/postgresql/*/bin")


_safe_re = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(s: str) -> str:
    return _safe_re.sub("_", s)[:120]


# --------------------------------------------------------------------------- PostgreSQL

class PgCluster:
    """A running PostgreSQL cluster reachable over TCP with trust auth."""

    def __init__(self, host: str, port: int, user: str):
        self.host = host
        self.port = int(port)
        self.user = user
        self._n = 0
        self._lock = threading.Lock()

    def url(self, db: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{db}"

    def _env(self):
        env = dict(os.environ)
        env["PGCONNECT_TIMEOUT"] = "5"
        env.pop("PGPASSWORD", None)
        return env

    def psql(self, db: str, sql: str, timeout: float = 30) -> str:
        r = subprocess.run(
            [pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", self.host, "-p", str(self.port),
             "-U", self.user, "-d", db, "-c", sql],
            capture_output=True, text=True, timeout=timeout, env=self._env())
        if r.returncode != 0:
            raise RuntimeError(f"psql failed ({r.returncode}) on {db}: {sql!r}\n{r.stderr}")
        return r.stdout

    def is_ready(self) -> bool:
        try:
            self.psql("postgres", "SELECT 1", timeout=10)
            return True
        except Exception:  # noqa: BLE001
            return False

    def create_db(self, hint: str = "t") -> str:
        with self._lock:
            self._n += 1
            n = self._n
        name = f"pbx_e2e_{os.getpid()}_{n}_{safe_name(hint).lower()}"[:63]
        name = re.sub(r"[^a-z0-9_]", "_", name)
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return name

    def drop_db(self, name: str):
        try:
            self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass


def _as_postgres(cmd):
    """Run a server-side PostgreSQL command as the postgres OS user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


class LocalCluster(PgCluster):
    """A throw-away cluster used when tests/run did not provide one (local runs),
    and as a fallback for the outage test when deploy/lib/pg is missing."""

    def __init__(self, port: int | None = None):
        super().__init__("127.0.0.1", port or free_port(), "postgres")
        self.parent = Path(tempfile.mkdtemp(prefix="pbx-e2e-pg-"))
        os.chmod(self.parent, 0o755)
        self.datadir = self.parent / "data"
        self.logfile = self.parent / "postgres.log"

    def _chown(self, p: Path):
        if os.geteuid() == 0:
            shutil.chown(p, "postgres", "postgres")

    def start(self):
        bd = pg_bindir()
        if bd is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        if not (self.datadir / "PG_VERSION").exists():
            self.datadir.mkdir(mode=0o700, exist_ok=True)
            self._chown(self.datadir)
            r = subprocess.run(_as_postgres([str(bd / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                                             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                               capture_output=True, text=True, cwd="/")
            if r.returncode != 0:
                raise RuntimeError(f"initdb failed: {r.stdout}\n{r.stderr}")
        if not self.logfile.exists():
            self.logfile.touch()
            self._chown(self.logfile)
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.datadir} "
                f"-c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        r = subprocess.run(_as_postgres([str(bd / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile),
                                         "-o", opts, "-w", "-t", "30", "start"]),
                           capture_output=True, text=True, cwd="/")
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stdout}\n{r.stderr}\n{self.logfile.read_text()[-2000:]}")
        wait_until(self.is_ready, 20, 0.2, "postgres to accept connections")

    def stop(self):
        bd = pg_bindir()
        subprocess.run(_as_postgres([str(bd / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30",
                                     "stop"]), capture_output=True, text=True, cwd="/")

    def destroy(self):
        self.stop()
        shutil.rmtree(self.parent, ignore_errors=True)


class ScriptCluster(PgCluster):
    """A cluster driven by deploy/lib/pg (`pg start DATADIR PORT` / `pg stop DATADIR`)."""

    def __init__(self, port: int | None = None):
        super().__init__("127.0.0.1", port or free_port(), "postgres")
        self.parent = Path(tempfile.mkdtemp(prefix="pbx-e2e-pgs-"))
        os.chmod(self.parent, 0o755)
        self.datadir = self.parent / "data"

    def start(self):
        r = subprocess.run([str(PG_SCRIPT), "start", str(self.datadir), str(self.port)],
                           capture_output=True, text=True, timeout=120, cwd=str(REPO_ROOT))
        if r.returncode != 0:
            raise RuntimeError(f"deploy/lib/pg start failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        wait_until(self.is_ready, 20, 0.2, "postgres (deploy/lib/pg) to accept connections")

    def stop(self):
        r = subprocess.run([str(PG_SCRIPT), "stop", str(self.datadir)],
                           capture_output=True, text=True, timeout=120, cwd=str(REPO_ROOT))
        if r.returncode != 0:
            raise RuntimeError(f"deploy/lib/pg stop failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")

    def destroy(self):
        try:
            self.stop()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.parent, ignore_errors=True)


# --------------------------------------------------------------------------- HTTP

class Response:
    def __init__(self, status: int, body: bytes, headers):
        self.status = status
        self.raw = body
        self.headers = headers
        self.text = body.decode("utf-8", errors="replace")
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __iter__(self):  # allows: status, body, headers = client.call(...)
        return iter((self.status, self.json, self.headers))

    def __repr__(self):
        return f"<Response {self.status} {self.text[:500]!r}>"


class Client:
    """Tiny JSON client. One connection per request, so it is safe to share across threads.
    With a token, every request carries `Authorization: Bearer <token>` (a call's own headers may override or,
    with {"Authorization": None}, drop it)."""

    def __init__(self, base_url: str, timeout: float = 10.0, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        u = urllib.parse.urlsplit(self.base_url)
        self.host, self.port = u.hostname, u.port
        self.token = token

    def with_token(self, token: str | None) -> "Client":
        """The same gateway, called with another API token (None: none)."""
        return Client(self.base_url, token=token)

    def call(self, method: str, path: str, body=None, *, raw: bytes | None = None,
             headers: dict | None = None, timeout: float = 10.0) -> Response:
        hdrs = {"Accept": "application/json"}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        data = None
        if raw is not None:
            data = raw
            hdrs["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            payload = r.read()
            return Response(r.status, payload, r.headers)
        finally:
            conn.close()

    # conveniences
    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def create_user(self, name: str, email: str, metadata=None, **kw) -> Response:
        body = {"name": name, "email": email}
        if metadata is not None:
            body["metadata"] = metadata
        return self.post("/users", body, **kw)

    def list_users(self) -> list:
        r = self.get("/users")
        assert r.status == 200, f"GET /users -> {r!r}"
        assert isinstance(r.json, list), f"GET /users is not a JSON array: {r!r}"
        return r.json

    def count_users(self) -> int:
        return len(self.list_users())


# --------------------------------------------------------------------------- keys and tokens

# Everything the suite's servers need to hold secrets: one sealing key for the whole session, and one admin token per
# database (every server on a database shares it: the first to find no admin key creates it with this token, see
# PBX_BOOTSTRAP_ADMIN_TOKEN_FILE). Files, never command lines or environments of their own: the secrets grep of the
# logs looks for these values.
SECRETS_DIR = Path(tempfile.mkdtemp(prefix="pbx-e2e-secrets-"))
os.chmod(SECRETS_DIR, 0o700)
atexit.register(shutil.rmtree, SECRETS_DIR, True)
SECRET_KEY_FILE = SECRETS_DIR / "secret.key"
SECRET_KEY_FILE.write_bytes(os.urandom(32))
_tokens: dict[str, Path] = {}
_tokens_lock = threading.Lock()


def new_api_token() -> str:
    """A token of the portal's form (pbx_ + 43 characters of base64url): what an admin key's bootstrap accepts."""
    return "pbx_" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def admin_token_file(db_url: str) -> Path:
    """The file holding the admin token of `db_url`'s database (made on first use)."""
    with _tokens_lock:
        path = _tokens.get(db_url)
        if path is None:
            path = SECRETS_DIR / f"admin-{len(_tokens)}.token"
            path.write_text(new_api_token() + "\n")
            path.chmod(0o600)
            _tokens[db_url] = path
        return path


def admin_token(db_url: str) -> str:
    return admin_token_file(db_url).read_text().strip()


# --------------------------------------------------------------------------- processes

def clean_env(extra: dict) -> dict:
    """This process's environment without PBX_* and libpq's PG* variables, plus `extra`: what every program the
    suite starts gets, so nothing of the caller's shell configures it by accident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PBX_") and not k.startswith("PG")}
    env.update(extra)
    return env


class Proc:
    def __init__(self, role: str, argv, env, log_prefix: str):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.role = role
        self.stderr_path = LOG_DIR / f"{log_prefix}.{role}.stderr.log"
        self.stdout_path = LOG_DIR / f"{log_prefix}.{role}.stdout.log"
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.popen = subprocess.Popen(argv, env=env, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
                                      cwd=str(REPO_ROOT), start_new_session=True)
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stderr_tail(self, n: int = 3000) -> str:
        try:
            self._err.flush()
            return self.stderr_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self, timeout: float = 8.0):
        """SIGTERM and wait; returns the exit code (or None when it had to be killed)."""
        rc = self.popen.poll()
        if rc is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                rc = self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
                rc = None
        self._err.close()
        self._out.close()
        return rc


class Server:
    def __init__(self, db_url: str, log_prefix: str, extra_env: dict | None = None):
        self.grpc_port = free_port()
        self.grpc_addr = f"127.0.0.1:{self.grpc_port}"
        # Every server gets its own /metrics port: the default (9464) would clash between portals.
        self.metrics_addr = f"127.0.0.1:{free_port()}"
        env = clean_env({
            "PBX_GRPC_LISTEN": self.grpc_addr,
            "PBX_METRICS_LISTEN": self.metrics_addr,
            "PBX_DATABASE_URL": db_url,
            "PBX_DB_POOL_SIZE": "8",
            "PBX_DB_CONNECT_TIMEOUT_S": "2",
            "PBX_DB_STATEMENT_TIMEOUT_MS": "5000",
            "PBX_SECRET_KEY_FILE": str(SECRET_KEY_FILE),
            "PBX_BOOTSTRAP_ADMIN_TOKEN_FILE": str(admin_token_file(db_url)),
            # A server alone behind its gateway has no replica to drain to on SIGTERM: stopping it at once saves
            # the suite a second per server. replicas.py gives its servers the product's default.
            "PBX_SHUTDOWN_DRAIN_MS": "0",
        })
        # A value of None removes the variable (the server's default applies).
        for k, v in (extra_env or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        self.proc = Proc("server", [str(SERVER_BIN)], env, log_prefix)


class Gateway:
    def __init__(self, grpc_addr: str, log_prefix: str, extra_env: dict | None = None):
        self.http_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        env = clean_env({
            "PBX_HTTP_LISTEN": f"127.0.0.1:{self.http_port}",
            "PBX_GRPC_TARGET": grpc_addr,
        })
        env.update(extra_env or {})
        self.proc = Proc("gateway", [str(GATEWAY_BIN)], env, log_prefix)


class Portal:
    """A pbx-server plus its pbx-gateway."""

    def __init__(self, db_url: str, log_prefix: str, server_env=None, gateway_env=None):
        self.db_url = db_url
        self.server = Server(db_url, log_prefix, server_env)
        self.gateway = Gateway(self.server.grpc_addr, log_prefix, gateway_env)
        self.grpc_addr = self.server.grpc_addr
        self.base_url = self.gateway.base_url
        self.server_metrics_url = f"http://{self.server.metrics_addr}/metrics"
        self.gateway_metrics_url = f"{self.base_url}/metrics"
        # The admin key every server on this database bootstraps; tests that need another role make keys.
        self.admin_token = admin_token(db_url)
        self.client = Client(self.base_url, token=self.admin_token)

    # shorthand: portal.call(...) / portal.create_user(...)
    def __getattr__(self, item):
        if item == "client":
            raise AttributeError(item)
        return getattr(self.client, item)

    def healthz_status(self, timeout: float = 3.0) -> int | None:
        try:
            return self.client.get("/healthz", timeout=timeout).status
        except OSError:
            return None

    def wait_healthy(self, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in (self.server.proc, self.gateway.proc):
                if not p.alive():
                    raise AssertionError(f"{p.role} exited early with {p.popen.returncode}; stderr tail:\n"
                                         f"{p.stderr_tail()}")
            if self.healthz_status() == 200:
                # A healthy portal must also serve. Wait a little for that too (a lag here is a server defect,
                # caught by test_api_surface.py::test_healthy_means_serving) so other tests stay meaningful.
                try:
                    wait_until(lambda: self.client.get("/users", timeout=5).status == 200, 10, 0.05,
                               "GET /users == 200 after /healthz == 200")
                except AssertionError as e:
                    raise AssertionError(f"{e}; server stderr:\n{self.server.proc.stderr_tail()}")
                return self
            time.sleep(0.1)
        raise AssertionError(f"portal not healthy within {timeout}s (GET {self.base_url}/healthz);\n"
                             f"server stderr:\n{self.server.proc.stderr_tail()}\n"
                             f"gateway stderr:\n{self.gateway.proc.stderr_tail()}")

    def stop(self) -> dict:
        """Gateway first, then server; returns {role: exit code}."""
        return {"gateway": self.gateway.proc.stop(), "server": self.server.proc.stop()}


class ProcessSet:
    """Owns every portal a fixture started; stop_all() SIGTERMs them and checks exit code 0."""

    def __init__(self, prefix: str):
        self.prefix = safe_name(prefix)
        self.portals: list[Portal] = []
        self._n = 0
        self._lock = threading.Lock()

    def start(self, db_url: str, wait: bool = True, **kw) -> Portal:
        with self._lock:
            self._n += 1
            n = self._n
        p = Portal(db_url, f"{self.prefix}.{n}", **kw)
        with self._lock:
            self.portals.append(p)
        if wait:
            p.wait_healthy()
        return p

    def stop_all(self) -> list[str]:
        problems = []
        for i, p in enumerate(self.portals, 1):
            codes = p.stop()
            for role, rc in codes.items():
                if rc != 0:
                    problems.append(f"portal #{i} {role} exit code {rc!r} after SIGTERM (want 0); "
                                    f"log: {getattr(p, role).proc.stderr_path}")
        self.portals.clear()
        return problems


def require_binaries(*paths: Path):
    missing = [str(p) for p in paths if not os.access(p, os.X_OK)]
    if missing:
        raise AssertionError("missing binaries (build first): " + ", ".join(missing))


# --------------------------------------------------------------------------- assertions

def violated_fields(body) -> set:
    """Field names of every google.rpc.BadRequest field violation in an error body (either JSON casing)."""
    fields = set()
    for d in (body or {}).get("details") or []:
        if not isinstance(d, dict):
            continue
        if not str(d.get("@type", "")).endswith("google.rpc.BadRequest"):
            continue
        for v in (d.get("fieldViolations") or d.get("field_violations") or []):
            fields.add(v.get("field"))
    return fields


def assert_error_shape(r: Response):
    assert isinstance(r.json, dict), f"error body is not a JSON object: {r!r}"
    b = r.json
    assert isinstance(b.get("code"), int) and not isinstance(b.get("code"), bool), f"code not an int: {r!r}"
    assert isinstance(b.get("message"), str), f"message not a string: {r!r}"
    assert isinstance(b.get("details"), list), f"details not a list: {r!r}"


def assert_error(r: Response, http_status: int, grpc_code: int | None = None, fields=None):
    assert r.status == http_status, f"want HTTP {http_status}, got {r!r}"
    assert_error_shape(r)
    if grpc_code is not None:
        assert r.json["code"] == grpc_code, f"want gRPC code {grpc_code}, got {r!r}"
    if fields is not None:
        got = violated_fields(r.json)
        # "metadata.k" (a path inside the field) counts as a violation of "metadata".
        covered = {f for f in fields if any(g == f or str(g).startswith((f + ".", f + "[")) for g in got)}
        assert covered == set(fields), f"want BadRequest field violations {sorted(fields)}, got {sorted(got)}: {r!r}"


def assert_user_shape(u: dict):
    for k in ("id", "tenant_id", "name", "email", "metadata", "extension", "created_at", "extension_allocated_at"):
        assert k in u, f"user lacks {k!r}: {u!r}"
    assert UUID_RE.match(u["id"]), u
    assert isinstance(u["extension"], int) and POOL_FIRST <= u["extension"] <= POOL_LAST, u
    assert isinstance(u["metadata"], dict), u
    assert isinstance(u["created_at"], str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", u["created_at"]), u
    assert not any("password" in k.lower() for k in u), f"user carries a password: {u!r}"


def create_many(client: Client, n: int, prefix: str, workers: int = 8, start: int = 0, clients=None):
    """Create n users concurrently; returns the list of Responses in submission order.
    With `clients`, request i goes to clients[i % len(clients)]."""
    from concurrent.futures import ThreadPoolExecutor

    targets = clients or [client]

    def one(i):
        c = targets[i % len(targets)]
        return c.create_user(f"{prefix} User {i}", f"{prefix.lower()}.{i}@example.com", timeout=30)

    with ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(one, range(start, start + n)))


# --------------------------------------------------------------------------- API keys, error details, gRPC calls
# (used by test_user_update.py, test_sip_rotation.py, test_idempotent_create.py, test_batch_create.py,
# test_audit_events.py)

PERMISSION_DENIED = 7
SIP_PASSWORD_RE = re.compile(r"^[A-Za-z0-9]{24}$")


def create_api_key(admin: Client, name: str, role: str) -> tuple[Client, dict]:
    """A new API key of ROLE made by the admin client: (a client calling with its token, the ApiKey object)."""
    r = admin.post("/api-keys", {"name": name, "role": role})
    assert r.status == 201, f"POST /api-keys ({name}, {role}) -> {r!r}"
    return admin.with_token(r.json["token"]), r.json["api_key"]


def unique_email(prefix: str) -> str:
    """An e-mail address no other test uses (for tests sharing one database)."""
    return f"{safe_name(prefix).lower()}.{os.urandom(4).hex()}@example.com"


def error_infos(body) -> list[dict]:
    """Every google.rpc.ErrorInfo detail of an error body."""
    return [d for d in (body or {}).get("details") or []
            if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.ErrorInfo")]


def field_violations(body) -> list[dict]:
    """Every google.rpc.BadRequest field violation ({field, description}) of an error body."""
    out = []
    for d in (body or {}).get("details") or []:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.BadRequest"):
            out += d.get("fieldViolations") or d.get("field_violations") or []
    return out


def grpc_call(grpc_addr: str, method: str, payload, token: str | None, headers: dict | None = None,
              timeout: float = 30) -> tuple[int, dict]:
    """One unary call with grpcurl (reflection, plaintext): (gRPC status code, the JSON response or, on an error,
    the status {code, message, details} grpcurl prints with -format-error)."""
    argv = [str(GRPCURL_BIN), "-plaintext", "-max-time", "20", "-format-error"]
    if token:
        argv += ["-H", f"authorization: Bearer {token}"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv += ["-d", json.dumps(payload), grpc_addr, method]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    # The answer on stdout; an error status (-format-error) on stderr.
    text = r.stdout if r.returncode == 0 else r.stderr
    try:
        out = json.loads(text) if text.strip() else {}
    except ValueError:
        raise AssertionError(f"grpcurl {method}: not JSON (exit {r.returncode}): {r.stdout!r} {r.stderr!r}")
    if r.returncode == 0:
        return 0, out
    if not isinstance(out, dict) or not isinstance(out.get("code"), int):
        raise AssertionError(f"grpcurl {method}: exit {r.returncode} without a status: {r.stdout!r} {r.stderr!r}")
    return out["code"], out
