"""API fuzzing: schemathesis against the /openapi.json the real gateway serves, on the real stack.

One portal (server + gateway on a fresh database) whose server applies to the Asterisk lab over SSH; the `lab`
fixture (its lock) is held for the whole run, because POST /apply rewrites the lab's files. Every operation of the
document is fuzzed with a fixed seed (positive, negative and well-formed cases, see EXAMPLES), and every response
must pass schemathesis' checks:

  not_a_server_error           no 5xx
  status_code_conformance      the status is documented
  content_type_conformance     the Content-Type is documented
  response_schema_conformance  the body conforms to the documented schema

Failures are collected (deduplicated per operation, check and status) rather than stopping at the first, so one
run reports them all, each with a curl command that reproduces it. Figures (requests per operation and status,
failures, seed, duration) go to build/reliability/fuzz_api.json and are printed.

Short (tests/run): about 1300 requests in ~20 s. PBX_RELIABILITY_LONG=1: ten times as many (~12000, ~3 min).
PBX_FUZZ_SEED overrides the seed.

A server defect found this way gets a test_regression_<what> test at the end of this file (failing until fixed).
"""

from __future__ import annotations

import collections
import os
import time
import uuid

import pytest

import harness as h
import reliability as R

# deploy/lib/install-deps installs the pinned version; under tests/run (PBX_REPO set) a missing one fails.
schemathesis = pytest.importorskip("schemathesis") if not os.environ.get("PBX_REPO") else __import__("schemathesis")

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402  (after importorskip)
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

SCALE = 10 if R.LONG else 1
SEED = int(os.environ.get("PBX_FUZZ_SEED", "20240601"))

# Hypothesis' caches (no example database: database=None) under build/, not in the work tree.
set_hypothesis_home_dir(str(h.REPO_ROOT / "build" / "hypothesis"))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Every operation the API must have (operationId -> label), so a missing one fails instead of being skipped.
OPERATIONS = {
    "UserService_CreateUser": "POST /users",
    "UserService_ListUsers": "GET /users",
    "UserService_GetUser": "GET /users/{id}",
    "UserService_GetSipCredentials": "GET /users/{id}/sip-credentials",
    "UserService_DeleteUser": "DELETE /users/{id}",
    "UserService_UpdateUser": "PATCH /users/{id}",
    "UserService_RotateSipCredentials": "POST /users/{id}/sip-credentials:rotate",
    "UserService_BatchCreateUsers": "POST /users:batchCreate",
    "RegistrationService_GetRegistration": "GET /users/{id}/registration",
    "RegistrationService_ListRegistrations": "GET /registrations",
    "AuditService_ListAuditEvents": "GET /audit/events",
    "ApplyService_Apply": "POST /apply",
    "ApplyService_ListApplyAudit": "GET /apply/audit",
    "ApplyService_GetApplyStatus": "GET /apply/status",
    "ApplyService_PreviewApply": "POST /apply:preview",
    "ApplyService_GetApplyDrift": "GET /apply/drift",
    "ApiKeyService_CreateApiKey": "POST /api-keys",
    "ApiKeyService_ListApiKeys": "GET /api-keys",
    "ApiKeyService_DeleteApiKey": "DELETE /api-keys/{id}",
}

# Hypothesis examples per operation and mode in one round of the short run (x10 in the long one):
#   positive     schemathesis' cases that conform to the document,
#   negative     cases that violate it (schemathesis cannot negate an operation without inputs),
#   well-formed  bodies that also follow the rules the document cannot state (no unknown fields, a plain email,
#                metadata keys [A-Za-z0-9_.-]), so the successful paths get fuzzed too.
# Hypothesis stops early when an operation's input space is exhausted (GET /users and GET /apply/status have no
# inputs at all), so those two are also called between every other step (`Fuzzer.probe_stateless`), against a
# database the fuzzing keeps changing. POST /apply is slow (~0.6 s: SSH, reload, verification): capped.
EXAMPLES = {
    "UserService_CreateUser": {"positive": 100, "negative": 60, "well-formed": 100},
    "UserService_BatchCreateUsers": {"positive": 20, "negative": 20, "well-formed": 20},
    "UserService_ListUsers": {"positive": 20},
    "UserService_GetUser": {"positive": 50, "negative": 30},
    "UserService_GetSipCredentials": {"positive": 50, "negative": 30},
    "UserService_UpdateUser": {"positive": 40, "negative": 30, "well-formed": 40},
    "UserService_RotateSipCredentials": {"positive": 30, "negative": 20},
    # Each reads the live Asterisk over SSH (~10 ms).
    "RegistrationService_GetRegistration": {"positive": 20, "negative": 20},
    "RegistrationService_ListRegistrations": {"positive": 10},
    "AuditService_ListAuditEvents": {"positive": 30, "negative": 20},
    "ApplyService_Apply": {"positive": 6, "negative": 4, "well-formed": 4},
    "ApplyService_GetApplyStatus": {"positive": 20},
    # Each reads both files (and for drift the live lists) over SSH.
    "ApplyService_PreviewApply": {"positive": 10, "negative": 10},
    "ApplyService_GetApplyDrift": {"positive": 10},
    "ApplyService_ListApplyAudit": {"positive": 40, "negative": 30},
    "ApiKeyService_CreateApiKey": {"positive": 40, "negative": 30, "well-formed": 30},
    "ApiKeyService_ListApiKeys": {"positive": 10},
    # Only ids of users or random ones: the admin key the fuzzer calls with is never revoked.
    "ApiKeyService_DeleteApiKey": {"positive": 30, "negative": 20},
    "UserService_DeleteUser": {"positive": 50, "negative": 30},
}
ORDER = list(EXAMPLES)  # creates first, deletes last: the lookups in between find users
ROUNDS = 2  # the whole sequence twice: the second round sees the users, audit rows and state the first left


def _well_formed_bodies(op_id: str):
    text = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=120)
    local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,40}", fullmatch=True)
    domain = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
    email = st.builds(lambda l, d, n: f"{l}.{n}@{d}.example", local, domain, st.integers(0, 10**9))
    metadata = st.dictionaries(st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True),
                               st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200),
                               max_size=32)
    user = st.fixed_dictionaries({"name": text.filter(lambda s: s.strip()), "email": email},
                                 optional={"metadata": metadata})
    if op_id == "UserService_CreateUser":
        return user
    if op_id == "UserService_UpdateUser":
        # Only the fields that can change, any subset: the gateway makes the mask of them.
        return st.fixed_dictionaries({}, optional={"name": text.filter(lambda s: s.strip()), "email": email,
                                                   "metadata": metadata})
    if op_id == "UserService_BatchCreateUsers":
        return st.fixed_dictionaries({"requests": st.lists(user, min_size=1, max_size=5)},
                                     optional={"validate_only": st.booleans()})
    if op_id == "ApiKeyService_CreateApiKey":
        return st.fixed_dictionaries({"name": text.filter(lambda s: s.strip()),
                                      "role": st.sampled_from(["viewer", "operator", "admin"])})
    if op_id == "ApplyService_Apply":
        return st.fixed_dictionaries({}, optional={"note": st.text(
            st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=200)})
    return None


class Fuzzer:
    def __init__(self, portal, schema):
        import requests

        self.portal = portal
        self.schema = schema
        self.base_url = portal.base_url
        self.session = requests.Session()
        self.requests = collections.Counter()  # label -> requests sent
        self.by_mode: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.failures: dict[tuple, dict] = {}  # (label, failure kind, status) -> first occurrence + count
        self.unsatisfiable: set[str] = set()
        self.user_ids: list[str] = []

    # ------------------------------------------------------------------ one request
    def run_case(self, case, label: str, mode: str):
        self.requests[label] += 1
        self.by_mode[label][mode] += 1
        # Every operation needs a key; with the admin's every operation can be reached. Set on the case: the document
        # declares the bearer scheme, so schemathesis puts an Authorization of its own on every case.
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {self.portal.admin_token}"}
        try:
            response = case.call(base_url=self.base_url, session=self.session, timeout=120)
        except Exception as e:  # noqa: BLE001 - a transport error (a crash, a reset) is a finding too
            self._fail(label, mode, f"transport error: {type(e).__name__}", None, repr(e)[:2000], case)
            return
        self.statuses[label][response.status_code] += 1
        if label == "POST /users" and response.status_code == 201:
            try:
                self.user_ids.append(response.json()["user"]["id"])
            except Exception:  # noqa: BLE001 - the schema check reports a bad body
                pass
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as e:  # FailureGroup (a BaseExceptionGroup) or an error raised by a check
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            kinds = [type(f).__name__ for f in getattr(e, "exceptions", [])] or [type(e).__name__]
            self._fail(label, mode, "+".join(sorted(set(kinds))), response.status_code, str(e), case)

    def _fail(self, label, mode, kind, status, text, case):
        key = (label, kind, status)
        if key in self.failures:
            self.failures[key]["count"] += 1
            return
        try:
            curl = case.as_curl_command()
        except Exception:  # noqa: BLE001
            curl = "?"
        self.failures[key] = {"operation": label, "mode": mode, "kind": kind, "status": status, "count": 1,
                              "detail": text[-3000:], "reproduce": curl}

    # ------------------------------------------------------------------ hypothesis drivers
    def strategy(self, op, op_id: str, mode: str):
        if mode == "well-formed":
            bodies = _well_formed_bodies(op_id)
            if "{id}" in OPERATIONS[op_id] and self.user_ids:
                # A well-formed change of a user that exists (PATCH /users/{id}).
                return st.tuples(bodies, st.sampled_from(list(self.user_ids))).flatmap(
                    lambda pair: op.as_strategy(body=pair[0], path_parameters={"id": pair[1]}))
            return bodies.flatmap(lambda b: op.as_strategy(body=b))
        gen_mode = GenerationMode.NEGATIVE if mode == "negative" else GenerationMode.POSITIVE
        s = op.as_strategy(generation_mode=gen_mode)
        if "{id}" in OPERATIONS[op_id] and mode == "positive" and self.user_ids:
            # Half of the positive cases address users that exist (random UUIDs never do).
            ids = list(self.user_ids)
            s = st.one_of(s, st.sampled_from(ids).flatmap(
                lambda i: op.as_strategy(generation_mode=gen_mode, path_parameters={"id": i})))
        return s

    def fuzz(self, op, op_id: str, mode: str, n: int, round_no: int):
        from hypothesis.errors import Unsatisfiable

        label = OPERATIONS[op_id]
        salt = round_no * 1000 + sorted(OPERATIONS).index(op_id) * 10 + ["positive", "negative",
                                                                            "well-formed"].index(mode)

        @settings(max_examples=n, deadline=None, database=None, derandomize=False, print_blob=False,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @seed(SEED + salt)
        @given(case=self.strategy(op, op_id, mode))
        def run(case):
            self.run_case(case, label, mode)

        try:
            run()
        except Unsatisfiable:  # nothing to negate
            self.unsatisfiable.add(f"{label} {mode}")

    def probe_stateless(self, ops):
        """The input-less operations once more: their responses depend on what the fuzzing did meanwhile."""
        for op_id in ("UserService_ListUsers", "ApplyService_GetApplyStatus"):
            for _ in range(3):
                self.run_case(ops[op_id].Case(), OPERATIONS[op_id], "positive")


def _operations(schema) -> dict:
    ops = {}
    for result in schema.get_all_operations():
        op = result.ok()
        ops[op.definition.raw.get("operationId")] = op
    return ops


def test_fuzz_api(apply_portal, lab, request):
    with R.recording(request, SEED, name="fuzz_api") as rec:
        portal = apply_portal
        started = time.monotonic()
        schema = schemathesis.openapi.from_url(portal.base_url + "/openapi.json", timeout=10)
        ops = _operations(schema)
        missing = sorted(set(OPERATIONS) - set(ops))
        assert not missing, f"/openapi.json lacks operations {missing}; has {sorted(ops)}"
        undocumented = sorted(set(ops) - set(OPERATIONS))

        fz = Fuzzer(portal, schema)
        for round_no in range(ROUNDS):
            for op_id in ORDER:
                for mode, n in EXAMPLES[op_id].items():
                    fz.fuzz(ops[op_id], op_id, mode, n * SCALE, round_no)
                fz.probe_stateless(ops)

        alive = {p.role: p.alive() for p in (portal.server.proc, portal.gateway.proc)}
        duration = time.monotonic() - started
        total = sum(fz.requests.values())
        failures = sorted(fz.failures.values(), key=lambda f: (f["operation"], f["kind"], str(f["status"])))
        figures = rec.figures
        figures.update({
            "schemathesis_version": schemathesis.__version__,
            "checks": [c.__name__ for c in CHECKS],
            "requests_total": total,
            "requests_per_operation": dict(sorted(fz.requests.items())),
            "requests_per_operation_and_mode": {k: dict(sorted(v.items())) for k, v in sorted(fz.by_mode.items())},
            "modes_without_cases": sorted(fz.unsatisfiable),
            "statuses_per_operation": {k: {str(s): n for s, n in sorted(v.items())}
                                       for k, v in sorted(fz.statuses.items())},
            "failures_distinct": len(failures),
            "failures_total": sum(f["count"] for f in failures),
            "failures": failures,
            "undocumented_operations_in_document": undocumented,
            "processes_alive_after": alive,
        })
        for f in failures:
            rec.violation(f"{f['operation']}: {f['kind']} (HTTP {f['status']}, {f['count']}x): {f['reproduce']}")
        if not all(alive.values()):
            rec.violation(f"a process died during fuzzing: {alive}")
        if total < 1000 * SCALE * 0.9:
            rec.violation(f"only {total} requests generated")
        silent = [label for label in OPERATIONS.values() if fz.requests[label] == 0]
        if silent:
            rec.violation(f"operations without a request: {silent}")

        print(f"\nFUZZ api: {total} requests in {duration:.1f} s, seed {SEED}, "
              f"{len(failures)} distinct failures ({figures['failures_total']} requests)")
        for label, n in sorted(fz.requests.items()):
            sts = " ".join(f"{s}x{c}" for s, c in sorted(fz.statuses[label].items()))
            modes = " ".join(f"{m}={c}" for m, c in sorted(fz.by_mode[label].items()))
            print(f"FUZZ   {label:34s} {n:6d} requests  ({modes})  statuses [{sts}]")
        for f in failures:
            print(f"FUZZ FAILURE {f['operation']} {f['kind']} status {f['status']} x{f['count']}\n"
                  f"  reproduce: {f['reproduce']}\n  {f['detail'][:1500]}")

        assert all(alive.values()), f"a process died during fuzzing: {alive}; server stderr:\n" \
                                    f"{portal.server.proc.stderr_tail()}"
        assert not rec.violations, \
            f"{len(rec.violations)} violations (see above and build/reliability/fuzz_api.json):\n" + \
            "\n".join(rec.violations)


# --------------------------------------------------------------------------- regressions found while fuzzing

def test_regression_the_audit_names_the_key_whatever_the_request_says(apply_portal, lab):
    """Found probing POST /apply's inputs: a triggered_by of only spaces was trimmed to "" and recorded as the audit's
    triggered_by, so the audit row named nobody; and whoever called could name anyone (X-Admin-User, triggered_by).
    Now the audit names the API key of the call, and what the request says is at most a note:
        curl -X POST $GATEWAY/apply -H 'Authorization: Bearer ...' -H 'X-Admin-User: bob' -d '{"triggered_by":"   "}'
        -> 200, "audit": {"triggered_by": "admin", "triggered_by_key_id": "...", "note": ""}"""
    r = h_apply(apply_portal, {"triggered_by": "   "}, {"X-Admin-User": "bob"})
    assert r.status == 200, f"POST /apply: {r!r}\n{apply_portal.server.proc.stderr_tail()}"
    audit = r.json["audit"]
    assert audit["triggered_by"] == "admin" and audit["triggered_by_key_id"], audit
    assert audit["note"] == "", audit
    r = h_apply(apply_portal, {"triggered_by": "bob"}, None)
    assert r.status == 200, r
    assert r.json["audit"]["triggered_by"] == "admin" and r.json["audit"]["note"] == "bob", r.json["audit"]


def test_regression_unsupported_method_is_405_not_5xx(portal):
    """Found probing methods the document does not list: the gateway answers a known path with an unsupported method
    with 501 (grpc-gateway's default: routing's MethodNotAllowed -> codes.Unimplemented -> 501), a server error for
    a client mistake, which monitoring counts as an outage:
        curl -X PUT $GATEWAY/users -d '{}'  -> 501 {"code":12,"message":"Method Not Allowed"}
    RFC 9110: a method the server knows but the resource does not support is 405, with an Allow header."""
    for method, path in (("PUT", "/users"), ("PUT", f"/users/{uuid.uuid4()}"), ("GET", "/apply"),
                         ("DELETE", "/apply/status")):
        r = portal.client.call(method, path, {})
        assert r.status == 405, f"{method} {path}: want 405, got {r!r}"
        h.assert_error_shape(r)


def h_apply(portal, body, headers):
    return portal.client.post("/apply", body, headers=headers, timeout=180)
