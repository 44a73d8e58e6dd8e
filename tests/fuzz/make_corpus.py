#!/usr/bin/env python3
"""Writes the seed corpus tests/fuzz/corpus/<harness>/ (committed; rerun after editing).

Inputs are fields separated by "\\|" with "\\\\" for a literal backslash (tests/fuzz/fuzz_input.h):
  fuzz_validation: name, email, user id, Apply note, then metadata key, value, ...
                   (the id doubles as a request id, the note as an update mask: paths split at ",")
  fuzz_render:     number, secret, number, secret, ...; or first "profile:" + an endpoint profile file's text
  fuzz_registrations: the contact listing (`pjsip show aors`), the registrar's records
                   (`database show registrar/contact`)
  fuzz_config_diff: a pjsip file, a dialplan file (as Preview and Drift read them from the host), then
                   the extensions to render (two bytes each: number offset, secret letter)
"""
import json
import pathlib
import shutil

HERE = pathlib.Path(__file__).resolve().parent

UUID = "123e4567-e89b-12d3-a456-426614174000"
SECRET_A = "AAAAbbbbCCCCdddd00001111"  # the golden files' secrets
SECRET_B = "zzzzYYYYxxxxWWWW22223333"
SECRET_C = "Pq7Rs8Tu9Vw0Xy1Za2Bc3De4"
BIG = "x" * 10240


def encode(fields):
    out = b""
    for i, field in enumerate(fields):
        if isinstance(field, str):
            field = field.encode("utf-8", "surrogatepass")
        if i:
            out += b"\\|"
        out += field.replace(b"\\", b"\\\\")
    return out


def user(name="Ada Lovelace", email="ada@example.com", uid=UUID, by="admin@example.com", meta=()):
    fields = [name, email, uid, by]
    for key, value in meta:
        fields += [key, value]
    return encode(fields)


VALIDATION = {
    "plain": user(meta=[("team", "ops")]),
    "update_mask_fields": user(by="name,metadata", meta=[("team", "ops")]),
    "update_mask_star": user(by="*"),
    "update_mask_immutable": user(by="name,extension,id,created_at"),
    "update_mask_repeated_unknown": user(by="email,email,colour,"),
    "request_id_upper": user(uid="6F1C4A52-9E0B-4D4C-8A55-2C1B3F7A9D10", by="email"),
    "trimmed": user(name="  Ada Lovelace \t", email=" ada@example.com ", by="  admin  "),
    "empty": b"",
    "all_empty_fields": user("", "", "", ""),
    "newline_section": user(name="Ada\n[1000](+)\npassword=evil"),
    "cr_section": user(name="Ada\r[1000]"),
    "template_add": user(name="(+)", email="plus+(+)@example.com"),
    "config_syntax_name": user(name="x [1000](+) #include /etc/passwd ; a => b \\; --;"),
    "semicolon": user(name="Ada ; comment", by="me;--"),
    "include": user(name="#include /etc/passwd", by="#exec /bin/sh"),
    "ampersand_quotes": user(name="Tom & \"Jerry\" O'Brien", email="o'brien&co@example.com"),
    "backslash": user(name="C:\\Users\\ada", email="a\\b@example.com"),
    "nul": user(name="Ada\x00Lovelace", uid=UUID + "\x00"),
    "overlong_utf8": user(name=b"\xc0\xaf\xe0\x80\xaf", by=b"\xf0\x80\x80\xaf"),
    "surrogates": user(name=b"Ada \xed\xa0\x80\xed\xb0\x80", by=b"\xed\xbf\xbf"),
    "beyond_max_code_point": user(name=b"\xf4\x90\x80\x80", by=b"\xf5\x80\x80\x80"),
    "truncated_utf8": user(name=b"Ada \xe2\x98", email=b"ada@example.com\xc3"),
    "c1_and_separators": user(name="Ada\u0085", by="x\u2028y\u2029"),
    "nbsp_bom_emoji": user(name="\u00a0Ada\ufeff \U0001F600", by="\u3000admin\u3000"),
    "bidi_override": user(name="Ada \u202eevil"),
    "name_100_code_points": user(name="\u00e9" * 100),
    "name_101_code_points": user(name="\u00e9" * 100 + "e"),
    "name_10k": user(name=BIG),
    "email_10k": user(email=BIG + "@example.com"),
    "email_254": user(email="a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 61])),
    "email_255": user(email="a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 62])),
    "email_local_65": user(email="a" * 65 + "@example.com"),
    "email_label_64": user(email="a@" + "b" * 64 + ".com"),
    "email_odd_forms": user(email="a..b@example.com", uid="{" + UUID + "}", by="a@b"),
    "email_dots": user(email=".a@example.com", by="a.@example.com"),
    "email_hyphens": user(email="a@-example.com", by="a@example-.com"),
    "email_trailing_dot": user(email="a@example.com."),
    "email_two_at": user(email="a@b@example.com"),
    "email_quoted_ip": user(email="\"a b\"@[127.0.0.1]"),
    "email_localhost": user(email="root@localhost"),
    "email_atext": user(email="!#$%&'*+/=?^_`{|}~-@x-1.example.com"),
    "uuid_upper": user(uid=UUID.upper()),
    "uuid_mixed_bad": user(uid="123E4567-E89B-12D3-A456-42661417400G"),
    "uuid_short": user(uid=UUID[:-1], by=" " + UUID),
    "uuid_no_dashes": user(uid=UUID.replace("-", "") + "----"),
    "triggered_by_200": user(by="b" * 200),
    "triggered_by_201": user(by="b" * 201),
    "triggered_by_10k": user(by=BIG),
    "metadata_32": user(meta=[(f"k{i}", f"v{i}") for i in range(32)]),
    "metadata_33": user(meta=[(f"k{i}", "v") for i in range(33)]),
    "metadata_bad_keys": user(meta=[("a b", "x"), ("a/b", "y"), ("", "z"), ("k" * 65, "w")]),
    "metadata_good_key_bad_value": user(meta=[("ok.key-1_2", "line\nbreak"), ("u", b"\xff")]),
    "metadata_value_512": user(meta=[("v", "v" * 512)]),
    "metadata_value_513": user(meta=[("v", "v" * 513)]),
    "metadata_key_64": user(meta=[("k" * 64, "[1000](+)")]),
    "metadata_odd_count": encode(["Ada", "a@example.com", UUID, "", "lonely"]),
}

NAT_PROFILE = ("qualify_frequency = 30\ndtmf_mode = RFC4733\nrewrite_contact = true\nforce_rport = yes\n"
               "rtp_symmetric = yes\nallow = G722, ulaw,alaw\nqualify_timeout = 2.50\ntransport = transport-udp\n")
EVERY_OPTION = ("allow=opus,ulaw\ndirect_media=yes\ndtmf_mode=auto_info\nrtp_symmetric=yes\nforce_rport=no\n"
                "rewrite_contact=yes\nice_support=yes\ntransport=tls\ntimers=required\n100rel=peer_supported\n"
                "max_contacts=10\nremove_existing=no\nqualify_frequency=0\nqualify_timeout=60\n")

RENDER = {
    "golden_three_users": encode(["1005", SECRET_C, "1000", SECRET_A, "1001", SECRET_B]),
    "golden_no_users": b"",
    "one": encode(["1000", SECRET_A]),
    "bounds": encode(["1999", SECRET_B, "1000", SECRET_A]),
    "fifty": encode([x for i in range(50) for x in (str(1000 + 7 * i), SECRET_A[i % 24:] + SECRET_B[: i % 24])]),
    "out_of_range_low": encode(["999", SECRET_A]),
    "out_of_range_high": encode(["2000", SECRET_A]),
    "negative": encode(["-1000", SECRET_A]),
    "zero": encode(["0", SECRET_A]),
    "int_overflow": encode(["2147483648", SECRET_A, "-2147483649", SECRET_B]),
    "int_extremes": encode(["2147483647", SECRET_A, "-2147483648", SECRET_B]),
    "number_forms": encode([" 1000 ", SECRET_A, "+1001", SECRET_B, "01002", SECRET_C]),
    "number_garbage": encode(["1e3", SECRET_A, "0x3e8", SECRET_B, "1000abc", SECRET_C]),
    "duplicate": encode(["1000", SECRET_A, "1000", SECRET_B]),
    "secret_21": encode(["1000", SECRET_A[:21]]),
    "secret_22": encode(["1000", SECRET_A[:22]]),
    "secret_64": encode(["1000", (SECRET_A * 3)[:64]]),
    "secret_65": encode(["1000", (SECRET_A * 3)[:65]]),
    "secret_newline_section": encode(["1000", SECRET_A + "\n[1000](+)\npassword=evil"]),
    "secret_template_add": encode(["1000", SECRET_A + "(+)"]),
    "secret_semicolon": encode(["1000", SECRET_A + ";", "1001", SECRET_B + "\\;"]),
    "secret_block_comment": encode(["1000", SECRET_A + ";--", "1001", "--;" + SECRET_B]),
    "secret_include": encode(["1000", "#include /etc/passwd" + SECRET_A]),
    "secret_ampersand_quotes": encode(["1000", SECRET_A + "&\"'"]),
    "secret_space": encode(["1000", "AAAAbbbb CCCCdddd00001111"]),
    "secret_utf8": encode(["1000", "\u00e9" * 12]),
    "secret_overlong": encode(["1000", b"\xc0\xaf" * 12]),
    "secret_surrogate": encode(["1000", b"\xed\xa0\x80" * 8]),
    "secret_nul": encode(["1000", SECRET_A[:12] + "\x00" + SECRET_A[12:]]),
    "secret_10k": encode(["1000", "A" * 10240]),
    "missing_secret": encode(["1000", SECRET_A, "1001"]),
    "one_bad_among_good": encode(["1000", SECRET_A, "1001", SECRET_B + "=", "1002", SECRET_C]),
    # Endpoint profiles (the first field, "profile:" + the file's text).
    "profile_nat": encode(["profile:" + NAT_PROFILE, "1005", SECRET_C, "1000", SECRET_A, "1001", SECRET_B]),
    "profile_every_option": encode(["profile:" + EVERY_OPTION, "1000", SECRET_A]),
    "profile_empty": encode(["profile:", "1000", SECRET_A]),
    "profile_crlf_comments": encode(["profile:# c\r\n; c\r\n\r\n  rtp_symmetric = TRUE \r\n", "1000", SECRET_A]),
    "profile_unknown_option": encode(["profile:context = evil\n", "1000", SECRET_A]),
    "profile_twice": encode(["profile:rtp_symmetric=yes\nrtp_symmetric=no\n", "1000", SECRET_A]),
    "profile_no_equals": encode(["profile:rtp_symmetric yes\n", "1000", SECRET_A]),
    "profile_disallow": encode(["profile:disallow=all\n", "1000", SECRET_A]),
    "profile_newline_section": encode(["profile:rtp_symmetric = yes\n[1000](+)\npassword=evil\n", "1000", SECRET_A]),
    "profile_hostile_values": encode(["profile:transport = udp;x\nallow = ulaw\r[x]\n"
                                      "dtmf_mode = #include /etc/passwd\nqualify_timeout = 1e3\n"
                                      "allow = ulaw,,alaw\nmax_contacts = 011\n", "1000", SECRET_A]),
    "profile_nul_and_utf8": encode(["profile:transport = a\x00b\nallow = \u00fclaw\n", "1000", SECRET_A]),
    "profile_with_bad_users": encode(["profile:" + NAT_PROFILE, "1000", SECRET_A, "1000", SECRET_B]),
    "profile_oversized": encode(["profile:" + "#" * 70000, "1000", SECRET_A]),
}

# fuzz_registrations: outputs captured from the lab's Asterisk 22, as in tests/unit/registrations_test.cc
# (1000 plain; 1001 qualified and answering; 1002 qualified, not answering; 1003 with a URI longer
# than the column and a hostile user agent; 1004 not registered; 1005 with two phones; "alice" and
# a static contact on "trunk").
SHOW_AORS = r"""
      Aor:  <Aor..............................................>  <MaxContact>
    Contact:  <Aor/ContactUri............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

      Aor:  1000                                                 1
    Contact:  1000/sip:1000@127.0.0.1:40300                76d24826ea NonQual        -nan

      Aor:  1001                                                 1
    Contact:  1001/sip:1001@127.0.0.1:40303                8a6633fe67 Avail      1501.217

      Aor:  1002                                                 1
    Contact:  1002/sip:1002@127.0.0.1:40304                19584b87ec Unavail        -nan

      Aor:  1003                                                 1
    Contact:  1003/sip:1003-with-a-very-long-user-part-abc 4886e36178 NonQual        -nan

      Aor:  1004                                                 1

      Aor:  1005                                                 2
    Contact:  1005/sip:1005@127.0.0.1:40302                770c00763c NonQual        -nan
    Contact:  1005/sip:1005@127.0.0.1:40301                bc22802826 NonQual        -nan

      Aor:  alice                                                1
    Contact:  alice/sip:alice@127.0.0.1:40306              f0e10196c6 NonQual        -nan

      Aor:  trunk                                                0
    Contact:  trunk/sip:trunk@127.0.0.1:5999               5ded09c6e1 NonQual        -nan


Objects found: 8

"""

SHOW_CONTACTS = r"""
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  1000/sip:1000@127.0.0.1:40300                  76d24826ea NonQual        -nan
  Contact:  1001/sip:1001@127.0.0.1:40303                  8a6633fe67 Avail      1501.217
  Contact:  1002/sip:1002@127.0.0.1:40304                  19584b87ec Unavail        -nan
  Contact:  1003/sip:1003-with-a-very-long-user-part-abcde 4886e36178 NonQual        -nan
  Contact:  1005/sip:1005@127.0.0.1:40301                  bc22802826 NonQual        -nan
  Contact:  1005/sip:1005@127.0.0.1:40302                  770c00763c NonQual        -nan
  Contact:  alice/sip:alice@127.0.0.1:40306                f0e10196c6 NonQual        -nan
  Contact:  trunk/sip:trunk@127.0.0.1:5999                 5ded09c6e1 NonQual        -nan

Objects found: 8

"""

CONTACT_RECORDS = r"""/registrar/contact/1000;@76d24826ea1be4a95ff57c496c4ee4c3: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30347@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1000","via_port":"40300","authenticate_qualify":"no","uri":"sip:1000@127.0.0.1:40300","qualify_frequency":"0","user_agent":"bench-phone/1.0 (1000)","expiration_time":"1796063067","outbound_proxy":""}
/registrar/contact/1001;@8a6633fe672b1460cf62eec85bc771a2: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30349@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1001","via_port":"40303","authenticate_qualify":"no","uri":"sip:1001@127.0.0.1:40303","qualify_frequency":"30","user_agent":"bench-phone/1.0 (1001)","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/1002;@19584b87ece07d10fcc33b77f603ace8: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30351@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1002","via_port":"40304","authenticate_qualify":"no","uri":"sip:1002@127.0.0.1:40304","qualify_frequency":"30","user_agent":"bench-phone/1.0 (1002)","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/1003;@4886e36178ec2634b0985106112151e5: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30353@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1003","via_port":"40305","authenticate_qualify":"no","uri":"sip:1003-with-a-very-long-user-part-abcdefghijklmnopqrstuvwxyz@127.0.0.1:40305;transport=udp;x-line=0123456789abcdef","qualify_frequency":"0","user_agent":"Fancy \"Phone\" \\ v2 ünï ; <x> {\"uri\":\"sip:evil\"}","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/1005;@770c00763ce5150a01b28741ef159125: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30357@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1005","via_port":"40302","authenticate_qualify":"no","uri":"sip:1005@127.0.0.1:40302","qualify_frequency":"0","user_agent":"bench-phone/1.0 (1005)","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/1005;@bc228028266c1ca896baf37fd18f6055: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30355@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1005","via_port":"40301","authenticate_qualify":"no","uri":"sip:1005@127.0.0.1:40301","qualify_frequency":"0","user_agent":"bench-phone/1.0 (1005)","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/alice;@f0e10196c6bb6bfcb82c3c4573f9899e: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30359@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"alice","via_port":"40306","authenticate_qualify":"no","uri":"sip:alice@127.0.0.1:40306","qualify_frequency":"0","user_agent":"bench-phone/1.0 (alice)","expiration_time":"1796063068","outbound_proxy":""}
7 results found.
"""

SHOW_AOR1000 = r"""
      Aor:  <Aor..............................................>  <MaxContact>
    Contact:  <Aor/ContactUri............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

      Aor:  1000                                                 1
    Contact:  1000/sip:1000@127.0.0.1:39900                20ea594987 NonQual        -nan


 ParameterName        : ParameterValue
 ===============================================
 authenticate_qualify : false
 contact              : sip:1000@127.0.0.1:39900
 default_expiration   : 3600
 mailboxes            : 
 max_contacts         : 1
 maximum_expiration   : 7200
 minimum_expiration   : 60
 outbound_proxy       : 
 qualify_2xx_only     : false
 qualify_frequency    : 0
 qualify_timeout      : 3.000000
 remove_existing      : true
 remove_unavailable   : false
 support_path         : false
 voicemail_extension  : 

"""

CONTACT_RECORD1000 = r"""/registrar/contact/1000;@20ea594987cbbcd2925d183292f02e65: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"3-13190@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1000","via_port":"39900","authenticate_qualify":"no","uri":"sip:1000@127.0.0.1:39900","qualify_frequency":"0","user_agent":"pbx-bench","expiration_time":"1796063740","outbound_proxy":""}
"""


HASH_1000 = "76d24826ea1be4a95ff57c496c4ee4c3"


def listing_line(aor_uri, hash10=HASH_1000[:10], status="NonQual", rtt="-nan"):
    """A `pjsip show contacts` row (the URI column cut to its width, as Asterisk prints it)."""
    return f"  Contact:  {aor_uri[:46]:<46} {hash10:<10.10} {status:<8} {rtt:>10}\n"


def record_line(aor, contact_hash=HASH_1000, fields=None, raw=None):
    """A `database show registrar/contact` row: a record as JSON, or `raw` after the key."""
    if raw is None:
        fields = {"uri": f"sip:{aor}@127.0.0.1:40300", "user_agent": "bench-phone/1.0",
                  "expiration_time": "1796063067", **(fields or {})}
        raw = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    return f"/registrar/contact/{aor};@{contact_hash}: ".encode() + raw + b"\n"


def registrations(listing, records):
    if isinstance(listing, str):
        listing = listing.encode("utf-8", "surrogatepass")
    if isinstance(records, str):
        records = records.encode("utf-8", "surrogatepass")
    return encode([listing, records])


def one(records, listing=None):
    if listing is None:
        listing = listing_line("1000/sip:1000@127.0.0.1:40300")
    return registrations(listing, records)


def hashes(n):
    """n distinct 32-character contact hashes."""
    return [f"{i:08x}" + "ab" * 12 for i in range(n)]


def contacts(aor, rows, status="NonQual", rtt="-nan"):
    """(listing, records) for one AOR: a listed contact and its record per row of record fields
    (or raw JSON text / bytes), each under its own hash."""
    listing, records = "", b""
    for i, (h, row) in enumerate(zip(hashes(len(rows)), rows)):
        listing += listing_line(f"{aor}/sip:{aor}-{i}@x", h, status, rtt)
        if isinstance(row, dict):
            records += record_line(aor, h, {"uri": f"sip:{aor}-{i}@x", **row})
        else:
            records += record_line(aor, h, raw=row)
    return listing, records


EXPIRIES = ["0", "", " 17 ", "+17", "-5", "+-5", "0x10", "1e9", "0017", "9223372036854775807",
            "9223372036854775808", "99999999999999999999", 1796063067, None]
RTTS = ["-nan", "nan", "NaN", "1501.217", "-1.5", "-0", "inf", "-inf", "1e400", "1e-400", "+2.5",
        "0x1p3", "1.", ".5", "12,5", "0.000000000000000000001"]
BROKEN_JSON = ['{"uri":"sip:1000@127.0.0.1"', '["sip:1000@127.0.0.1"]', '{"user_agent":"no uri"}',
               '{"uri":""}', '{"uri":5060}', '{"uri":null}', '{"uri":"sip:a",}', "{'uri':'sip:a'}",
               '{"uri":"sip:a"} {"uri":"sip:b"}', '{"uri":"sip:a"} trailing', "", "null", '"sip:a"']
BAD_JSON_STRINGS = [r'{"uri":"\ud800"}', r'{"uri":"\udc00\ud800"}', r'{"uri":"\x41"}',
                    r'{"uri":"\u00g0"}', b'{"uri":"\xc0\xaf"}', b'{"uri":"\xed\xa0\x80"}',
                    b'{"uri":"\xf4\x90\x80\x80"}', b'{"uri":"a\xe2\x98"}', b'{"uri":"tab\there"}',
                    b'{"uri":"ok\x7f\xc2\x85"}']
ODD_JSON = [b'\xef\xbb\xbf{"uri":"sip:bom@x"}', b'\xef\xbb{"uri":"sip:half-bom@x"}',
            b'{"uri":"sip:nul@x"}\x00garbage', b'{"uri":"sip:nul@x"\x00}',
            b'\x0b\x0c {"uri":"sip:vt@x"} \x0b\x0c', b'{"uri":"sip:first@x","uri":"sip:last@x"}',
            b'{"uri":"sip:big@x","n":1e400}',
            b'{"uri":"sip:small@x","n":-1e-400,"m":18446744073709551616}',
            b'{"uri":"sip:num@x","n":[-0,0.5e+3,1E-2,true,false,null,{},[],{"a":[{}]}]}',
            b'{"uri":"sip:lead@x","n":01}', b'{"uri":"sip:c@x"/*c*/}',
            b'{"uri":"sip:dot@x","n":1.}',
            b'{"uri":"sip:tru@x","n":tru}', b'{ "uri" : "sip:spaced@x" , "n" : [ 1 , 2 ] }']
HOSTILE_USER_AGENT = ("Fancy \"Phone\" \\ v2 ünï ; <x> {\"uri\":\"sip:evil\"}\n"
                      "/registrar/contact/1001;@" + HASH_1000 + ": {\"uri\":\"sip:evil\"}\r\n"
                      "  Contact:  1001/sip:evil 76d24826ea Avail 1"
                      "\u0000\u2028\U0001F600\ufeff\x7f")
HOSTILE_URI = "sip:1000@127.0.0.1:40300;x=\": \";@1001\\\" Contact:  1001/sip:x 76d24826ea Avail 1"
LISTING_FORMS = (
    "Contact:\t1000/sip:tab@x\t76d24826ea\tAvail\t1.25\r\n"
    "\t Contact: 1000 76d24826ea Avail 2.5\n"
    "Contact: 1000/sip:three-columns 76d24826ea Avail\n"
    "Contact:\n"
    "Contact:1000/sip:glued@x 76d24826ea Avail 4\n"
    "contact: 1000/sip:lower@x 76d24826ea Avail 5\n"
    "Contact: <1000/sip:header@x 76d24826ea Avail 6\n"
    "Contact: 1000/sip:many words in the uri column 76d24826ea Avail 7\n"
    "\x0bContact:\x0b1000/sip:vt@x 76d24826ea Avail 8\n")
RECORD_FORMS = (
    b" " + record_line("1000", fields={"uri": "sip:leading-space@x"})
    + record_line("1000;@" + HASH_1000 + ": x", fields={"uri": "sip:nested-key@x"})
    + b"/registrar/contact/1000;@" + HASH_1000.encode() + b"  : {\"uri\":\"sip:padded@x\"}\n"
    + b"/registrar/contact/1000;@;@" + HASH_1000.encode() + b": {\"uri\":\"sip:two-ats@x\"}\n"
    + b"/Registrar/contact/1000;@" + HASH_1000.encode() + b": {\"uri\":\"sip:case@x\"}\n"
    + b"/registrar/contact/1000: {}\n"
    + b"/registrar/contact/1000;@" + HASH_1000.encode() + b":{\"uri\":\"sip:no-space@x\"}\n")
EDGE_AORS = ["0999", "1000", "1999", "2000", "01000", "10000", "alice", "+999", " 100", "1e03",
             "1000\t", "１０００"]


def many_contacts(n=60):
    listing, records = "", b""
    for i, h in enumerate(hashes(n)):
        aor = str(1000 + (i * 37) % 1000)
        listing += listing_line(f"{aor}/sip:{i}@x", h, "Avail", f"{i}.{i}")
        records += record_line(aor, h, {"uri": f"sip:{(i * 7919) % n}@x"})
    return registrations(listing, records)


REGISTRATIONS = {
    "golden_show_aors": registrations(SHOW_AORS, CONTACT_RECORDS),
    "golden_show_contacts": registrations(SHOW_CONTACTS, CONTACT_RECORDS),
    "golden_show_aor_1000": registrations(SHOW_AOR1000, CONTACT_RECORDS + CONTACT_RECORD1000),
    "nothing_registered": registrations("No objects found.\n", "0 results found.\n"),
    "empty": b"",
    "listing_only": registrations(SHOW_AORS, ""),
    "records_only": registrations("", CONTACT_RECORDS),
    "one": one(record_line("1000")),
    "other_hash": one(record_line("1000"), listing_line("1000/sip:1000@x", HASH_1000[:9] + "b")),
    "edge_aors": registrations("".join(listing_line(f"{a}/sip:{a}@x") for a in EDGE_AORS),
                               b"".join(record_line(a) for a in EDGE_AORS)),
    "broken_records": one(b"".join(record_line("1000", raw=r) for r in BROKEN_JSON)),
    "expiry_forms": registrations(*contacts("1000", [{"expiration_time": e} for e in EXPIRIES])),
    "rtt_forms": registrations(*(lambda rows: (
        "".join(listing_line(f"1000/sip:{i}@x", h, "Avail", r) for i, (h, r) in rows),
        b"".join(record_line("1000", h, {"uri": f"sip:{i}@x"}) for i, (h, _) in rows)))(
        list(enumerate(zip(hashes(len(RTTS)), RTTS))))),
    "hash_lengths": registrations(
        "  Contact:  1000/sip:long@x 76d24826ea1be Avail 1.0\n"
        "  Contact:  1000/sip:short@x 76d24 Avail 1.0\n",
        record_line("1000", "76d24826ea1be", {"uri": "sip:long@x"})
        + record_line("1000", "76d24", {"uri": "sip:short@x"})
        + record_line("1000", "76d2482", {"uri": "sip:shorter@x"})),
    "hash_prefix_shared": one(
        record_line("1000", HASH_1000, {"uri": "sip:b@x"})
        + record_line("1000", HASH_1000[:10] + "ffff", {"uri": "sip:a@x"})
        + record_line("1000", HASH_1000, {"uri": "sip:b@x", "user_agent": "again"})),
    "listing_repeated": registrations(
        listing_line("1000/sip:1000@x", status="Unavail")
        + listing_line("1000/sip:1000@x", status="Avail", rtt="3.5"),
        record_line("1000")),
    "same_uri_two_phones": registrations(*contacts(
        "1005", [{"uri": "sip:1005@x", "user_agent": f"phone {i}"} for i in range(3)])),
    "hostile_user_agent": one(record_line("1000", fields={"user_agent": HOSTILE_USER_AGENT})),
    "hostile_uri": one(record_line("1000", fields={"uri": HOSTILE_URI})),
    "json_escapes": one(record_line("1000", raw=(
        r'{"u\u0072i":"sip:\u00fc\ud83d\ude00\/x@y\t","user_agent":"\u0000\b\f\n\r\"\\",'
        r'"expiration_time":"\u0031\u0037"}'))),
    "json_bad_strings": registrations(*contacts("1000", BAD_JSON_STRINGS)),
    "json_odd_forms": registrations(*contacts("1000", ODD_JSON)),
    "deep_nesting": one(record_line("1000", raw=(
        '{"path":' + "[" * 2500 + "]" * 2500 + ',"uri":"sip:deep@x","x":'
        + '{"a":' * 1500 + "1" + "}" * 1500 + "}"))),
    "deep_nesting_unclosed": one(record_line(
        "1000", raw='{"uri":"sip:deep@x","path":' + '[{"a":' * 2000)),
    "crlf": registrations(SHOW_AORS.replace("\n", "\r\n"), CONTACT_RECORDS.replace("\n", "\r\n")),
    "listing_forms": registrations(LISTING_FORMS, record_line("1000")),
    "record_forms": one(RECORD_FORMS),
    "many_contacts": many_contacts(),
    "nul_bytes": registrations(
        "  Contact:  1000/sip:a\x00b@x 76d24826ea Av\x00ail 1.0\n",
        record_line("1000", fields={"uri": "sip:a\x00b@x", "user_agent": "x\x00y"}) + b"\x00\n"),
    "huge_user_agent": one(record_line("1000", fields={"user_agent": "A" * 12000})),
}


# fuzz_config_diff: the golden files as rendered, and as a person may have edited them on the host.
GOLDEN = HERE.parent / "golden"
PJSIP_3 = (GOLDEN / "three_users.generated_endpoints.conf").read_text()
DIALPLAN_3 = (GOLDEN / "three_users.generated_routing.conf").read_text()
PJSIP_NAT = (GOLDEN / "three_users_nat_profile.generated_endpoints.conf").read_text()
PJSIP_0 = (GOLDEN / "no_users.generated_endpoints.conf").read_text()
DIALPLAN_0 = (GOLDEN / "no_users.generated_routing.conf").read_text()
HANDMADE = ("[1500]\ntype = endpoint\ncontext => synergy-internal\nauth=1500-auth\naors=1500\n"
            "[1500-auth] ; hand-made\ntype=auth\nauth_type=userpass\nusername=1500\npassword=x\n"
            "[1500]\ntype=aor\nmax_contacts=1\n[trunk]\ntype=endpoint\n[2000]\ntype=endpoint\n")
HANDMADE_DIALPLAN = ("[other]\nexten => 1501,1,NoOp()\n[synergy-internal]\ninclude => other\n"
                     "exten => 1500,1,Dial(PJSIP/1500,25)\n same => n,Hangup()\nexten => 9999,1,NoOp()\n")
CONFIG_DIFF = {
    "golden_three_users": encode([PJSIP_3, DIALPLAN_3, b"\x00a\x01b\x02c"]),
    "golden_nat_profile": encode([PJSIP_NAT, DIALPLAN_3, b"\x10z"]),
    "golden_no_users": encode([PJSIP_0, DIALPLAN_0, b""]),
    "edited": encode([PJSIP_3.replace("direct_media=no", "direct_media = yes ; hand")
                      .replace("[1001-auth]", "[trunk]\ntype=endpoint\n[1001-auth]") + "\n[1005]\ntype=endpoint\n",
                      DIALPLAN_3.replace("exten => 1001,", "include => x\nexten => 1001,"), b"\x05\x05"]),
    "handmade": encode([HANDMADE, HANDMADE_DIALPLAN, b"\xff\xff\x00\x00"]),
    "crlf": encode([PJSIP_3.replace("\n", "\r\n"), DIALPLAN_3.replace("\n", "\r\n"), b""]),
    "truncated": encode([PJSIP_3[: len(PJSIP_3) // 2], DIALPLAN_3[:40], b"\x01"]),
    "garbage": encode(["[[[]]]\n=\n[\n]\x00\xff;;;\n[1000\ntype=endpoint", "[synergy-internal\nexten=>\nsame=>", b"\x00"]),
}


def write(harness, seeds):
    out = HERE / "corpus" / harness
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for name, data in seeds.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    write("fuzz_validation", VALIDATION)
    write("fuzz_render", RENDER)
    write("fuzz_registrations", REGISTRATIONS)
    write("fuzz_config_diff", CONFIG_DIFF)
