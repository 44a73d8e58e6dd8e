"""Secrets never leak, and generated SIP passwords look random.

test_no_secret_in_any_log: a portal whose database URL carries a password (a role with a password in an own
  cluster; pg_hba trusts 127.0.0.1, so it is not verified, but it must never be logged) runs a representative
  workload: creates, gets, sip-credentials reads, Applies to the lab, failing Applies (read-only include
  directory, unreachable host, database down), validation errors, a database outage. Then everything the stack
  wrote is searched: the server's and gateway's logs of this test (build/test-logs), the cluster's postgres.log,
  the lab's logs (Asterisk's messages.log and the rest of its /var/log, asterisk-lab's logs). No SIP password
  returned by the API and no part of the database credentials may appear; neither in any error body. (The
  generated pjsip file legitimately holds the passwords: it is the positive control of the search.)
test_generated_passwords_unique_and_uniform: 1000 users created, all deleted, 1000 created again (long: 5
  rounds): every password is unique, matches ^[A-Za-z0-9]{24}$, and the symbol distribution passes a generous
  chi-square test (overall and per position).
Figures: build/reliability/<test-name>.json (format: reliability.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import string
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import harness as h
import reliability as R

ALPHABET = string.ascii_letters + string.digits  # 62 symbols
PASSWORD_RE = re.compile(r"^[A-Za-z0-9]{24}$")
# chi-square with 61 degrees of freedom: mean 61, sd 11; 160 is beyond p = 1e-9. A modulo bias of byte % 62
# over 48000 symbols gives about 300.
CHI_SQUARE_THRESHOLD = 160.0


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """A SCRAM-SHA-256 verifier, so the plain password never reaches PostgreSQL (nor its log)."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}"


class Needles:
    """Finds any of many fixed strings of token characters (alphanumerics and the base64 and base64url extras) in large
    texts: every window of each run of such characters is looked up in a set (one pass per text, whatever the number
    of needles)."""

    CHARS = r"[A-Za-z0-9_+/=-]"

    def __init__(self):
        self.by_len: dict[int, dict[str, str]] = {}

    def add(self, needle: str, kind: str):
        assert re.fullmatch(self.CHARS + "+", needle), needle
        self.by_len.setdefault(len(needle), {})[needle] = kind

    def __len__(self):
        return sum(len(v) for v in self.by_len.values())

    def find(self, text: str) -> list[tuple[str, str]]:
        hits = []
        if not self.by_len:
            return hits
        shortest = min(self.by_len)
        for m in re.finditer(self.CHARS + "{%d,}" % shortest, text):
            run = m.group(0)
            for n, table in self.by_len.items():
                for i in range(len(run) - n + 1):
                    kind = table.get(run[i:i + n])
                    if kind:
                        hits.append((kind, run[i:i + n]))
        return hits


def chi_square(counts: dict[str, int], total: int) -> float:
    expected = total / len(ALPHABET)
    return sum((counts.get(c, 0) - expected) ** 2 / expected for c in ALPHABET)


# --------------------------------------------------------------------------- no secret in any log

def test_no_secret_in_any_log(own_cluster, portals, lab, request):
    with R.recording(request) as rec:
        role = "pbx_rel_" + secrets.token_hex(4)
        db_secret = "DbSecret" + "".join(secrets.choice(ALPHABET) for _ in range(24))
        own_cluster.psql("postgres", f"CREATE ROLE {role} LOGIN PASSWORD '{scram_verifier(db_secret)}'")
        db = own_cluster.create_db("relsecret")
        own_cluster.psql("postgres", f'ALTER DATABASE "{db}" OWNER TO {role}')
        url = f"postgresql://{role}:{db_secret}@{own_cluster.host}:{own_cluster.port}/{db}"

        responses: list[tuple[str, h.Response]] = []  # (what, response)
        sip_passwords: set[str] = set()
        work = {"creates": 0, "gets": 0, "credential_reads": 0, "validation_errors": 0, "applies_ok": 0,
                "applies_failed": 0, "outage_requests": 0, "outage_503": 0}
        rec["workload"] = work

        def call(what, client, method, path, body=None, **kw):
            r = client.call(method, path, body, timeout=30, **kw)
            responses.append((what, r))
            return r

        p = portals.start(url, server_env=lab.server_env())
        c = p.client

        def create(i, metadata=None):
            r = call("create", c, "POST", "/users", {"name": f"Secret User {i}", "email": f"secret.{i}@example.com",
                                                       **({"metadata": metadata} if metadata else {})})
            assert r.status == 201, r
            work["creates"] += 1
            sip_passwords.add(r.json["sip_credentials"]["password"])
            return r.json["user"]["id"]

        ids = [create(i, {"team": "ops", "i": str(i)} if i % 2 else None) for i in range(10)]
        for uid in ids:
            assert call("get", c, "GET", f"/users/{uid}").status == 200
            work["gets"] += 1
            r = call("credentials", c, "GET", f"/users/{uid}/sip-credentials")
            assert r.status == 200, r
            work["credential_reads"] += 1
            sip_passwords.add(r.json["password"])
        assert call("list", c, "GET", "/users").status == 200

        # API keys: the tokens shown at creation, and every way a token can be sent wrong or right.
        api_tokens = {p.admin_token}
        for role in ("viewer", "operator", "admin"):
            r = call("create-key", c, "POST", "/api-keys", {"name": f"secret-{role}", "role": role})
            assert r.status == 201, r
            api_tokens.add(r.json["token"])
            assert call("use-key", c.with_token(r.json["token"]), "GET", "/users").status == 200
        revoked = call("create-key", c, "POST", "/api-keys", {"name": "secret-revoked", "role": "viewer"})
        api_tokens.add(revoked.json["token"])
        assert call("revoke-key", c, "DELETE", f"/api-keys/{revoked.json['api_key']['id']}").status == 200
        h.wait_until(lambda: c.with_token(revoked.json["token"]).get("/users").status == 401, 10, 0.2,
                     "the revoked token to be refused")
        for header in (f"Bearer {revoked.json['token']}", f"Basic {p.admin_token}", p.admin_token,
                       f"Bearer {p.admin_token}x"):
            r = call("bad-token", c, "GET", "/users", headers={"Authorization": header})
            assert r.status == 401, r
        assert call("list-keys", c, "GET", "/api-keys").status == 200

        # Validation and other client errors.
        bad = [
            ("POST", "/users", {"name": "", "email": "nope"}, None),
            ("POST", "/users", {"name": "X", "email": "x@example.com", "metadata": {"bad key!": "v"}}, None),
            ("POST", "/users", {"name": "X", "email": "x@example.com", "password": "Injected123"}, None),
            ("POST", "/users", {"name": "Dup", "email": "secret.1@example.com"}, None),
            ("POST", "/users", None, b"{not json"),
            ("POST", "/users", None, b'{"name": "' + b"A" * 70000 + b'", "email": "big@example.com"}'),
            ("GET", "/users/not-a-uuid", None, None),
            ("GET", "/users/00000000-0000-4000-8000-000000000000", None, None),
            ("GET", "/users/00000000-0000-4000-8000-000000000000/sip-credentials", None, None),
            ("DELETE", "/users/00000000-0000-4000-8000-000000000000", None, None),
            ("GET", "/apply/audit?limit=5000", None, None),
            ("POST", "/apply", {"note": "x" * 5000}, None),
        ]
        for method, path, body, raw in bad:
            r = c.call(method, path, body, raw=raw, timeout=30)
            responses.append(("client-error", r))
            assert 400 <= r.status < 500, f"{method} {path}: want a 4xx, got {r!r}"
            work["validation_errors"] += 1

        # Applies: one good, one failing to write, one to an unreachable host.
        r = call("apply", c, "POST", "/apply", {"note": "secret-admin"})
        assert r.status == 200, f"{r!r}\n{p.server.proc.stderr_tail()}"
        work["applies_ok"] += 1
        create(100)
        with lab.read_only(lab.pjsip_dir):
            r = call("apply-readonly", c, "POST", "/apply", {})
        assert r.status == 500, r
        work["applies_failed"] += 1
        unreachable = portals.start(url, server_env=lab.server_env(PBX_ASTERISK_SSH_PORT=h.free_port(),
                                                                   PBX_ASTERISK_CONNECT_TIMEOUT_S=2))
        r = call("apply-unreachable", unreachable.client, "POST", "/apply", {})
        assert r.status == 503, r
        work["applies_failed"] += 1
        for what, path in (("status", "/apply/status"), ("audit", "/apply/audit?limit=20")):
            assert call(what, c, "GET", path).status == 200

        # A database outage, with every kind of request during it.
        own_cluster.stop()
        try:
            h.wait_until(lambda: p.healthz_status() != 200, 10, 0.1, "/healthz to notice the outage")
            during = [("POST", "/users", {"name": "Outage", "email": "outage@example.com"}),
                      ("GET", "/users", None), ("GET", f"/users/{ids[0]}", None),
                      ("GET", f"/users/{ids[0]}/sip-credentials", None), ("DELETE", f"/users/{ids[1]}", None),
                      ("POST", "/apply", {}), ("GET", "/apply/status", None), ("GET", "/apply/audit", None)]
            for method, path, body in during:
                r = call("outage", c, method, path, body)
                work["outage_requests"] += 1
                work["outage_503"] += r.status == 503
                assert r.status == 503, f"{method} {path} during the outage: {r!r}"
            # A server that starts while the database is down (its start-up error path).
            late = portals.start(url, wait=False, server_env=lab.server_env())
            h.wait_until(lambda: late.healthz_status() == 503, 20, 0.1, "the late server's gateway to answer 503")
        finally:
            own_cluster.start()
        p.wait_healthy(30)
        late.wait_healthy(30)
        # A server pointed at a database that does not exist (same credentials): it must not log them either.
        wrong = portals.start(url.rsplit("/", 1)[0] + "/no_such_db_" + secrets.token_hex(3), wait=False,
                              server_env=lab.server_env())
        h.wait_until(lambda: wrong.healthz_status() == 503, 20, 0.1, "the wrong-database server to answer 503")
        r = call("wrong-db", wrong.client, "POST", "/users", {"name": "Nowhere", "email": "nowhere@example.com"})
        assert r.status >= 500, r
        create(200)
        for uid in ids[:3]:
            assert call("delete", c, "DELETE", f"/users/{uid}").status == 200
        r = call("apply", c, "POST", "/apply", {})
        assert r.status == 200, f"{r!r}\n{p.server.proc.stderr_tail()}"
        work["applies_ok"] += 1

        # Stop everything (so every log is complete), then search.
        problems = portals.stop_all()
        assert not problems, problems

        needles = Needles()
        for pw in sip_passwords:
            assert PASSWORD_RE.match(pw), pw
            needles.add(pw, "sip_password")
        needles.add(db_secret, "database_password")
        for token in api_tokens:
            needles.add(token, "api_token")
        key = h.SECRET_KEY_FILE.read_bytes()
        needles.add(key.hex(), "secret_key")
        needles.add(base64.b64encode(key).decode(), "secret_key")
        needles.add(base64.urlsafe_b64encode(key).decode().rstrip("="), "secret_key")
        rec["api_tokens_checked"] = len(api_tokens)
        rec["sip_passwords_checked"] = len(sip_passwords)
        rec["db_secret_checked"] = True

        files = sorted(h.LOG_DIR.glob(f"{portals.prefix}.*"))
        files.append(own_cluster.datadir / "postgres.log")
        files += sorted(q for q in (lab.root / "var" / "log").rglob("*") if q.is_file())
        files += sorted(q for q in (lab.root.parent / "logs").glob("*") if q.is_file())
        scanned, hits, total = [], [], 0
        for f in files:
            try:
                text = f.read_bytes().decode("utf-8", errors="replace")
            except OSError as e:
                rec.violation(f"cannot read {f}: {e}")
                continue
            scanned.append({"path": str(f.relative_to(h.REPO_ROOT)) if f.is_relative_to(h.REPO_ROOT) else str(f),
                            "bytes": len(text)})
            total += len(text)
            for kind, _ in needles.find(text):
                hits.append({"needle_kind": kind, "where": str(f)})
        server_logs = [f for f in files if ".server." in f.name]
        assert server_logs and any(f.stat().st_size for f in server_logs), f"no server log found among {files}"
        assert (own_cluster.datadir / "postgres.log").exists(), "the cluster's postgres.log is missing"
        rec["files_scanned"] = scanned
        rec["bytes_scanned"] = total

        # Responses: no error body carries a secret; only the credential answers carry a SIP password.
        rec["responses_checked"] = len(responses)
        rec["error_responses_checked"] = sum(1 for _, r in responses if r.status >= 400)
        for what, r in responses:
            found = needles.find(r.text)
            if not found:
                continue
            if r.status < 400 and what in ("create", "credentials") and all(k == "sip_password" for k, _ in found):
                continue
            if r.status == 201 and what == "create-key" and all(k == "api_token" for k, _ in found):
                continue  # a key's token is shown once, when it is created
            hits.append({"needle_kind": ",".join(sorted({k for k, _ in found})),
                         "where": f"response to {what}: HTTP {r.status} {r.text[:200]!r}"})
        rec["hits"] = hits
        for hit in hits:
            rec.violation(f"{hit['needle_kind']} found in {hit['where']}")

        # Positive control: the search does find the passwords where they belong.
        control = needles.find(lab.pjsip_file.read_text())
        rec["positive_control_hits"] = len(control)
        assert control, "the search found no password in generated_endpoints.conf: the search is broken"
        rec.assert_no_violations()


# --------------------------------------------------------------------------- generated passwords

def test_generated_passwords_unique_and_uniform(portal, request):
    rounds = 5 if R.LONG else 2
    with R.recording(request) as rec:
        c = portal.client
        passwords: list[str] = []
        t_create = t_delete = 0.0
        for rnd in range(rounds):
            t0 = time.monotonic()
            rs = h.create_many(c, 1000, f"Pw{rnd}", workers=8)
            t_create += time.monotonic() - t0
            bad = [r for r in rs if r.status != 201]
            assert not bad, f"round {rnd}: {len(bad)} creates failed, first {bad[0]!r}"
            passwords += [r.json["sip_credentials"]["password"] for r in rs]
            # The stored credentials are the ones returned.
            for r in rs[:: 97]:
                got = c.get(f"/users/{r.json['user']['id']}/sip-credentials")
                assert got.status == 200 and got.json["password"] == r.json["sip_credentials"]["password"], got
            t0 = time.monotonic()
            with ThreadPoolExecutor(8) as ex:
                ds = list(ex.map(lambda r: c.delete(f"/users/{r.json['user']['id']}", timeout=30), rs))
            t_delete += time.monotonic() - t0
            assert all(d.status == 200 for d in ds), [d for d in ds if d.status != 200][:3]
        rec["rounds"] = rounds
        rec["passwords"] = len(passwords)
        rec["create_s"], rec["delete_s"] = round(t_create, 2), round(t_delete, 2)

        unique = len(set(passwords))
        rec["unique"] = unique
        rec["pattern_ok"] = sum(1 for pw in passwords if PASSWORD_RE.match(pw))
        if unique != len(passwords):
            rec.violation(f"{len(passwords) - unique} duplicate passwords among {len(passwords)}")
        if rec["pattern_ok"] != len(passwords):
            rec.violation(f"passwords not matching ^[A-Za-z0-9]{{24}}$: "
                          f"{[pw for pw in passwords if not PASSWORD_RE.match(pw)][:3]}")

        counts: dict[str, int] = {}
        for pw in passwords:
            for ch in pw:
                counts[ch] = counts.get(ch, 0) + 1
        total = sum(counts.values())
        chi = chi_square(counts, total)
        per_position = []
        for i in range(24):
            pc: dict[str, int] = {}
            for pw in passwords:
                if len(pw) > i:
                    pc[pw[i]] = pc.get(pw[i], 0) + 1
            per_position.append(chi_square(pc, sum(pc.values())))
        rec["chi_square"] = round(chi, 2)
        rec["chi_square_degrees_of_freedom"] = len(ALPHABET) - 1
        rec["chi_square_threshold"] = CHI_SQUARE_THRESHOLD
        rec["chi_square_per_position_max"] = round(max(per_position), 2)
        rec["symbols_seen"] = len(counts)
        rec["least_frequent"] = sorted(counts.items(), key=lambda kv: kv[1])[:3]
        rec["most_frequent"] = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        if chi > CHI_SQUARE_THRESHOLD:
            rec.violation(f"symbol distribution biased: chi-square {chi:.1f} > {CHI_SQUARE_THRESHOLD} (df 61)")
        if max(per_position) > CHI_SQUARE_THRESHOLD:
            rec.violation(f"a position is biased: chi-square {max(per_position):.1f} > {CHI_SQUARE_THRESHOLD}")

        # None of them reached this portal's logs either.
        portal.stop()
        needles = Needles()
        for pw in set(passwords):
            if PASSWORD_RE.match(pw):
                needles.add(pw, "sip_password")
        log_hits = 0
        for f in (portal.server.proc.stderr_path, portal.server.proc.stdout_path,
                  portal.gateway.proc.stderr_path, portal.gateway.proc.stdout_path):
            n = len(needles.find(Path(f).read_text(errors="replace")))
            log_hits += n
            if n:
                rec.violation(f"{n} SIP passwords in {f}")
        rec["log_hits"] = log_hits
        rec.assert_no_violations()
