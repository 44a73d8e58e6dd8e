"""The deployment pieces: deploy/systemd/ (README.md, "Production deployment"), deploy/up's environments and
certificates, and the lab's account for the portal.

- Both units pass `systemd-analyze verify` with no message at all (verify exits 0 on an unknown directive or an
  unparsable value and only prints "..., ignoring", so any output fails), and the test proves it would catch such
  a unit. ExecStart is pointed at the built binaries in a temporary copy, because verify checks that it exists.
- The units carry the agreed policy (a user and an environment file of their own, restart, stop timeouts above the
  programs' grace periods, dependency of the gateway on the server, hardening) and
  `systemd-analyze security --offline` rates them low.
- pbx-server.env.example names exactly the PBX_* variables server/app/config.cc reads, pbx-gateway.env.example
  exactly those gateway/cmd/pbx-gateway/ reads (so the gateway's holds no database URL, SSH key or secret key),
  each with a comment, and neither holds an IP address other than 127.0.0.1 or a real-looking secret.
- deploy/up starts each program with exactly the variables it reads (its SERVER_VARS and GATEWAY_VARS).
- deploy/lib/tls-certs makes the private CA and the gRPC link's certificates deploy/up uses, and keeps them.
- The lab's SSH account is the production one of README.md, "3. The Asterisk host": unprivileged, in group asterisk,
  writing only the two include directories, running the CLI through the group's control socket.
- MemoryDenyWriteExecute=yes is safe: no binary or library has an executable stack, and the real server and
  gateway serve (and Apply to the lab over SSH) under the kernel's PR_SET_MDWE, the same restriction.

Nothing here runs a unit or contacts anything beyond loopback.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import struct
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

import harness as h
import lab as L

SYSTEMD_DIR = h.REPO_ROOT / "deploy" / "systemd"
UNITS = {"pbx-server.service": "/usr/local/bin/pbx-server", "pbx-gateway.service": "/usr/local/bin/pbx-gateway"}
# Each unit: its user (the same name as its group) and its environment file, in its own root-owned directory.
UNIT_USER = {"pbx-server.service": "pbx-portal", "pbx-gateway.service": "pbx-gateway"}
UNIT_CONFIG_DIR = {"pbx-server.service": "/etc/pbx-portal", "pbx-gateway.service": "/etc/pbx-gateway"}
UNIT_ENV_FILE = {"pbx-server.service": "/etc/pbx-portal/pbx-server.env",
                 "pbx-gateway.service": "/etc/pbx-gateway/pbx-gateway.env"}
ENV_EXAMPLES = {"server": SYSTEMD_DIR / "pbx-server.env.example", "gateway": SYSTEMD_DIR / "pbx-gateway.env.example"}
SERVER_CONFIG = h.REPO_ROOT / "server" / "app" / "config.cc"
GATEWAY_MAIN = h.REPO_ROOT / "gateway" / "cmd" / "pbx-gateway"
DEPLOY_UP = h.REPO_ROOT / "deploy" / "up"
TLS_CERTS = h.REPO_ROOT / "deploy" / "lib" / "tls-certs"
README = h.REPO_ROOT / "README.md"

# What deploy/up deliberately does not hand over: test-only fault injection, and HTTPS (REST stays plain HTTP on
# loopback there).
NOT_FROM_DEPLOY_UP = {"server": {"PBX_FAILPOINT"}, "gateway": {"PBX_HTTP_TLS_CERT_FILE", "PBX_HTTP_TLS_KEY_FILE"}}
# Variables whose values name the server's secrets: never in the gateway's environment.
SERVER_ONLY_SECRETS = {"PBX_DATABASE_URL", "PBX_ASTERISK_SSH_KEY", "PBX_SECRET_KEY_FILE", "PBX_SECRET_PREVIOUS_KEY_FILE",
                       "PBX_TLS_KEY_FILE"}

# How long each program gives in-flight calls after SIGTERM (server/app/main.cc Shutdown(absl::Seconds(5)),
# gateway/cmd/pbx-gateway/main.go shutdownTimeout); TimeoutStopSec must exceed them.
GRACE_S = {"pbx-server.service": 5, "pbx-gateway.service": 20}

HARDENING = {
    "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
    "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes", "ProtectProc": "invisible", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
    "SystemCallFilter": "@system-service", "SystemCallArchitectures": "native",
}


# --------------------------------------------------------------------------- helpers

def systemd_analyze() -> str:
    """/usr/bin/systemd-analyze (Debian package systemd, which deploy/lib/install-deps installs)."""
    found = shutil.which("systemd-analyze")
    if not found:
        pytest.fail("systemd-analyze missing: run deploy/lib/install-deps")
    return found


def analyze_env() -> dict:
    # Warnings ("Unknown key ..., ignoring") are what verify reports invalid directives with: make sure an
    # inherited SYSTEMD_LOG_LEVEL cannot hide them, and that they reach our pipes.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYSTEMD_")}
    env.update(SYSTEMD_LOG_LEVEL="info", SYSTEMD_LOG_TARGET="console", SYSTEMD_LOG_COLOR="0", SYSTEMD_PAGER="",
               LANG="C.UTF-8")
    return env


def unit_copies(tmp_path: Path, mutate=None) -> list[Path]:
    """The units copied to tmp_path, ExecStart pointed at the built binaries; mutate(name, text) -> text."""
    h.require_binaries(h.SERVER_BIN, h.GATEWAY_BIN)
    built = {"pbx-server.service": h.SERVER_BIN, "pbx-gateway.service": h.GATEWAY_BIN}
    out = []
    for name, installed in UNITS.items():
        text = (SYSTEMD_DIR / name).read_text()
        line = f"ExecStart={installed}\n"
        assert text.count(line) == 1, f"{name}: want exactly one line {line!r}"
        text = text.replace(line, f"ExecStart={built[name]}\n")
        if mutate:
            text = mutate(name, text)
        (tmp_path / name).write_text(text)
        out.append(tmp_path / name)
    return out


def verify(paths: list[Path]) -> tuple[int, str]:
    r = subprocess.run([systemd_analyze(), "verify", "--man=no", "--generators=no", *map(str, paths)],
                       cwd=str(paths[0].parent), env=analyze_env(), capture_output=True, text=True, timeout=120)
    return r.returncode, (r.stdout + r.stderr).strip()


def directives(name: str) -> dict[str, list[str]]:
    """Key -> values in file order (a unit may repeat a key), comments and section headers dropped."""
    result: dict[str, list[str]] = {}
    for line in (SYSTEMD_DIR / name).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{name}: not a directive: {line!r}"
        result.setdefault(key.strip(), []).append(value.strip())
    return result


def seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+)\s*(ms|s|sec|min|m)?", value)
    assert m, f"unexpected time span {value!r}"
    n = int(m.group(1))
    return {"ms": n / 1000, "min": n * 60, "m": n * 60}.get(m.group(2) or "s", n)


def variables_read(*paths: Path) -> set[str]:
    # A literal ending in "_" is a prefix (PBX_ASTERISK_<NAME>_SSH_KEY is built from one), not a variable.
    return {name for path in paths for name in re.findall(r'"(PBX_[A-Z0-9_]*[A-Z0-9])"', path.read_text())}


def server_reads() -> set[str]:
    """The variables of server/app/config.cc (PBX_FAILPOINT, read elsewhere, is test-only and documented nowhere)."""
    return variables_read(SERVER_CONFIG)


def gateway_reads() -> set[str]:
    """The variables of the gateway's main package (its tests aside)."""
    sources = [p for p in sorted(GATEWAY_MAIN.glob("*.go")) if not p.name.endswith("_test.go")]
    return variables_read(*sources)


READS = {"server": server_reads, "gateway": gateway_reads}

ENV_LINE = re.compile(r"^(#)?(PBX_[A-Z0-9_]+)=(.*)$")


def env_assignments(example: Path) -> list[tuple[int, bool, str, str]]:
    """(line number, commented out, name, value) of every PBX_*= line of the example."""
    out = []
    for i, line in enumerate(example.read_text().splitlines()):
        m = ENV_LINE.match(line)
        if m:
            out.append((i, bool(m.group(1)), m.group(2), m.group(3)))
    return out


IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?![\w:])")


def addresses_in(text: str) -> set[str]:
    found = set(IPV4.findall(text))
    for cand in IPV6_CANDIDATE.findall(text):
        try:
            ipaddress.IPv6Address(cand.strip("[]"))
            found.add(cand)
        except ValueError:
            pass
    return found


def secret_like(text: str) -> list[str]:
    """Tokens that look like real credentials: key material, or long random-looking strings (like the portal's
    own 24-character SIP passwords)."""
    hits = ["a PEM block"] if "-----BEGIN" in text else []
    candidates = re.findall(r"(?<![A-Za-z0-9])[A-Za-z0-9]{20,}(?![A-Za-z0-9])", text)
    candidates += re.findall(r"[A-Za-z0-9+/]{40,}={0,2}", text)  # base64: keys, tokens
    for tok in candidates:
        if re.search(r"[a-z]", tok) and re.search(r"[A-Z]", tok) and re.search(r"\d", tok):
            hits.append(tok)
    return hits


def production_section() -> str:
    text = README.read_text()
    start = text.find("\n## Production deployment")
    assert start >= 0, "README.md has no section '## Production deployment'"
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


# --------------------------------------------------------------------------- systemd-analyze

def test_units_pass_systemd_analyze_verify_without_any_message(tmp_path):
    rc, output = verify(unit_copies(tmp_path))
    assert rc == 0 and output == "", f"systemd-analyze verify: exit {rc}\n{output}"


@pytest.mark.parametrize("name,old,new", [
    ("pbx-server.service", "UMask=0077\n", "UMask=0077\nBogusDirective=yes\n"),
    ("pbx-gateway.service", "ProtectSystem=strict\n", "ProtectSystem=stricter\n"),
    ("pbx-server.service", "SystemCallFilter=@system-service\n", "SystemCallFilter=@no-such-group\n"),
    ("pbx-gateway.service", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n", "RestrictAddressFamilies=AF_NOPE\n"),
    ("pbx-server.service", "[Install]\n", "[Install]\nWantedBy=multi-user.target\nAlso=\n[Bogus]\nX=1\n"),
])
def test_verify_check_catches_a_broken_unit(tmp_path, name, old, new):
    """The check above is only worth something if it fails on an invalid directive or value."""
    def mutate(unit, text):
        if unit != name:
            return text
        assert old in text, f"{name}: {old!r} not found"
        return text.replace(old, new, 1)

    rc, output = verify(unit_copies(tmp_path, mutate))
    assert rc != 0 or output != "", f"systemd-analyze verify accepted a broken {name} silently"


@pytest.mark.parametrize("name", list(UNITS))
def test_units_security_exposure_is_low(name, tmp_path):
    # --threshold is on the 0-100 scale of the printed 0.0-10.0 level; the units are at 1.6.
    path = unit_copies(tmp_path)[list(UNITS).index(name)]
    r = subprocess.run([systemd_analyze(), "security", "--offline=yes", "--threshold=25", "--no-pager", str(path)],
                       cwd=str(tmp_path), env=analyze_env(), capture_output=True, text=True, timeout=120)
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout)
    assert r.returncode == 0 and level, f"systemd-analyze security: exit {r.returncode}\n{r.stdout[-3000:]}{r.stderr}"
    assert float(level.group(1)) <= 2.5, r.stdout[-3000:]


# --------------------------------------------------------------------------- unit policy

@pytest.mark.parametrize("name", list(UNITS))
def test_unit_policy(name):
    d = directives(name)
    one = {k: v[-1] for k, v in d.items()}
    assert one.get("Type") == "simple"
    assert one.get("ExecStart") == UNITS[name]
    assert d.get("EnvironmentFile") == [UNIT_ENV_FILE[name]], "one env file of its own, mandatory (no '-')"
    assert one.get("User") == UNIT_USER[name] and one.get("Group") == UNIT_USER[name]
    assert "DynamicUser" not in d, "each program reads key files owned by a stable user"
    assert d.get("ReadOnlyPaths") == [UNIT_CONFIG_DIR[name]]
    assert one.get("Restart") == "on-failure"
    assert seconds(one.get("RestartSec", "0")) >= 1
    assert one.get("KillSignal") == "SIGTERM"
    assert seconds(one["TimeoutStopSec"]) > GRACE_S[name] + 5, \
        f"TimeoutStopSec must leave room above the {GRACE_S[name]} s grace period"
    for key, want in HARDENING.items():
        assert key in d, f"{name}: missing {key}="
        assert d[key][0] == want, f"{name}: {key}={d[key][0]!r}, want {want!r}"
    assert "multi-user.target" in one.get("WantedBy", "")
    if name == "pbx-server.service":
        assert "network-online.target" in one.get("After", "") and "network-online.target" in one.get("Wants", "")
        assert one.get("RestartPreventExitStatus") == "2", "exit 2 is a configuration error (server/app/main.cc)"
    else:
        assert "pbx-server.service" in one.get("After", "").split()
        assert "pbx-server.service" in one.get("Wants", "").split()
        # The gateway reconnects by itself and answers 503 meanwhile: it must survive server restarts.
        assert "Requires" not in d and "BindsTo" not in d and "PartOf" not in d


# --------------------------------------------------------------------------- the environment file

@pytest.mark.parametrize("program", list(ENV_EXAMPLES))
def test_env_example_names_exactly_the_variables_its_program_reads(program):
    reads = READS[program]()
    assert len(reads) >= {"server": 25, "gateway": 4}[program], reads  # the extraction still works
    example = ENV_EXAMPLES[program]
    listed = [name for _, _, name, _ in env_assignments(example)]
    duplicates = {n for n in listed if listed.count(n) > 1}
    assert not duplicates, f"listed more than once: {sorted(duplicates)}"
    assert set(listed) == reads, (f"missing: {sorted(reads - set(listed))}; "
                                  f"not read by the {program}: {sorted(set(listed) - reads)}")
    # Comments may name the other program's variables ("the server's PBX_GRPC_LISTEN"), never unknown ones.
    known = server_reads() | gateway_reads()
    mentioned = set(re.findall(r"PBX_[A-Z0-9_]+", example.read_text()))
    assert mentioned <= known, f"mentions variables nobody reads: {sorted(mentioned - known)}"


def test_gateway_env_example_holds_none_of_the_servers_secrets():
    listed = {name for _, _, name, _ in env_assignments(ENV_EXAMPLES["gateway"])}
    assert not listed & SERVER_ONLY_SECRETS, sorted(listed & SERVER_ONLY_SECRETS)
    assert not {n for n in listed if n.startswith("PBX_ASTERISK_") or n.startswith("PBX_DB_")}


@pytest.mark.parametrize("program", list(ENV_EXAMPLES))
def test_env_example_is_plain_commented_environment_file_syntax(program):
    example = ENV_EXAMPLES[program]
    lines = example.read_text().splitlines()
    for i, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        # No quotes, blanks or backslashes: systemd and a reader see the same value.
        assert re.fullmatch(r"PBX_[A-Z0-9_]+=[^\s'\"\\]*", line), f"line {i}: {line!r}"
    # Each variable (or a group of adjacent ones) is explained by a comment line right above it.
    for i, _, name, _ in env_assignments(example):
        j = i - 1
        while j >= 0 and ENV_LINE.match(lines[j]):
            j -= 1
        assert j >= 0 and lines[j].startswith("#") and not ENV_LINE.match(lines[j]), f"{name} has no comment"


@pytest.mark.parametrize("program", list(ENV_EXAMPLES))
def test_env_example_has_no_address_but_loopback_and_no_secret(program):
    example = ENV_EXAMPLES[program]
    text = example.read_text()
    assert addresses_in(text) <= {"127.0.0.1"}, f"IP addresses: {sorted(addresses_in(text))}"
    assert not secret_like(text), f"secret-looking text: {secret_like(text)}"
    values = {name: value for _, commented, name, value in env_assignments(example) if not commented}
    config_dir = UNIT_CONFIG_DIR[f"pbx-{program}.service"] + "/"
    for name, value in values.items():
        if name.endswith("_FILE"):
            assert value.startswith(config_dir), f"{name}={value}: want a file in {config_dir}"
    if program == "gateway":
        assert {"PBX_GRPC_TLS_CA_FILE", "PBX_GRPC_TLS_CERT_FILE", "PBX_GRPC_TLS_KEY_FILE"} <= set(values), \
            "the example runs the gateway's gRPC link over mutual TLS"
        return
    assert {"PBX_TLS_CERT_FILE", "PBX_TLS_KEY_FILE", "PBX_TLS_CLIENT_CA_FILE", "PBX_SECRET_KEY_FILE"} <= set(values)
    url = urllib.parse.urlsplit(values["PBX_DATABASE_URL"])
    assert url.password == "CHANGE_ME", "the database password must be the placeholder CHANGE_ME"
    assert url.hostname and url.hostname.endswith(".example.internal")
    assert "sslmode=require" in url.query
    assert values["PBX_ASTERISK_SSH_HOST"].endswith(".example.internal")
    assert values["PBX_ASTERISK_SSH_KEY"].startswith(config_dir)
    assert values["PBX_ASTERISK_SSH_KNOWN_HOSTS"].startswith(config_dir)
    assert values["PBX_ASTERISK_SSH_USER"] != "root"


def test_deployment_files_and_readme_section_name_no_address_but_loopback():
    texts = {p.name: p.read_text() for p in SYSTEMD_DIR.iterdir() if p.is_file()}
    texts["README.md (Production deployment)"] = production_section()
    for name, text in texts.items():
        assert addresses_in(text) <= {"127.0.0.1"}, f"{name}: IP addresses {sorted(addresses_in(text))}"
        assert not secret_like(text), f"{name}: secret-looking text {secret_like(text)}"


# --------------------------------------------------------------------------- deploy/up

def deploy_up_list(name: str) -> list[str]:
    """The words of deploy/up's bash array NAME=( ... )."""
    m = re.search(rf"^{name}=\(\n(.*?)\n\)$", DEPLOY_UP.read_text(), re.M | re.S)
    assert m, f"deploy/up has no array {name}=( ... )"
    return m.group(1).split()


@pytest.mark.parametrize("program,array", [("server", "SERVER_VARS"), ("gateway", "GATEWAY_VARS")])
def test_deploy_up_starts_each_program_with_exactly_the_variables_it_reads(program, array):
    listed = deploy_up_list(array)
    assert len(listed) == len(set(listed)), f"{array}: a variable listed twice"
    want = READS[program]() - NOT_FROM_DEPLOY_UP[program]
    assert set(listed) == want, (f"{array} misses {sorted(want - set(listed))}, "
                                 f"lists what the {program} does not read: {sorted(set(listed) - want)}")
    if program == "gateway":
        assert not set(listed) & SERVER_ONLY_SECRETS


def openssl(*args: str) -> str:
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(args)}: {r.stdout}{r.stderr}"
    return r.stdout


def tls_certs(directory: Path, *args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([str(TLS_CERTS), str(directory), *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"deploy/lib/tls-certs: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r


def test_tls_certs_makes_a_private_ca_and_the_grpc_links_pairs_and_keeps_them(tmp_path):
    d = tmp_path / "tls"
    tls_certs(d)
    files = {p.name: p.stat() for p in d.iterdir()}
    assert set(files) == {"ca.crt", "ca.key", "server.crt", "server.key", "gateway.crt", "gateway.key"}, set(files)
    assert d.stat().st_mode & 0o777 == 0o700
    for name, st in files.items():
        assert st.st_mode & 0o777 == (0o600 if name.endswith(".key") else 0o644), f"{name}: {oct(st.st_mode)}"
    ca, server, gateway = (str(d / f) for f in ("ca.crt", "server.crt", "gateway.crt"))
    assert "CA:TRUE" in openssl("x509", "-in", ca, "-noout", "-ext", "basicConstraints")
    openssl("verify", "-CAfile", ca, "-purpose", "sslserver", server)
    openssl("verify", "-CAfile", ca, "-purpose", "sslclient", gateway)
    assert "IP Address:127.0.0.1, DNS:localhost" in openssl("x509", "-in", server, "-noout", "-ext", "subjectAltName")
    for leaf in (server, gateway):
        assert "CA:FALSE" in openssl("x509", "-in", leaf, "-noout", "-ext", "basicConstraints")
    assert "CN=pbx-gateway" in openssl("x509", "-in", gateway, "-noout", "-subject", "-nameopt", "compat")

    # Again: nothing is made anew.
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    tls_certs(d)
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before

    # Another name for the server: only its pair is made anew.
    tls_certs(d, "DNS:portal.example.internal,IP:127.0.0.1")
    after = {p.name: p.read_bytes() for p in d.iterdir()}
    assert {n for n in after if after[n] != before[n]} == {"server.crt", "server.key"}
    assert "DNS:portal.example.internal, IP Address:127.0.0.1" in \
        openssl("x509", "-in", server, "-noout", "-ext", "subjectAltName")

    # A lost CA: a new one, and new certificates it signed.
    (d / "ca.crt").unlink()
    tls_certs(d)
    openssl("verify", "-CAfile", ca, server)
    openssl("verify", "-CAfile", ca, gateway)
    assert (d / "gateway.crt").read_bytes() != before["gateway.crt"]


# --------------------------------------------------------------------------- the lab's account for the portal

def lab_ssh(lab, user: str, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-i", lab.ssh_key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
         "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
         "-p", str(lab.ssh_port), f"{user}@{lab.ssh_host}", command],
        capture_output=True, text=True, timeout=60)


def test_lab_account_is_the_production_one(lab):
    """README.md, "3. The Asterisk host": the portal's SSH user is unprivileged, in group asterisk, may write only the
    two include directories and runs the CLI by its absolute path through the group's control socket."""
    assert lab.ssh_user == "pbxportal" and lab.asterisk_program == "/usr/sbin/asterisk" and lab.file_group == "asterisk"
    r = lab_ssh(lab, lab.ssh_user, "id -un; id -Gn")
    assert r.returncode == 0, r.stderr
    name, groups = r.stdout.split("\n")[:2]
    assert name == "pbxportal" and "asterisk" in groups.split(), r.stdout
    r = lab_ssh(lab, lab.ssh_user, f"{lab.asterisk_program} -rx 'core show version'")
    assert r.returncode == 0 and r.stdout.startswith("Asterisk "), f"{r.stdout}{r.stderr}"

    gid = lab.asterisk_gid()
    for d in (lab.pjsip_dir, lab.dialplan_dir):
        st = d.stat()
        assert (st.st_mode & 0o7777, st.st_gid) == (0o2750, gid), f"{d}: {oct(st.st_mode)} gid {st.st_gid}"
        assert d.parent.stat().st_uid == 0 and d.parent.stat().st_mode & 0o777 == 0o750, d.parent
    lab.assert_file_modes()
    ctl = (lab.root / "run" / "asterisk" / "asterisk.ctl").stat()
    assert (ctl.st_mode & 0o777, ctl.st_gid) == (0o660, gid), f"asterisk.ctl: {oct(ctl.st_mode)} gid {ctl.st_gid}"

    # Writes where the portal writes, and nowhere else it must not.
    probe = ".deploy-units-probe"
    for d in (lab.pjsip_dir, lab.dialplan_dir):
        r = lab_ssh(lab, lab.ssh_user, f"touch -- '/{d.relative_to(lab.root)}/{probe}'")
        try:
            assert r.returncode == 0, f"cannot write {d}: {r.stderr}"
            assert (d / probe).stat().st_gid == gid, "the directory's setgid bit gives new files group asterisk"
        finally:
            (d / probe).unlink(missing_ok=True)
    for command in ("echo x >> /etc/asterisk/pjsip.conf", "touch /etc/asterisk/pbx-probe.conf",
                    "echo x >> /var/lib/pbxportal/.ssh/authorized_keys",
                    "mv /etc/asterisk/pjsip.d/synergycall /etc/asterisk/pjsip.d/moved"):
        r = lab_ssh(lab, lab.ssh_user, command)
        assert r.returncode != 0, f"the portal's account could: {command}"
    assert not (lab.root / "etc" / "asterisk" / "pbx-probe.conf").exists()
    # The key is not root's.
    assert lab_ssh(lab, "root", "true").returncode != 0, "the portal's key logs in as root"


# --------------------------------------------------------------------------- MemoryDenyWriteExecute

PT_GNU_STACK, PF_X = 0x6474E551, 0x1


def executable_stack(path: Path) -> bool:
    """True when the ELF file asks for an executable stack (PT_GNU_STACK with PF_X, or no PT_GNU_STACK)."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{path}: not a 64-bit little-endian ELF"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, p_flags = struct.unpack_from("<II", data, phoff + i * phentsize)
        if p_type == PT_GNU_STACK:
            return bool(p_flags & PF_X)
    return True


def shared_libraries(binary: Path) -> list[Path]:
    r = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=60)
    libs = re.findall(r"(/\S+) \(0x", r.stdout)
    return [Path(p) for p in libs]


@pytest.mark.parametrize("which", ["server", "gateway"])
def test_no_binary_or_library_needs_an_executable_stack(which):
    binary = h.SERVER_BIN if which == "server" else h.GATEWAY_BIN
    h.require_binaries(binary)
    files = [binary, *shared_libraries(binary)]
    assert len(files) > 1 or which == "gateway", f"ldd found no libraries of {binary}"
    bad = [str(f) for f in files if executable_stack(f)]
    assert not bad, f"executable stack (breaks MemoryDenyWriteExecute=yes): {bad}"


PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
MDWE_WRAPPER = """import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl({op}, {flag}, 0, 0, 0) != 0:
    sys.exit("PR_SET_MDWE failed: errno %d" % ctypes.get_errno())
os.execv({binary!r}, [{binary!r}])
"""


def mdwe_supported() -> bool:
    probe = "import ctypes,sys; sys.exit(ctypes.CDLL(None).prctl(%d, %d, 0, 0, 0) != 0)" % (
        PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)
    return subprocess.run([sys.executable, "-c", probe]).returncode == 0


@pytest.fixture
def under_mdwe(tmp_path, monkeypatch):
    """Portals started from now on run their binaries with PR_SET_MDWE (Linux 6.3+; inherited across exec):
    no mapping may ever become writable and executable, what MemoryDenyWriteExecute=yes enforces with seccomp."""
    if not mdwe_supported():
        pytest.skip("the kernel has no PR_SET_MDWE (Linux 6.3+)")
    for attr in ("SERVER_BIN", "GATEWAY_BIN"):
        binary = getattr(h, attr)
        h.require_binaries(binary)
        wrapper = tmp_path / f"mdwe-{binary.name}"
        wrapper.write_text(f"#!{sys.executable}\n" + MDWE_WRAPPER.format(
            op=PR_SET_MDWE, flag=PR_MDWE_REFUSE_EXEC_GAIN, binary=str(binary)))
        wrapper.chmod(0o755)
        monkeypatch.setattr(h, attr, wrapper)


def test_server_and_gateway_serve_under_mdwe(under_mdwe, portals, new_db):
    # Healthy (the wrapper exits at once when prctl fails); the portals fixture checks exit 0 on SIGTERM.
    portal = portals.start(new_db())
    made = L.create_user(portal, "Mdwe Example", "mdwe@example.com")
    assert made["user"]["extension"] == 1000
    assert portal.client.count_users() == 1
    assert portal.client.get("/apply/status").status == 200


def test_apply_over_ssh_under_mdwe(under_mdwe, portals, new_db, lab):
    """libssh, its crypto and SFTP, and the whole Apply, under the same restriction."""
    portal = portals.start(new_db(), server_env=lab.server_env())
    L.create_user(portal, "Mdwe Apply", "mdwe.apply@example.com")
    L.apply_ok(portal, admin="mdwe")
    lab.assert_live([1000])
