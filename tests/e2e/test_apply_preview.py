"""POST /apply:preview (issue 12, item 1) against the real Asterisk 22 lab.

The preview of each kind of change (users added, a user deleted, a password rotated) names exactly what the
following Apply does: its extensions are the ones the live Asterisk gains or loses, its rendered sha256s are the
files the Apply writes and its content hash the Apply's. A preview writes nothing (both files keep inode and mtime)
and reloads nothing, never shows a password, needs only the viewer role, does not wait for the Apply lock, and
answers 503 when the host cannot be reached.
"""

from __future__ import annotations

import time

import pytest

import harness as h
import lab as L

PREVIEW_KEYS = {"added_extensions", "removed_extensions", "changed_extensions", "files", "would_write",
                "would_reload", "reason", "user_count", "content_hash", "hosts"}


@pytest.fixture(scope="module")
def portal(module_portals, lab_session):
    return module_portals.start(server_env=lab_session.server_env(PBX_DRIFT_CHECK_INTERVAL_S=0))


def preview(client: h.Client) -> h.Response:
    r = client.post("/apply:preview", {})
    assert r.status == 200, f"POST /apply:preview -> {r!r}"
    assert isinstance(r.json, dict) and set(r.json) == PREVIEW_KEYS, f"preview fields: {r!r}"
    return r


def sync(portal, lab) -> dict:
    """Apply what the database holds, so that the host holds exactly it; returns the audit entry."""
    audit = L.apply_ok(portal)
    lab.assert_live(L.extensions_of(portal), "sync")
    return audit


def assert_files(p: dict, lab, *, differ: bool):
    """The preview's file records: both generated files, pjsip first, each host_sha256 the file on the lab's disk."""
    assert [f["path"] for f in p["files"]] == [L.PJSIP_PATH, L.DIALPLAN_PATH], p["files"]
    for f, disk in zip(p["files"], (lab.pjsip_file, lab.dialplan_file)):
        assert f["exists_on_host"] is True, f
        assert f["host_sha256"] == L.sha256_file(disk), f"{f['path']}: host_sha256 is not the file on disk"
        assert len(f["rendered_sha256"]) == 64, f
        assert f["differs"] is (f["host_sha256"] != f["rendered_sha256"]) is differ, f


def apply_as_previewed(portal, lab, p: dict) -> dict:
    """Run the Apply that follows preview P and check it did what P said: the live Asterisk gains the added and loses
    the removed extensions, the files written are P's rendered ones and the content hash is P's."""
    before = lab.endpoints()
    audit = L.apply_ok(portal)
    after = lab.endpoints()
    assert audit["changed"] is True, audit
    assert sorted(int(e) for e in after - before) == p["added_extensions"], (before, after, p)
    assert sorted(int(e) for e in before - after) == p["removed_extensions"], (before, after, p)
    written = {f["path"]: f["sha256"] for f in audit["files"]}
    assert written == {f["path"]: f["rendered_sha256"] for f in p["files"]}, (audit["files"], p["files"])
    assert audit["content_hash"] == p["content_hash"], (audit["content_hash"], p["content_hash"])
    assert audit["user_count"] == p["user_count"], (audit, p)
    lab.assert_files_match_audit(audit)
    lab.assert_live(L.extensions_of(portal))
    return audit


def test_preview_of_added_users_matches_the_apply(portal, lab):
    sync(portal, lab)
    made = L.create_users(portal, 2, "PreviewAdd")
    added = sorted(m["user"]["extension"] for m in made)

    r = preview(portal.client)
    p = r.json
    assert p["added_extensions"] == added, p
    assert p["removed_extensions"] == [] and p["changed_extensions"] == [], p
    assert p["would_write"] is True and p["would_reload"] is True and p["reason"], p
    assert p["user_count"] == len(L.extensions_of(portal)), p
    assert p["content_hash"] == portal.client.get("/apply/status").json["current_content_hash"], p
    assert_files(p, lab, differ=True)
    for m in made:
        assert m["sip_credentials"]["password"] not in r.text, "a new user's password is in the preview"

    apply_as_previewed(portal, lab, p)


def test_preview_of_a_deleted_user_matches_the_apply(portal, lab):
    sync(portal, lab)
    victim = L.create_user(portal, "Preview Gone", h.unique_email("preview-gone"))["user"]
    sync(portal, lab)
    assert portal.client.delete(f"/users/{victim['id']}").status in (200, 204)

    p = preview(portal.client).json
    assert p["removed_extensions"] == [victim["extension"]], p
    assert p["added_extensions"] == [] and p["changed_extensions"] == [], p
    assert p["would_write"] is True and p["would_reload"] is True, p
    assert_files(p, lab, differ=True)

    apply_as_previewed(portal, lab, p)
    assert str(victim["extension"]) not in lab.endpoints()


def test_preview_of_a_rotated_password_names_the_aspect_never_the_password(portal, lab):
    made = L.create_user(portal, "Preview Rotate", h.unique_email("preview-rotate"))
    user, old_password = made["user"], made["sip_credentials"]["password"]
    sync(portal, lab)
    r = portal.client.post(f"/users/{user['id']}/sip-credentials:rotate", {})
    assert r.status == 200, r
    new_password = r.json["sip_credentials"]["password"]
    assert new_password != old_password

    r = preview(portal.client)
    p = r.json
    assert p["changed_extensions"] == [{"extension": user["extension"], "aspects": ["password changed"]}], p
    assert p["added_extensions"] == [] and p["removed_extensions"] == [], p
    assert p["would_write"] is True and p["would_reload"] is True, p
    assert_files(p, lab, differ=True)
    assert new_password not in r.text and old_password not in r.text, "a password is in the preview"

    apply_as_previewed(portal, lab, p)
    auths = dict((n, dict(kv)) for n, kv in L.parse_conf(lab.pjsip_file.read_text()))
    assert auths[f"{user['extension']}-auth"]["password"] == new_password, "the Apply did not write the new password"
    reg = lab.register(user["extension"], new_password, tag="preview-rotated")
    assert reg.returncode == 0, reg.explain()


def test_in_sync_preview_would_change_nothing(portal, lab):
    audit = sync(portal, lab)
    p = preview(portal.client).json
    assert p["added_extensions"] == [] and p["removed_extensions"] == [] and p["changed_extensions"] == [], p
    assert p["would_write"] is False and p["would_reload"] is False, p
    assert "change nothing" in p["reason"], p
    assert_files(p, lab, differ=False)
    assert {f["path"]: f["rendered_sha256"] for f in p["files"]} == {f["path"]: f["sha256"] for f in audit["files"]}
    assert p["content_hash"] == audit["content_hash"] and p["user_count"] == audit["user_count"], (p, audit)
    # ... and the Apply that follows indeed changes nothing.
    assert L.apply_ok(portal)["changed"] is False


def test_preview_writes_and_reloads_nothing(portal, lab):
    sync(portal, lab)
    L.create_user(portal, "Preview Pending", h.unique_email("preview-pending"))  # a change an Apply would write
    files, stats = lab.files(), lab.file_stats()
    audit_ids = [e["id"] for e in L.audit_log(portal)]
    status = portal.client.get("/apply/status").json
    live = lab.live()

    with lab.watch_reloads() as w:
        p = preview(portal.client).json
        p2 = preview(portal.client).json
        stats_after, files_after = lab.file_stats(), lab.files()
        stray = lab.stray_files()
        dialplan_reloaded, pjsip_reloads = w.dialplan_reloaded(), w.pjsip_reloads()
    assert p["would_write"] is True and len(p["added_extensions"]) == 1, p
    assert p2 == p, "two previews of the same state differ"
    assert stats_after == stats, f"a preview replaced a file (inode, mtime): {stats} -> {stats_after}"
    assert files_after == files, "a preview changed a file"
    assert not stray, f"a preview left files behind: {stray}"
    assert pjsip_reloads == 0, f"a preview ran {pjsip_reloads} pjsip reload(s) (messages.log)"
    assert not dialplan_reloaded, "a preview reloaded the dialplan (the marker context is gone)"
    assert lab.live() == live
    assert [e["id"] for e in L.audit_log(portal)] == audit_ids, "a preview wrote an audit entry"
    after = portal.client.get("/apply/status").json
    assert after["last_apply"] == status["last_apply"] and after["pending_changes"] is True, after


def test_a_viewer_may_preview_but_not_apply(portal, lab):
    viewer, _ = h.create_api_key(portal.client, "preview-viewer", "viewer")
    assert preview(viewer).json == preview(portal.client).json
    r = viewer.post("/apply", {})
    h.assert_error(r, 403, h.PERMISSION_DENIED)


def test_preview_does_not_wait_for_the_apply_lock(portal, module_portals, lab_session, lab):
    """While another server's Apply holds the lock (stuck connecting to a silent host), a preview answers at once."""
    silent = L.SilentListener()
    try:
        stuck = module_portals.start(portal.db_url, server_env=lab_session.server_env(
            PBX_ASTERISK_SSH_PORT=silent.port, PBX_ASTERISK_CONNECT_TIMEOUT_S=3, PBX_DRIFT_CHECK_INTERVAL_S=0))
        with L.apply_holding_the_lock(stuck, portal, "lock-holder") as holder:
            t0 = time.monotonic()
            p = preview(portal.client).json
            elapsed = time.monotonic() - t0
            holder_row = [e for e in L.audit_log(portal, 5) if e["note"] == "lock-holder"]
    finally:
        silent.close()
    assert holder_row and holder_row[0]["outcome"] == "APPLY_OUTCOME_RUNNING", \
        f"the lock holder finished before the preview answered: {holder_row}"
    assert elapsed < 3, f"the preview took {elapsed:.1f}s while the lock was held"
    assert p["files"] and p["content_hash"], p
    h.assert_error(holder["r"], 503, h.UNAVAILABLE)


def test_preview_with_the_host_unreachable_is_503(portal, module_portals, lab_session, lab):
    cut_off = module_portals.start(portal.db_url, server_env=lab_session.server_env(
        PBX_ASTERISK_SSH_PORT=h.free_port(), PBX_ASTERISK_CONNECT_TIMEOUT_S=3, PBX_DRIFT_CHECK_INTERVAL_S=0))
    audit_ids = [e["id"] for e in L.audit_log(portal)]
    t0 = time.monotonic()
    r = cut_off.client.post("/apply:preview", {})
    elapsed = time.monotonic() - t0
    h.assert_error(r, 503, h.UNAVAILABLE)
    assert elapsed < 10, f"the preview took {elapsed:.1f}s with PBX_ASTERISK_CONNECT_TIMEOUT_S=3"
    assert [e["id"] for e in L.audit_log(portal)] == audit_ids, "a failed preview wrote an audit entry"
