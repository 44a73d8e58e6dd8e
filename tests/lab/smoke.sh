#!/usr/bin/env bash
# Smoke test of the Asterisk lab (deploy/lib/asterisk-lab), driven the way the portal drives it: over SSH as the
# portal's unprivileged account (pbxportal) with the lab's key and known_hosts only, the CLI as PBX_ASTERISK_PROGRAM.
#   1. asterisk-lab up
#   2. uploads endpoint 1000 (endpoint + auth userpass + aor max_contacts=1, remove_existing=yes, context
#      synergy-internal) and `exten => 1000,1,Dial(PJSIP/1000,25)`; runs 'pjsip reload' and 'dialplan reload'
#   3. checks the live state (pjsip show endpoints, dialplan show synergy-internal)
#   4. registers 1000 with sipp (tests/lab/register.xml): right password -> exit 0, wrong one -> non-zero
#   5. puts the generated files back as they were, reloads, checks 1000 is gone
# Prints one PASS/FAIL line per check and a final PASS or FAIL (exit status 0 or 1).
# The lab is left running when it was running before, else stopped again (PBX_LAB_KEEP=1 keeps it up).
# Environment: the lab's (PBX_LAB_DIR, PBX_LAB_SIP_PORT, PBX_LAB_SSH_PORT, ...).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=deploy/lib/common.sh
source "$HERE/../../deploy/lib/common.sh"
LAB="$LIB/asterisk-lab"
SIP_PORT="${PBX_LAB_SIP_PORT:-5060}"
EP_FILE=/etc/asterisk/pjsip.d/synergycall/generated_endpoints.conf
DP_FILE=/etc/asterisk/extensions.d/synergycall/generated_routing.conf

have sipp || die "sipp not found (Debian package sip-tester; deploy/lib/install-deps installs it)"

failures=0
check() { # check DESCRIPTION CMD...: run CMD, print PASS/FAIL
    local desc="$1"
    shift
    if "$@"; then
        printf 'PASS  %s\n' "$desc"
    else
        printf 'FAIL  %s\n' "$desc"
        failures=$((failures + 1))
    fi
}

was_running=0
if "$LAB" status >/dev/null 2>&1; then was_running=1; fi
"$LAB" up
eval "$("$LAB" ssh-config)"

WORK="$(mktemp -d)"
SAVED=0
cleanup() {
    local rc=$?
    if ((SAVED)); then
        # Put the generated files back as they were (the placeholders, normally) and reload.
        if ! { lab_put "$EP_FILE" <"$WORK/endpoints.orig" && lab_put "$DP_FILE" <"$WORK/routing.orig" &&
            ast 'pjsip reload' >/dev/null && ast 'dialplan reload' >/dev/null; }; then
            warn "could not restore $EP_FILE / $DP_FILE in the lab"
        fi
    fi
    rm -rf "$WORK"
    if ((!was_running)) && [[ "${PBX_LAB_KEEP:-0}" != 1 ]]; then "$LAB" down || true; fi
    exit "$rc"
}
trap cleanup EXIT

lab_ssh() {
    ssh -i "$PBX_ASTERISK_SSH_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$PBX_ASTERISK_SSH_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
        -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -o LogLevel=ERROR \
        -p "$PBX_ASTERISK_SSH_PORT" "$PBX_ASTERISK_SSH_USER@$PBX_ASTERISK_SSH_HOST" "$@"
}
# lab_put PATH < content: write a file in the lab atomically (temp name that *.conf does not match, then mv), with
# the group and mode the portal gives it.
lab_put() {
    local t="$1.upload.tmp"
    lab_ssh "set -e; cat > '$t'; chgrp -- '$PBX_ASTERISK_FILE_GROUP' '$t'; chmod 0640 '$t'; mv -f -- '$t' '$1'"
}
ast() { lab_ssh "$PBX_ASTERISK_PROGRAM -rx '$1'"; }

# ---------------------------------------------------------------- write + reload
lab_ssh "cat $EP_FILE" >"$WORK/endpoints.orig"
lab_ssh "cat $DP_FILE" >"$WORK/routing.orig"
SAVED=1

PASSWORD="$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
lab_put "$EP_FILE" <<EOF
; written by tests/lab/smoke.sh
[1000]
type=endpoint
context=synergy-internal
disallow=all
allow=ulaw,alaw
auth=1000
aors=1000

[1000]
type=auth
auth_type=userpass
username=1000
password=$PASSWORD

[1000]
type=aor
max_contacts=1
remove_existing=yes
EOF
lab_put "$DP_FILE" <<'EOF'
; written by tests/lab/smoke.sh
[synergy-internal]
exten => 1000,1,Dial(PJSIP/1000,25)
EOF

reload_out="$(ast 'pjsip reload')"
check "'pjsip reload' over ssh reloads res_pjsip" grep -q "Module 'res_pjsip.so' reloaded successfully" <<<"$reload_out"
check "'dialplan reload' over ssh" grep -q 'Dialplan reloaded' <<<"$(ast 'dialplan reload')"
check "pjsip show endpoints lists 1000" grep -qE '^ *Endpoint: +1000[ /]' <<<"$(ast 'pjsip show endpoints')"
check "pjsip show aors lists 1000 (max_contacts 1)" grep -qE '^ *Aor: +1000 +1$' <<<"$(ast 'pjsip show aors')"
check "dialplan show synergy-internal has 1000 -> Dial(PJSIP/1000,25)" \
    grep -qF 'Dial(PJSIP/1000,25)' <<<"$(ast 'dialplan show 1000@synergy-internal')"

# ---------------------------------------------------------------- register with a real SIP client
free_udp_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
register() { # register PASSWORD: sipp's exit status
    local port
    port="$(free_udp_port)"
    (cd "$WORK" && timeout 30 sipp "127.0.0.1:$SIP_PORT" -sf "$HERE/register.xml" -s 1000 -au 1000 -ap "$1" \
        -m 1 -i 127.0.0.1 -p "$port" -nostdin -timeout 20s >>"$WORK/sipp.log" 2>&1)
}
check "sipp registers 1000 with the right password" register "$PASSWORD"
check "pjsip show contacts shows 1000's contact" grep -qE 'Contact: +1000/sip:1000@127\.0\.0\.1' \
    <<<"$(ast 'pjsip show contacts')"
wrong_password_rejected() { ! register "wrong-$PASSWORD"; }
check "sipp fails to register 1000 with a wrong password" wrong_password_rejected

# ---------------------------------------------------------------- restore
lab_put "$EP_FILE" <"$WORK/endpoints.orig"
lab_put "$DP_FILE" <"$WORK/routing.orig"
SAVED=0
ast 'pjsip reload' >/dev/null
ast 'dialplan reload' >/dev/null
endpoint_1000_gone() { ! grep -qE '^ *Endpoint: +1000[ /]' <<<"$(ast 'pjsip show endpoints')"; }
check "after restoring the placeholders, endpoint 1000 is gone" endpoint_1000_gone

if ((failures)); then
    log "sipp output: $WORK/sipp.log (removed on exit); lab logs: $PBX_ASTERISK_ROOT/var/log/asterisk/messages.log"
    tail -n 20 "$WORK/sipp.log" >&2 2>/dev/null || true
    echo "FAIL ($failures check(s) failed)"
    exit 1
fi
echo PASS
