#!/usr/bin/env bash
# LAN pre-distribution across real source addresses: three network namespaces behind veth pairs,
# the embedded lectern server in the root namespace, one slixmpp participant per namespace.
#
#   bash tests/lan/run.sh          # from the repository root, as root (ip netns)
#
#   root ns:  bridge lecbrN 10.77.1.1/24 ── veth ── ns lecaN  10.77.1.2  presenter
#                                        └─ veth ── ns lecbN  10.77.1.3  LAN attendee
#             veth lecwN  10.77.2.1/24   ── veth ── ns lecwN  10.77.2.2  WAN attendee
#   lectern serve --http 0.0.0.0:0 --xmpp 0.0.0.0:0 (embedded XMPP server, token logins)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LECTERN_BIN="${LECTERN_BIN:-$ROOT/target/debug/lectern}"
say() { printf 'lan-test: %s\n' "$*"; }
die() { printf 'lan-test: %s\n' "$*" >&2; exit 2; }
skip() { printf 'lan-test: SKIPPED: %s\n' "$*" >&2; exit 0; }

[ "$(id -u)" -eq 0 ] || skip "needs root for ip netns (run as root)"
command -v ip >/dev/null || skip "the ip command (iproute2) is missing"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lectern-lan.XXXXXX")"
ID=$$
NS_A="leca$ID" NS_B="lecb$ID" NS_W="lecw$ID" BR="lecbr$ID"
LECTERN_PID=""
cleanup() {
    [ -n "$LECTERN_PID" ] && kill "$LECTERN_PID" 2>/dev/null && wait "$LECTERN_PID" 2>/dev/null
    for ns in "$NS_A" "$NS_B" "$NS_W"; do ip netns del "$ns" 2>/dev/null; done  # takes its veth peers along
    ip link del "$BR" 2>/dev/null
    for l in "va$ID" "vb$ID" "vw$ID"; do ip link del "$l" 2>/dev/null; done
    if [ "${KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- namespaces -----------------------------------------------------------------------------------
if ! ip netns add "$NS_A" 2>"$WORK/netns.err"; then
    skip "ip netns add is impossible here: $(cat "$WORK/netns.err")"
fi
set -e
ip netns add "$NS_B"; ip netns add "$NS_W"
ip link add "$BR" type bridge
ip addr add 10.77.1.1/24 dev "$BR"
ip link set "$BR" up
plug() { # ns root-side-veth address/len gateway [bridge]
    local ns=$1 host=$2 addr=$3 gw=$4 br=${5:-}
    ip link add "$host" type veth peer name eth0 netns "$ns"
    if [ -n "$br" ]; then ip link set "$host" master "$br"; fi
    ip link set "$host" up
    ip -n "$ns" addr add "$addr" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$gw"
}
plug "$NS_A" "va$ID" 10.77.1.2/24 10.77.1.1 "$BR"
plug "$NS_B" "vb$ID" 10.77.1.3/24 10.77.1.1 "$BR"
plug "$NS_W" "vw$ID" 10.77.2.2/24 10.77.2.1
ip addr add 10.77.2.1/24 dev "vw$ID"
set +e
say "namespaces up: $NS_A 10.77.1.2, $NS_B 10.77.1.3 (bridge $BR 10.77.1.1), $NS_W 10.77.2.2 (gw 10.77.2.1)"

# --- prerequisites --------------------------------------------------------------------------------
if [ ! -x "$LECTERN_BIN" ]; then
    say "building lectern (cargo build --bin lectern)"
    (cd "$ROOT" && cargo build -q --bin lectern) || die "cargo build --bin lectern failed"
fi
PY=""
for cand in "$ROOT/tests/interop/.venv/bin/python" "$ROOT/tests/prosody/.venv/bin/python" "$HERE/.venv/bin/python"; do
    if [ -x "$cand" ] && "$cand" -c 'import slixmpp, pytest' 2>/dev/null; then PY="$cand"; break; fi
done
if [ -z "$PY" ]; then
    say "creating $HERE/.venv"
    python3 -m venv "$HERE/.venv" >"$WORK/venv.log" 2>&1 || { cat "$WORK/venv.log" >&2; die "python3 -m venv failed"; }
    "$HERE/.venv/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/tests/prosody/requirements.txt" >"$WORK/pip.log" 2>&1 \
        || { cat "$WORK/pip.log" >&2; die "pip install failed"; }
    PY="$HERE/.venv/bin/python"
fi

# --- lectern (embedded XMPP server) on every address -----------------------------------------------
mkdir -p "$WORK/data"
RUST_LOG="${RUST_LOG:-info,lectern=debug}" NO_COLOR=1 "$LECTERN_BIN" serve --http 0.0.0.0:0 --xmpp 0.0.0.0:0 \
    --data "$WORK/data" >"$WORK/lectern.stdout" 2>"$WORK/lectern.stderr" &
LECTERN_PID=$!
HTTP_PORT="" XMPP_PORT=""
for ((i = 0; i < 300; i++)); do
    HTTP_PORT=$(sed -n 's/^http listening on .*:\([0-9]*\)$/\1/p' "$WORK/lectern.stdout" | head -1)
    XMPP_PORT=$(sed -n 's/^xmpp listening on .*:\([0-9]*\)$/\1/p' "$WORK/lectern.stdout" | head -1)
    [ -n "$HTTP_PORT" ] && [ -n "$XMPP_PORT" ] && break
    kill -0 "$LECTERN_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$HTTP_PORT" ] || [ -z "$XMPP_PORT" ]; then
    cat "$WORK/lectern.stdout" >&2; tail -40 "$WORK/lectern.stderr" >&2; LECTERN_PID=""; die "lectern serve did not start"
fi
say "lectern: http port $HTTP_PORT, xmpp port $XMPP_PORT on 0.0.0.0"
# Every namespace reaches the server through its gateway (bridge netfilter, if loaded, could drop it).
for ns in "$NS_A" "$NS_B" "$NS_W"; do
    gw=10.77.1.1; [ "$ns" = "$NS_W" ] && gw=10.77.2.1
    if ! ip netns exec "$ns" timeout 5 bash -c "exec 3<>/dev/tcp/$gw/$HTTP_PORT" 2>"$WORK/reach.err"; then
        ip -br addr >&2; cat "$WORK/reach.err" >&2; die "namespace $ns cannot reach lectern at $gw:$HTTP_PORT"
    fi
done

status=0
LAN_NS_PRESENTER="$NS_A" LAN_NS_ATTENDEE="$NS_B" LAN_NS_WAN="$NS_W" LAN_PY="$PY" \
    LAN_HTTP_PORT="$HTTP_PORT" LAN_XMPP_PORT="$XMPP_PORT" \
    "$PY" -m pytest -v --no-header -p no:cacheprovider --rootdir "$HERE" "$HERE/test_lan.py" "$@" || status=1
if [ "$status" -ne 0 ]; then
    say "FAILED. lectern log tail:"; tail -60 "$WORK/lectern.stderr" | sed 's/^/  lectern: /'
    KEEP=1
else
    say "passed"
fi
exit "$status"
