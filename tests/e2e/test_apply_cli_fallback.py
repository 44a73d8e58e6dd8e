"""Apply on an Asterisk host without the `pjsip reload` CLI alias (it comes from cli_aliases.conf's
[friendly] template, which some hosts lack): the portal falls back to `module reload res_pjsip.so`."""

from __future__ import annotations

import lab as L


def test_apply_without_the_pjsip_reload_alias(apply_portal, lab):
    aliases = lab.root / "etc/asterisk/cli_aliases.conf"
    original = aliases.read_bytes()
    try:
        stripped = b"\n".join(line for line in original.split(b"\n") if not line.startswith(b"pjsip reload="))
        assert stripped != original, "the lab's cli_aliases.conf has no pjsip reload alias to remove"
        aliases.write_bytes(stripped)
        lab.cli("module reload res_clialiases.so")
        assert "No such command" in lab.cli("pjsip reload"), "the alias is still there"

        L.create_user(apply_portal, "No Alias", "no.alias@example.com")
        audit = L.apply_ok(apply_portal)
        assert "No such command" in audit["reload_output"], audit["reload_output"]
        assert "res_pjsip.so" in audit["reload_output"] and "Dialplan reloaded" in audit["reload_output"]
        assert audit["verification"].startswith("ok"), audit
        lab.assert_live([1000], "after an Apply through the fallback")
    finally:
        aliases.write_bytes(original)
        lab.cli("module reload res_clialiases.so")
    assert "No such command" not in lab.cli("pjsip reload"), "the alias was not restored"
