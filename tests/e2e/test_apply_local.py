"""PBX_ASTERISK_TRANSPORT=local: the server writes the files itself and runs the Asterisk CLI as a local program
(here `chroot LAB_ROOT asterisk`), against the same lab."""

from __future__ import annotations

import lab as L


def test_local_transport_applies_and_verifies(portals, new_db, lab):
    portal = portals.start(new_db(), server_env=lab.local_server_env())
    made = L.create_users(portal, 3, "Local")
    log_offset = lab.messages_log_size()
    audit = L.apply_ok(portal, admin="local-admin")
    assert not lab.config_errors_since(log_offset), "Asterisk complained about the generated files"
    assert audit["user_count"] == 3 and audit["note"] == "local-admin", audit

    lab.assert_files_match_audit(audit, local=True)
    lab.assert_file_modes()
    assert not lab.stray_files(), lab.stray_files()
    lab.assert_live([1000, 1001, 1002])

    # The live Asterisk really serves them.
    c = made[2]["sip_credentials"]
    r = lab.register(c["extension"], c["password"], tag="local")
    assert r.returncode == 0, r.explain()
