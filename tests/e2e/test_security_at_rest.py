"""What the portal keeps, and how it keeps it (issue 10): SIP passwords sealed in the database (a dump holds none
in clear; a wrong key stops the server; rotating the key keeps every phone registering), finished audit rows that
nobody can change, and Apply files that a symbolic link on the host cannot turn against another file."""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
from pathlib import Path

import pytest

import harness as h
import lab as L
import reliability as R
from conftest import db_name


def server_command(db_url: str, *args: str, **env) -> subprocess.CompletedProcess:
    """pbx-server ARGS (a subcommand) against `db_url`, with the suite's secret key unless `env` says otherwise."""
    environment = h.clean_env({"PBX_DATABASE_URL": db_url, "PBX_SECRET_KEY_FILE": str(h.SECRET_KEY_FILE)})
    environment.update({k: str(v) for k, v in env.items()})
    return subprocess.run([str(h.SERVER_BIN), *args], env=environment, capture_output=True, text=True, timeout=60)


def new_key_file(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(os.urandom(32))
    path.chmod(0o600)
    return path


def test_a_database_dump_holds_no_sip_password(portal, pg):
    passwords = [L.create_user(portal, f"Dumped {i}", f"dumped.{i}@example.com")["sip_credentials"]["password"]
                 for i in range(5)]
    dump = subprocess.run([h.pg_tool("pg_dump"), "-h", pg.host, "-p", str(pg.port), "-U", pg.user,
                           db_name(portal.db_url)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0, dump.stderr
    assert "sip_secret_sealed" in dump.stdout, "the dump lacks the extensions table: the check proves nothing"
    leaked = [pw for pw in passwords if pw in dump.stdout]
    assert not leaked, f"{len(leaked)} SIP passwords in clear in pg_dump's output"
    # Each is still what the API answers.
    users = portal.list_users()
    assert len(users) == len(passwords), users
    for user in users:
        r = portal.get(f"/users/{user['id']}/sip-credentials")
        assert r.status == 200 and r.json["password"] in passwords, r


def test_a_wrong_or_missing_key_stops_the_server(portals, new_db, tmp_path):
    url = new_db()
    p = portals.start(url)
    L.create_user(p, "Sealed", "sealed@example.com")
    assert p.stop()["server"] == 0
    other = new_key_file(tmp_path, "other.key")
    wrong = server_command(url, PBX_GRPC_LISTEN=f"127.0.0.1:{h.free_port()}", PBX_METRICS_LISTEN="",
                           PBX_SECRET_KEY_FILE=other)
    assert wrong.returncode != 0, "the server started with a key that opens none of the stored secrets"
    assert "PBX_SECRET_KEY_FILE" in wrong.stderr and "sealed under key" in wrong.stderr, wrong.stderr
    missing = server_command(url, PBX_GRPC_LISTEN=f"127.0.0.1:{h.free_port()}", PBX_METRICS_LISTEN="",
                             PBX_SECRET_KEY_FILE="")
    assert missing.returncode != 0 and "PBX_SECRET_KEY_FILE" in missing.stderr, missing.stderr


def test_rotating_the_key_keeps_every_phone_registering(portals, new_db, lab, tmp_path):
    url = new_db()
    p = portals.start(url, server_env=lab.server_env())
    made = L.create_users(p, 3, "Rotate")
    L.apply_ok(p, "before-rotation")
    for u in made:
        reg = lab.register(u["user"]["extension"], u["sip_credentials"]["password"], tag="before-rotation")
        assert reg.returncode == 0, reg.explain()
    assert p.stop()["server"] == 0

    new_key = new_key_file(tmp_path, "new.key")
    rotated = server_command(url, "rotate-secrets", PBX_SECRET_KEY_FILE=new_key,
                             PBX_SECRET_PREVIOUS_KEY_FILE=h.SECRET_KEY_FILE)
    assert rotated.returncode == 0, rotated.stderr
    assert "resealed 3 SIP secrets" in rotated.stdout, rotated.stdout
    # The old key is no longer needed: a server with the new one alone serves every password.
    q = portals.start(url, server_env=lab.server_env(PBX_SECRET_KEY_FILE=new_key))
    audit = L.apply_ok(q, "after-rotation")
    assert audit["user_count"] == 3, audit
    for u in made:
        got = q.get(f"/users/{u['user']['id']}/sip-credentials")
        assert got.status == 200 and got.json["password"] == u["sip_credentials"]["password"], got
        reg = lab.register(u["user"]["extension"], u["sip_credentials"]["password"], tag="after-rotation")
        assert reg.returncode == 0, reg.explain()


def test_finished_audit_rows_cannot_be_changed_by_the_portals_role(portals, pg, lab):
    role = "pbx_audit_" + secrets.token_hex(4)
    pg.psql("postgres", f"CREATE ROLE {role} LOGIN")
    db = pg.create_db("auditrole")
    try:
        pg.psql("postgres", f'ALTER DATABASE "{db}" OWNER TO {role}')
        url = f"postgresql://{role}@{pg.host}:{pg.port}/{db}"
        p = portals.start(url, server_env=lab.server_env())
        audit = L.apply_ok(p, "evidence")
        as_portal = h.PgCluster(pg.host, pg.port, role)
        for statement in (f"UPDATE apply_audit_log SET outcome = 'failure' WHERE id = {audit['id']}",
                          f"UPDATE apply_audit_log SET error_detail = 'rewritten' WHERE id = {audit['id']}",
                          f"DELETE FROM apply_audit_log WHERE id = {audit['id']}",
                          "TRUNCATE apply_audit_log"):
            with pytest.raises(RuntimeError, match="cannot be (changed|deleted)"):
                as_portal.psql(db, statement)
        assert L.audit_entry(p, audit["id"])["outcome"] == "APPLY_OUTCOME_SUCCESS"
    finally:
        pg.drop_db(db)
        pg.psql("postgres", f"DROP ROLE IF EXISTS {role}")


def test_a_temporary_swapped_for_a_link_changes_no_other_file(portals, new_db, lab, tmp_path):
    """Between upload and commit, someone on the Asterisk host replaces a temporary with a symbolic link to another
    file: the commit must change neither that file's group nor its mode (it renames the link, which the next Apply
    replaces)."""
    release = tmp_path / "release"
    # Owned by the portal's SSH account, so that a chgrp or chmod through the link could change it.
    victim = lab.root / "var" / "lib" / f"pbx-victim-{secrets.token_hex(3)}"
    victim.write_text("not the portal's\n")
    victim.chmod(0o600)
    try:
        account = next(line.split(":") for line in (lab.root / "etc" / "passwd").read_text().splitlines()
                       if line.split(":")[0] == lab.ssh_user)
        os.chown(victim, int(account[2]), int(account[3]))
        before = victim.stat()
        p = portals.start(new_db(), server_env=lab.server_env(PBX_FAILPOINT=f"apply.before_renames@{release}",
                                                              PBX_ASTERISK_SESSION_IDLE_S=0))
        L.create_users(p, 2, "Link")
        result: dict = {}
        t = threading.Thread(target=lambda: result.update(r=L.apply(p, "link-swap", timeout=120)))
        t.start()
        try:
            R.wait_failpoint(p, "apply.before_renames")
            temporaries = sorted(lab.pjsip_dir.glob(".generated_endpoints.conf.tmp-*"))
            assert len(temporaries) == 1, temporaries
            temporaries[0].unlink()
            # The path as the Asterisk host sees it (the lab runs in its own root).
            temporaries[0].symlink_to("/" + str(victim.relative_to(lab.root)))
        finally:
            release.touch()
            t.join(120)
        after = victim.stat()
        assert (after.st_mode, after.st_uid, after.st_gid) == (before.st_mode, before.st_uid, before.st_gid), \
            f"the commit changed {victim}: mode {oct(before.st_mode)} -> {oct(after.st_mode)}, " \
            f"gid {before.st_gid} -> {after.st_gid}"
        assert victim.read_text() == "not the portal's\n"
        # Whatever that Apply answered, the next one puts a real file back.
        p2 = portals.start(p.db_url, server_env=lab.server_env())
        L.apply_ok(p2, "after-link")
        assert not lab.pjsip_file.is_symlink() and not lab.stray_files(), lab.stray_files()
        lab.assert_file_modes()
    finally:
        victim.unlink(missing_ok=True)  # the lab root is shared by the whole suite
