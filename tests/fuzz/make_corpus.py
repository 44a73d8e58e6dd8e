#!/usr/bin/env python3
"""Writes the seed corpus tests/fuzz/corpus/<harness>/ (committed; rerun after editing).

Inputs are fields separated by "\\|" with "\\\\" for a literal backslash (tests/fuzz/fuzz_input.h):
  fuzz_validation: name, email, user id, Apply note, then metadata key, value, ...
                   (the id doubles as a request id, the note as an update mask: paths split at ",")
  fuzz_render:     number, secret, number, secret, ...
"""
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
