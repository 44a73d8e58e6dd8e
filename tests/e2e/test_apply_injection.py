"""Hostile names, e-mails and metadata that validation allows never reach the generated files, and the live
Asterisk holds exactly the database's objects after Apply (FR-014, SC-004, SC-006)."""

from __future__ import annotations

import harness as h
import lab as L

HOSTILE_NAMES = [
    "x;y",
    "[section]",
    "[1000](+)",
    "(+)",
    '#include "/etc/passwd"',
    "#exec /bin/sh -c reboot",
    "&PJSIP/1000",
    "Dial(PJSIP/1001&PJSIP/1002,25)",
    "exten => 1999,1,Dial(PJSIP/1000)",
    "type=friend",
    '"double" \'single\' `back`',
    "${SHELL} $(id) \\ backslash",
    "Zoë Ünïcødé 日本語 🎉 العربية",
    "\u200bzero-width space and \u200fRTL mark",
    "password=hunter2;comment",
]

HOSTILE_EMAILS = [
    "x&y@example.com",
    "#include@example.com",
    "{section}@example.com",
    "o'hara@example.com",
    "a=b+c@example.com",
    "pipe|tilde~@example.com",
    "bang!hash#@example.com",
]

# Keys are limited to [A-Za-z0-9_.-]; distinctive ones, so that finding them in a file means a leak.
HOSTILE_METADATA = {
    "hostile.note": "[1000](+)",
    "hostile.directive": '#include "/etc/passwd"',
    "hostile.dial": "exten => _X.,1,Dial(PJSIP/1000&PJSIP/1001)",
    "hostile.semi": "value;comment",
    "hostile.quotes": "\"'`",
    "hostile.unicode": "ü日本🎉",
    "hostile.shell": "$(reboot); `id`",
}


def test_hostile_input_never_reaches_the_files(apply_portal, lab):
    made = []
    for i, name in enumerate(HOSTILE_NAMES):
        email = HOSTILE_EMAILS[i] if i < len(HOSTILE_EMAILS) else f"hostile.{i}@example.com"
        made.append(L.create_user(apply_portal, name, email, metadata=HOSTILE_METADATA))
    stored = apply_portal.client.list_users()
    assert sorted(u["name"] for u in stored) == sorted(HOSTILE_NAMES), "names were altered on the way in"

    log_offset = lab.messages_log_size()
    audit = L.apply_ok(apply_portal)
    assert not lab.config_errors_since(log_offset), "Asterisk complained about the generated files"
    exts = L.extensions_of(apply_portal)
    assert len(exts) == len(HOSTILE_NAMES) and audit["user_count"] == len(exts)
    lab.assert_live(exts, "after applying hostile users")

    pjsip, dialplan = (x.decode("utf-8") for x in lab.files())
    typed = [u["name"] for u in stored] + [u["email"] for u in stored] \
        + list(HOSTILE_METADATA.values()) + list(HOSTILE_METADATA)
    for text, what in ((pjsip, L.PJSIP_PATH), (dialplan, L.DIALPLAN_PATH)):
        leaked = [s for s in typed if s in text]
        assert not leaked, f"{what} contains user-typed strings: {leaked!r}"
        assert text.isascii(), f"{what} contains non-ASCII text"
        assert "#" not in text and "(+)" not in text and "&" not in text, f"{what}: a directive or injection"
        L.parse_conf(text)  # every line is a section, a comment or key=value
    # Only the portal's own sections and lines.
    names = [n for n, _ in L.parse_conf(pjsip)]
    want = []
    for e in exts:
        want += [str(e), f"{e}-auth", str(e)]
    assert names == want, f"unexpected sections in the pjsip file: {names}"
    assert [n for n, _ in L.parse_conf(dialplan)] == ["synergy-internal"]


def test_line_breaks_are_rejected_at_creation(apply_portal, lab):
    r0 = L.create_user(apply_portal, "Plain", "plain@example.com")
    assert r0["user"]["extension"] == 1000
    bad_names = ["evil\n[1001]\ntype=endpoint", "evil\r#include /etc/passwd", "a\u2028b", "a\u2029b",
                 "tab\there", "nul\x00byte", "del\x7f", "c1\x85next-line",
                 "\u202eRTL override", "\ufeffbyte-order mark", "isolate\u2066x\u2069"]
    for i, name in enumerate(bad_names):
        r = apply_portal.client.create_user(name, f"bad.{i}@example.com")
        h.assert_error(r, 400, h.INVALID_ARGUMENT, fields=["name"])
    for i, value in enumerate(["line\nbreak", "[x](+)\r\n#include x", "a\u2028b"]):
        r = apply_portal.client.create_user(f"Meta {i}", f"meta.{i}@example.com", metadata={"k": value})
        h.assert_error(r, 400, h.INVALID_ARGUMENT, fields=["metadata"])
    r = apply_portal.client.create_user("Mail", "evil\n@example.com")
    h.assert_error(r, 400, h.INVALID_ARGUMENT, fields=["email"])
    assert L.extensions_of(apply_portal) == [1000], "a rejected user was stored"
    L.apply_ok(apply_portal)
    lab.assert_live([1000])
