"""Crash consistency of Apply: the server is killed with SIGKILL at every failpoint of an Apply to the real lab.

For each failpoint (short: once each; PBX_RELIABILITY_LONG=1: five times each, random user changes), on one
database and one chain of server processes:
  1. the lab holds the database's users ("old" files, from a clean Apply of the previous server);
  2. a server started with PBX_FAILPOINT=<name> changes the users and runs POST /apply in the background;
  3. once it logs "failpoint reached" it is killed with SIGKILL;
  4. each target file on the lab's disk is byte-identical to the complete old or the complete new version
     (new = what the next successful Apply of the same users writes), as the failpoint's position implies;
  5. a restarted server (no failpoint) marks the killed Apply's audit row interrupted without any Apply;
  6. its next Apply succeeds, leaves no temporary in either include directory, and the live Asterisk holds exactly
     the database's users.
Figures: build/reliability/test_crash_consistency_at_every_failpoint.json (format: reliability.py).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time

import harness as h
import lab as L
import reliability as R

REPETITIONS = 5 if R.LONG else 1

# Which version each file must be in when the server dies at a failpoint. Both renames run in one command on
# the host, so there is no point between them at which the server can stop.
EXPECTED_FILES = {
    "apply.before_upload": ("old", "old"),
    "apply.during_upload": ("old", "old"),
    "apply.before_renames": ("old", "old"),
    "apply.before_reload": ("new", "new"),
    "apply.between_reloads": ("new", "new"),
    "apply.before_audit_close": ("new", "new"),
}


def classify(now: bytes, old: bytes, new: bytes) -> str:
    if now == old and now == new:
        return "old=new"
    if now == old:
        return "old"
    if now == new:
        return "new"
    return "neither"


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def live_version(lab, old_exts, new_exts) -> str:
    live = lab.live()
    old, new = L.Lab.expected(old_exts), L.Lab.expected(new_exts)
    if live == old:
        return "old"
    if live == new:
        return "new"
    if {k: live[k] for k in ("endpoints", "aors", "auths")} == {k: new[k] for k in ("endpoints", "aors", "auths")} \
            and live["dialplan"] == old["dialplan"]:
        return "mixed"
    return "other"


def change_users(portal, rng: random.Random, round_no: int, short: bool) -> tuple[int, int]:
    """Delete some users and create others so that the rendered files change; returns (deleted, created)."""
    users = portal.client.list_users()
    if short:
        k, m = min(1, len(users)), 2
    else:
        k = rng.randint(0, min(4, len(users)))
        m = rng.randint(1, 5)
        if m == k:
            m += 1  # the number of extensions changes, so both files change
    for u in rng.sample(users, k):
        r = portal.client.delete(f"/users/{u['id']}")
        assert r.status == 200, f"DELETE /users/{u['id']} -> {r!r}"
    for j in range(m):
        L.create_user(portal, f"Crash R{round_no} U{j}", f"crash.r{round_no}.u{j}@example.com",
                      metadata={"round": str(round_no)})
    return k, m


def running_audit_id(portal) -> str:
    running = [e for e in L.audit_log(portal, 10) if e.get("outcome") in ("APPLY_OUTCOME_RUNNING", None, "")]
    assert len(running) == 1, f"want exactly one running audit row while blocked at the failpoint: {running!r}"
    return str(running[0]["id"])


def test_crash_consistency_at_every_failpoint(portals, new_db, lab, request):
    seed = R.seed()
    rng = random.Random(seed)
    with R.recording(request, seed) as rec:
        rec["failpoints"] = list(R.FAILPOINTS)
        rec["repetitions"] = REPETITIONS
        rounds: list[dict] = []
        rec["rounds"] = rounds
        per_fp = {fp: {"kills": 0, "files_old_or_new": 0, "interrupted_marked": 0, "recovered": 0}
                  for fp in R.FAILPOINTS}
        rec["per_failpoint"] = per_fp
        rec["kills_performed"] = 0

        url = new_db()
        current = portals.start(url, server_env=lab.server_env())
        L.create_users(current, 3 if not R.LONG else rng.randint(1, 20), "CrashBase")
        L.apply_ok(current, "crash-base")
        lab.assert_live(L.extensions_of(current), "baseline")

        schedule = [fp for _ in range(REPETITIONS) for fp in R.FAILPOINTS]
        if R.LONG:
            rng.shuffle(schedule)
        for round_no, fp in enumerate(schedule):
            info: dict = {"round": round_no, "failpoint": fp}
            rounds.append(info)
            old_files = lab.files()
            old_exts = L.extensions_of(current)
            assert not lab.stray_files(), f"round {round_no}: stray files before the round: {lab.stray_files()}"

            codes = R.retire(portals, current)
            if any(rc != 0 for rc in codes.values()):
                rec.violation(f"round {round_no}: SIGTERM of the previous portal gave exit codes {codes}")

            # The doomed server: the failpoint is armed only for Apply; user changes work as usual.
            doomed = portals.start(url, server_env=lab.server_env(PBX_FAILPOINT=fp))
            info["users_before"] = len(old_exts)
            info["deleted"], info["created"] = change_users(doomed, rng, round_no, not R.LONG)
            new_exts = L.extensions_of(doomed)
            info["users_after"] = len(new_exts)

            result: dict = {}

            def run_apply():
                try:
                    result["response"] = L.apply(doomed, f"crash-{fp}", timeout=60)
                except Exception as e:  # noqa: BLE001 - the server dies under it
                    result["error"] = repr(e)
            t = threading.Thread(target=run_apply, daemon=True)
            t.start()
            info["reached_after_s"] = round(R.wait_failpoint(doomed, fp, timeout=30), 3)
            audit_id = running_audit_id(doomed)
            info["interrupted_audit_id"] = audit_id

            rc = R.kill9_server(doomed)
            rec["kills_performed"] += 1
            per_fp[fp]["kills"] += 1
            assert rc == -9, f"server exit code {rc} after SIGKILL"

            kill_files = lab.files()
            strays = lab.stray_files()
            info["temporaries_at_kill"] = len(strays)
            not_temp = [s for s in strays if not R.TEMP_RE.match(s.rsplit("/", 1)[1])]
            if not_temp:
                rec.violation(f"round {round_no} ({fp}): non-temporary stray files at kill: {not_temp}")
            info["live_at_kill"] = live_version(lab, old_exts, new_exts)

            t.join(30)
            if t.is_alive():
                rec.violation(f"round {round_no} ({fp}): the killed Apply's client got no answer within 30 s")
                info["killed_apply_http_status"] = None
            else:
                resp = result.get("response")
                info["killed_apply_http_status"] = resp.status if resp is not None else None
                if resp is None:
                    rec.violation(f"round {round_no} ({fp}): the killed Apply's client failed: {result.get('error')}")
                elif resp.status != 503:
                    rec.violation(f"round {round_no} ({fp}): the killed Apply's client got {resp!r}, want 503")
            gw = R.retire(portals, doomed)["gateway"]
            if gw != 0:
                rec.violation(f"round {round_no} ({fp}): gateway exit code {gw} after SIGTERM")

            # Restart without the failpoint: the killed Apply is marked interrupted without any new Apply.
            t0 = time.monotonic()
            current = portals.start(url, server_env=lab.server_env())

            def marked():
                log = L.audit_log(current, 5)
                return log if str(log[0]["id"]) == audit_id and \
                    log[0]["outcome"] == "APPLY_OUTCOME_INTERRUPTED" else None
            try:
                log = h.wait_until(marked, 10, 0.05, f"audit row {audit_id} to be marked interrupted")
                info["interrupted_marked"] = True
                info["interrupted_after_s"] = round(time.monotonic() - t0, 3)
                per_fp[fp]["interrupted_marked"] += 1
                if not log[0].get("error_detail"):
                    rec.violation(f"round {round_no} ({fp}): interrupted audit row without error_detail: {log[0]!r}")
            except AssertionError as e:
                info["interrupted_marked"] = False
                top = L.audit_log(current, 3)
                rec.violation(f"round {round_no} ({fp}): after the restart (no Apply yet) {e}; newest audit rows: "
                              f"{[(x['id'], x['outcome']) for x in top]}")

            # The next Apply succeeds, cleans up, and the lab holds exactly the database's users.
            t1 = time.monotonic()
            audit = L.apply_ok(current, f"crash-recover-{round_no}")
            info["recovery_apply_s"] = round(time.monotonic() - t1, 3)
            new_files = lab.files()
            after_strays = lab.stray_files()
            info["temporaries_after_recovery"] = len(after_strays)
            if after_strays:
                rec.violation(f"round {round_no} ({fp}): temporaries left after the next Apply: {after_strays}")
            db_exts = L.extensions_of(current)
            if db_exts != new_exts:
                rec.violation(f"round {round_no} ({fp}): the users changed across the crash: {new_exts} -> {db_exts}")
            try:
                lab.assert_live(db_exts, f"after the Apply following a kill at {fp}")
                info["live_ok_after_recovery"] = True
                per_fp[fp]["recovered"] += 1
            except AssertionError as e:
                info["live_ok_after_recovery"] = False
                rec.violation(f"round {round_no} ({fp}): {e}")
            try:
                lab.assert_files_match_audit(audit)
            except AssertionError as e:
                rec.violation(f"round {round_no} ({fp}): {e}")

            # Every file at the kill was one complete version, the one the failpoint's position implies.
            states = tuple(classify(k, o, n) for k, o, n in zip(kill_files, old_files, new_files))
            info["files_at_kill"] = {"pjsip": states[0], "dialplan": states[1]}
            want = EXPECTED_FILES[fp]
            info["expected_files"] = {"pjsip": want[0], "dialplan": want[1]}
            info["sha256"] = {"old_pjsip": sha(old_files[0]), "old_dialplan": sha(old_files[1]),
                              "new_pjsip": sha(new_files[0]), "new_dialplan": sha(new_files[1]),
                              "kill_pjsip": sha(kill_files[0]), "kill_dialplan": sha(kill_files[1])}
            if "neither" in states:
                rec.violation(f"round {round_no} ({fp}): a file at the kill is neither the old nor the new version: "
                              f"pjsip={states[0]} dialplan={states[1]}")
            else:
                per_fp[fp]["files_old_or_new"] += 1
                for name, got, exp in zip(("pjsip", "dialplan"), states, want):
                    if got not in (exp, "old=new"):
                        rec.violation(f"round {round_no} ({fp}): {name} file is the {got} version at the kill, "
                                      f"want {exp}")
            for name, (a, b) in zip(("pjsip", "dialplan"), zip(old_files, new_files)):
                if a == b and not R.LONG:
                    rec.violation(f"round {round_no} ({fp}): the user change did not change the {name} file")
        rec.assert_no_violations()
