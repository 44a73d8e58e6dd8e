"""deploy/up as a newcomer runs it, on the suite's PostgreSQL and Asterisk lab and on free ports, with a state
directory of its own: the first admin key's token in the state directory, curl with it 200 and without it 401,
grpcurl with the CA and the token (plaintext refused), a gateway whose environment holds none of the server's
secrets, an idempotent second run, and deploy/down stopping what it started."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import harness as h
from test_deploy_units import deploy_up_list
from test_grpc import grpcurl

DEPLOY = h.REPO_ROOT / "deploy"


def run(script: str, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    r = subprocess.run([str(DEPLOY / script)], env=env, capture_output=True, text=True, timeout=timeout,
                       cwd=str(h.REPO_ROOT))
    assert r.returncode == 0, f"deploy/{script} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
    return r


def environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_deploy_up_down(new_db, lab, tmp_path):
    state = tmp_path / "state"
    http, grpc, metrics = h.free_port(), h.free_port(), h.free_port()
    env = h.clean_env({k: v for k, v in lab.server_env().items() if k.startswith("PBX_ASTERISK_")})
    env.update({"PBX_STATE_DIR": str(state), "PBX_DATABASE_URL": new_db(),
                "PBX_HTTP_LISTEN": f"127.0.0.1:{http}", "PBX_GRPC_LISTEN": f"127.0.0.1:{grpc}",
                "PBX_METRICS_LISTEN": f"127.0.0.1:{metrics}"})
    up = run("up", env)
    try:
        token_file = state / "admin-token"
        assert token_file.stat().st_mode & 0o777 == 0o600, oct(token_file.stat().st_mode)
        assert (state / "secret.key").stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        assert re.fullmatch(r"pbx_[A-Za-z0-9_-]{43}", token), "no admin token in the state directory"
        assert "Authorization: Bearer" in up.stdout and "-cacert" in up.stdout, up.stdout

        client = h.Client(f"http://127.0.0.1:{http}", token=token)
        assert client.get("/users").status == 200
        anonymous = client.with_token(None).get("/users")
        assert anonymous.status == 401 and anonymous.headers.get("WWW-Authenticate", "").startswith("Bearer"), \
            anonymous
        ca = str(state / "tls" / "ca.crt")
        listed = grpcurl("-cacert", ca, f"127.0.0.1:{grpc}", "list", token=token)
        assert listed.returncode == 0 and "pbx.v1.ApiKeyService" in listed.stdout, listed.stderr
        assert grpcurl("-plaintext", f"127.0.0.1:{grpc}", "list", token=token).returncode != 0, \
            "the server answered plaintext"

        # Each process holds nothing but the variables deploy/up lists for it (the server also PATH).
        gateway_env = environment_of(int((state / "gateway.pid").read_text()))
        server_env = environment_of(int((state / "server.pid").read_text()))
        assert set(gateway_env) <= set(deploy_up_list("GATEWAY_VARS")), sorted(gateway_env)
        assert set(server_env) <= set(deploy_up_list("SERVER_VARS")) | {"PATH"}, sorted(server_env)
        leaked = sorted(k for k in gateway_env if k in ("PBX_DATABASE_URL", "PBX_SECRET_KEY_FILE",
                                                         "PBX_ASTERISK_SSH_KEY", "PBX_SECRET_PREVIOUS_KEY_FILE"))
        assert not leaked, f"the gateway's environment holds {leaked}"
        assert not any(env["PBX_DATABASE_URL"] in v for v in gateway_env.values())

        again = run("up", env)
        assert "server already running" in again.stderr and "gateway already running" in again.stderr, \
            again.stderr[-2000:]
        assert token_file.read_text().strip() == token, "a second deploy/up replaced the admin token"
        assert client.get("/users").status == 200
    finally:
        run("down", env, timeout=120)
    try:
        client.get("/healthz", timeout=2)
        raise AssertionError("the gateway still answers after deploy/down")
    except OSError:
        pass
    for name in ("server", "gateway"):
        assert not (state / f"{name}.pid").exists(), f"deploy/down left {name}.pid"
