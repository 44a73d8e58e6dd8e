# shellcheck shell=bash disable=SC2034 # (passed and failed are read by the scripts that source this file)
# Shared by the scripts that run tests against real services (tests/run, tests/sanitize/run,
# tests/reliability/report, tests/bench). Source it; do not execute it. It sources deploy/lib/common.sh.
#
# The services the tests talk to:
#   start_test_pg DATADIR                a fresh private PostgreSQL, exported as PBX_TEST_PG_*
#   start_test_lab DIR SIP SSH [--share] the Asterisk lab, exported as PBX_LAB_*, PBX_ASTERISK_*, PBX_TEST_SIP_PORT
#   start_test_lab_b DIR SIP SSH FROM [--share]  a second lab (root copied from FROM's), exported as PBX_TEST_LAB_B_*
#   stop_test_stack                      stops what those started, and nothing else
#   cleanup_on_exit FUNCTION             runs FUNCTION (e.g. stop_test_stack) however the script ends
#   export_test_paths SERVER GATEWAY     where the tests find the repository, the build and the binaries
# Counting results ("N passed, M failed", the last line of tests/run and tests/sanitize/run):
#   passed, failed                       the totals
#   add_counts NAME PASSED FAILED RC     adds one step's counts
#   run_check NAME LOGFILE CMD...        a check that passes or fails as a whole (from the repository root)
#   run_ctest BUILD_DIR LOGFILE          ctest over a CMake tree, test by test
#   run_pytest LOGFILE PYTEST_ARGS...    pytest from the repository root, test by test
#   summary_and_exit                     prints the totals and exits (1 when anything failed)

if [[ -n "${PBX_TESTING_SH_LOADED:-}" ]]; then
    return 0
fi
PBX_TESTING_SH_LOADED=1

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../deploy/lib/common.sh"

BUILT_SERVER_BIN="$BUILD/cmake/server/pbx-server"
BUILT_GATEWAY_BIN="$BUILD/bin/pbx-gateway"

# ---------------------------------------------------------------- PostgreSQL and the Asterisk lab
# What this script started: stop_test_stack stops these and never a cluster or lab it was handed or found running.
STARTED_PG_DIR=""
STARTED_LAB_DIR=""
STARTED_LAB_B_DIR=""

# start_test_pg DATADIR: a fresh private PostgreSQL (deploy/lib/pg; a leftover of an interrupted run in DATADIR is
# stopped and deleted) on a free loopback port, exported to the tests as PBX_TEST_PG_HOST=127.0.0.1,
# PBX_TEST_PG_PORT and PBX_TEST_PG_USER=postgres (superuser, trust auth; the tests create their own databases).
start_test_pg() {
    local datadir="$1" port
    "$LIB/pg" stop "$datadir"
    rm -rf "$datadir"
    port="$(free_port)"
    STARTED_PG_DIR="$datadir"
    "$LIB/pg" start "$datadir" "$port"
    export PBX_TEST_PG_HOST=127.0.0.1 PBX_TEST_PG_PORT="$port" PBX_TEST_PG_USER=postgres
}

# start_test_lab DIR SIP_PORT SSH_PORT [--share]: the Asterisk lab (deploy/lib/asterisk-lab up) in DIR, SIP on
# udp 127.0.0.1:SIP_PORT and SSH on 127.0.0.1:SSH_PORT, exported to the tests: PBX_LAB_DIR, PBX_LAB_SIP_PORT,
# PBX_LAB_SSH_PORT, `asterisk-lab ssh-config` (PBX_ASTERISK_SSH_*, PBX_ASTERISK_ROOT) and PBX_TEST_SIP_PORT.
# stop_test_stack takes it down again. With --share, a lab already running in DIR (a concurrent tests/run's) is
# reused and left running; the e2e `lab` fixture's lock keeps the Applies of the two runs apart.
start_test_lab() {
    local dir="$1" sip_port="$2" ssh_port="$3" share="${4:-}"
    export PBX_LAB_DIR="$dir" PBX_LAB_SIP_PORT="$sip_port" PBX_LAB_SSH_PORT="$ssh_port"
    if [[ "$share" != --share ]] || ! "$LIB/asterisk-lab" status >/dev/null 2>&1; then
        STARTED_LAB_DIR="$dir"
    fi
    "$LIB/asterisk-lab" up
    eval "$("$LIB/asterisk-lab" ssh-config)"
    export PBX_TEST_SIP_PORT="$PBX_LAB_SIP_PORT"
}

# start_test_lab_b DIR SIP_PORT SSH_PORT FROM_DIR [--share]: a second Asterisk lab, for the tests of several Asterisk
# hosts, in DIR with SIP on udp 127.0.0.1:SIP_PORT and SSH on 127.0.0.1:SSH_PORT. A missing or outdated root is
# copied from the lab in FROM_DIR (asterisk-lab's PBX_LAB_ROOT_FROM: seconds, where a second mmdebstrap takes
# minutes). Exported to the tests under a prefix of its own, so PBX_LAB_* and PBX_ASTERISK_* keep naming the first
# lab: PBX_TEST_LAB_B_DIR, PBX_TEST_LAB_B_SIP_PORT, and its `asterisk-lab ssh-config` as PBX_TEST_LAB_B_SSH_HOST,
# _SSH_PORT, _SSH_USER, _SSH_KEY, _SSH_KNOWN_HOSTS, _PROGRAM, _FILE_GROUP and _ROOT. stop_test_stack takes it down
# again; --share as for start_test_lab (the e2e `lab_b` fixture's lock keeps the Applies of two runs apart).
start_test_lab_b() {
    local dir="$1" sip_port="$2" ssh_port="$3" from="$4" share="${5:-}" config line
    # Given to each call, never exported: the environment's PBX_LAB_* are the first lab's (PBX_LAB_ROOT too, when
    # a caller set it).
    local lab_env=(PBX_LAB_DIR="$dir" PBX_LAB_ROOT="$dir/root" PBX_LAB_SIP_PORT="$sip_port"
        PBX_LAB_SSH_PORT="$ssh_port")
    if [[ "$share" != --share ]] || ! env "${lab_env[@]}" "$LIB/asterisk-lab" status >/dev/null 2>&1; then
        STARTED_LAB_B_DIR="$dir"
    fi
    env "${lab_env[@]}" PBX_LAB_ROOT_FROM="$from" "$LIB/asterisk-lab" up
    config="$(env "${lab_env[@]}" "$LIB/asterisk-lab" ssh-config)"
    export PBX_TEST_LAB_B_DIR="$dir" PBX_TEST_LAB_B_SIP_PORT="$sip_port"
    # "export PBX_ASTERISK_SSH_PORT=2233" -> PBX_TEST_LAB_B_SSH_PORT=2233
    while IFS= read -r line; do
        if [[ "$line" =~ ^export\ PBX_ASTERISK_([A-Z_]+)=(.*)$ ]]; then
            export "PBX_TEST_LAB_B_${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
        fi
    done <<<"$config"
}

# stop_test_stack: takes down the labs and stops the PostgreSQL cluster this script started; a second call does
# nothing.
stop_test_stack() {
    if [[ -n "$STARTED_LAB_B_DIR" ]]; then
        PBX_LAB_DIR="$STARTED_LAB_B_DIR" PBX_LAB_ROOT="$STARTED_LAB_B_DIR/root" "$LIB/asterisk-lab" down || true
    fi
    if [[ -n "$STARTED_LAB_DIR" ]]; then PBX_LAB_DIR="$STARTED_LAB_DIR" "$LIB/asterisk-lab" down || true; fi
    if [[ -n "$STARTED_PG_DIR" ]]; then "$LIB/pg" stop "$STARTED_PG_DIR" || true; fi
    STARTED_LAB_B_DIR=""
    STARTED_LAB_DIR=""
    STARTED_PG_DIR=""
}

# cleanup_on_exit FUNCTION: runs FUNCTION when the script exits, also after Ctrl-C or SIGTERM (then exiting
# 130 or 143, like a shell killed by them).
cleanup_on_exit() {
    # shellcheck disable=SC2064 # the function name is fixed now
    trap "$1" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# export_test_paths SERVER_BIN GATEWAY_BIN: for the tests that start the binaries themselves (grpcurl: an exported
# PBX_GRPCURL, else the one deploy/lib/install-deps built).
export_test_paths() {
    export PBX_REPO="$REPO" PBX_BUILD_DIR="$BUILD"
    export PBX_SERVER_BIN="$1" PBX_GATEWAY_BIN="$2" PBX_GRPCURL="${PBX_GRPCURL:-$GRPCURL}"
}

# ---------------------------------------------------------------- counting results
passed=0
failed=0

# summary_and_exit: the last line, "N passed, M failed"; exit status 1 when anything failed.
summary_and_exit() {
    printf '%d passed, %d failed\n' "$passed" "$failed"
    if ((failed > 0)); then exit 1; fi
    exit 0
}

# add_counts NAME PASSED FAILED EXIT_STATUS: adds one step's counts to the totals and logs them. A step that
# exited non-zero without counting a failure (it crashed, did not build, printed no summary) counts as 1 failed.
add_counts() {
    local name="$1" n_passed="$2" n_failed="$3" rc="$4"
    if ((rc != 0 && n_failed == 0)); then n_failed=1; fi
    passed=$((passed + n_passed))
    failed=$((failed + n_failed))
    log "$name: $n_passed passed, $n_failed failed (exit $rc)"
}

# run_check NAME LOGFILE CMD [ARGS...]: a check that passes or fails as a whole (1 passed or 1 failed), run
# from the repository root; its output goes to the terminal and LOGFILE.
run_check() {
    local name="$1" logf="$2" rc=0
    shift 2
    log "$name: $*"
    (cd "$REPO" && "$@") 2>&1 | tee "$logf" || rc=$?
    add_counts "$name" $((rc == 0)) $((rc != 0)) "$rc"
}

# run_ctest BUILD_DIR LOGFILE: ctest over the CMake tree BUILD_DIR (PBX_CTEST_JOBS tests at a time,
# PBX_CTEST_TIMEOUT_S=300 each), output to the terminal and LOGFILE; every test counts.
run_ctest() {
    local build_dir="$1" logf="$2" rc=0 summary n_failed=0 n_total=0 args
    args=(--test-dir "$build_dir" --output-on-failure --timeout "${PBX_CTEST_TIMEOUT_S:-300}")
    if [[ -n "${PBX_CTEST_JOBS:-}" ]]; then args+=(--parallel "$PBX_CTEST_JOBS"); fi
    log "ctest ${args[*]}"
    ctest "${args[@]}" 2>&1 | tee "$logf" || rc=$?
    # "100% tests passed, 0 tests failed out of 12"  /  "No tests were found!!!"
    summary="$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$logf" | tail -n 1 || true)"
    if [[ -n "$summary" ]]; then
        n_failed="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")"
        n_total="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")"
    fi
    add_counts ctest $((n_total - n_failed)) "$n_failed" "$rc"
}

# run_pytest LOGFILE [PYTEST_ARGS...]: python3 -m pytest -q PYTEST_ARGS from the repository root, output to the
# terminal and LOGFILE; every test counts (an error as failed). No test collected (exit 5) is no failure.
run_pytest() {
    local logf="$1" rc=0 summary n_failed
    shift
    (cd "$REPO" && python3 -m pytest -q "$@") 2>&1 | tee "$logf" || rc=$?
    # The last summary line, e.g. "3 failed, 40 passed, 2 skipped, 1 error in 12.3s" or "no tests ran in 0.01s".
    summary="$(grep -E '([0-9]+ (passed|failed|skipped|errors?|deselected|xfailed|xpassed))|no tests ran' \
        "$logf" | tail -n 1 || true)"
    n_failed=$(($(pytest_count "$summary" failed) + $(pytest_count "$summary" 'errors?')))
    if ((rc == 5)); then
        log "pytest: no tests collected (exit 5)"
        rc=0
    fi
    add_counts pytest "$(pytest_count "$summary" passed)" "$n_failed" "$rc"
}

# pytest_count SUMMARY WORD: the number before WORD (a regular expression) in pytest's SUMMARY line; 0 when absent.
pytest_count() {
    local n
    n="$(grep -oE "[0-9]+ $2" <<<"$1" | head -n 1 | grep -oE '^[0-9]+' || true)"
    printf '%s\n' "${n:-0}"
}
