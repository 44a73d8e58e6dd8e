"""Issue #9 item 10: the user list answers for every state the validation allows.

A full pool of users with every field at its limit is about 19.5 MB in protobuf, far over gRPC's default 4 MiB
receive limit; GET /users answered 409 "grpc: received message larger than max" from 260 such users on. The gateway
now accepts 64 MiB from the server, and a RESOURCE_EXHAUSTED that is not the pool's is never a 409."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import harness as h
from test_grpc import grpcurl

# The validation limits (server/core/validation.h).
MAX_NAME_CHARS = 100
MAX_EMAIL_CHARS = 254
MAX_EMAIL_LOCAL_CHARS = 64
MAX_METADATA_ENTRIES = 32
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_BYTES = 512

POOL_SIZE = h.POOL_LAST - h.POOL_FIRST + 1
# What the README tells grpcurl users to pass (the gateway's limit): grpcurl's default is 4 MiB too.
GRPCURL_MAX_MSG_SZ = str(64 << 20)
# Labels of at most 63 characters making up the longest domain that leaves a 64-character local part.
LONGEST_DOMAIN = ".".join(["a" * 63, "b" * 63, "c" * 57, "com"])


def maximal_user(i: int) -> dict:
    """User number i with every field at its limit: 100 code points of name, most of them 4-byte UTF-8; a 254-character
    email; 32 metadata entries of a 64-character key and a 512-byte value."""
    name = f"{i:04d} " + "\U0001F600" * (MAX_NAME_CHARS - 5)
    local = f"u{i:04d}".ljust(MAX_EMAIL_LOCAL_CHARS, "x")
    email = f"{local}@{LONGEST_DOMAIN}"
    metadata = {f"k{j:02d}".ljust(MAX_METADATA_KEY_CHARS, "_"): f"{i:04d}-{j:02d}-".ljust(MAX_METADATA_VALUE_BYTES, "v")
                for j in range(MAX_METADATA_ENTRIES)}
    assert len(name) == MAX_NAME_CHARS and len(email) == MAX_EMAIL_CHARS
    return {"name": name, "email": email, "metadata": metadata}


def create_maximal_users(client: h.Client, n: int, workers: int = 8) -> list[h.Response]:
    def one(i):
        u = maximal_user(i)
        return client.create_user(u["name"], u["email"], u["metadata"], timeout=30)

    with ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(one, range(n)))


@pytest.mark.slow
def test_full_pool_of_maximal_users_lists_completely(portal, capsys):
    started = time.monotonic()
    created = create_maximal_users(portal.client, POOL_SIZE)
    bad = [r for r in created if r.status != 201]
    assert not bad, f"{len(bad)} creates failed, first: {bad[0]!r}"
    created_s = time.monotonic() - started

    listed_at = time.monotonic()
    r = portal.get("/users", timeout=60)
    listed_s = time.monotonic() - listed_at
    assert r.status == 200, r
    users = r.json
    assert isinstance(users, list) and len(users) == POOL_SIZE, f"{len(users)} users listed"
    assert [u["extension"] for u in users] == list(range(h.POOL_FIRST, h.POOL_LAST + 1))
    want = {c.json["user"]["id"]: maximal_user(i) for i, c in enumerate(created)}
    for u in users:
        w = want[u["id"]]
        assert (u["name"], u["email"], u["metadata"]) == (w["name"], w["email"], w["metadata"]), u["id"]
    with capsys.disabled():  # a figure, never asserted
        print(f"\nBENCHMARK list-limits: {POOL_SIZE} maximal users created in {created_s:.1f} s (8 clients); "
              f"GET /users: {len(r.raw)} bytes in {listed_s:.2f} s")

    # The pool is full: the next create is the caller's conflict, marked by the server's ErrorInfo.
    full = portal.create_user(**maximal_user(POOL_SIZE))
    h.assert_error(full, 409, h.RESOURCE_EXHAUSTED)
    reasons = [d.get("reason") for d in full.json["details"] if d.get("@type", "").endswith("google.rpc.ErrorInfo")]
    assert reasons == ["EXTENSION_POOL_EXHAUSTED"], full

    # grpcurl lists them too, with the -max-msg-sz the README documents.
    g = grpcurl("-plaintext", "-max-time", "60", "-max-msg-sz", GRPCURL_MAX_MSG_SZ, portal.grpc_addr,
                "pbx.v1.UserService/ListUsers", token=portal.admin_token, timeout=120)
    assert g.returncode == 0, g.stderr
    assert len(json.loads(g.stdout)["users"]) == POOL_SIZE
