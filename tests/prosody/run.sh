#!/usr/bin/env bash
# Lectern against Prosody: the presenter/attendee scenario of tests/tests/meetings.rs, with the
# focus logged in to a real Prosody and slixmpp clients logging in anonymously on guest.localhost.
#
#   bash tests/prosody/run.sh                 # from the repository root
#   LECTERN_BIN=/abs/lectern KEEP=1 bash tests/prosody/run.sh   # KEEP=1: leave the temp dir
#
# Installs Debian's prosody with apt-get if missing, starts it as the current user on free
# loopback ports with a generated config (prosody.cfg.lua.in), registers focus@localhost, starts
# `lectern serve` with external_xmpp pointing there, runs test_prosody.py and then browser.test.mjs
# (Chromium; SKIP_BROWSER=1 skips it), tears everything down.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LECTERN_BIN="${LECTERN_BIN:-$ROOT/target/debug/lectern}"
say() { printf 'prosody-test: %s\n' "$*"; }
die() { printf 'prosody-test: %s\n' "$*" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lectern-prosody.XXXXXX")"
PROSODY_PID="" LECTERN_PID=""
cleanup() {
    [ -n "$LECTERN_PID" ] && kill "$LECTERN_PID" 2>/dev/null && wait "$LECTERN_PID" 2>/dev/null
    [ -n "$PROSODY_PID" ] && kill "$PROSODY_PID" 2>/dev/null && wait "$PROSODY_PID" 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites ----------------------------------------------------------------------------
if ! command -v prosody >/dev/null || ! command -v prosodyctl >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing prosody (apt-get)"
    if ! { $sudo apt-get install -y -qq prosody >"$WORK/apt.log" 2>&1 ||
           { $sudo apt-get update -qq >>"$WORK/apt.log" 2>&1 && $sudo apt-get install -y -qq prosody >>"$WORK/apt.log" 2>&1; }; }; then
        cat "$WORK/apt.log" >&2; die "could not install prosody with apt-get"
    fi
    # Debian's package starts a system-wide prosody; this test runs its own.
    command -v systemctl >/dev/null && $sudo systemctl stop prosody >/dev/null 2>&1 || true
fi
if [ ! -x "$LECTERN_BIN" ]; then
    say "building lectern (cargo build --bin lectern)"
    (cd "$ROOT" && cargo build -q --bin lectern) || die "cargo build --bin lectern failed"
fi
# Python: reuse tests/interop's venv when it has slixmpp, else our own from requirements.txt.
PY=""
for cand in "$ROOT/tests/interop/.venv/bin/python" "$HERE/.venv/bin/python"; do
    if [ -x "$cand" ] && "$cand" -c 'import slixmpp, pytest' 2>/dev/null; then PY="$cand"; break; fi
done
if [ -z "$PY" ]; then
    say "creating $HERE/.venv"
    python3 -m venv "$HERE/.venv" >"$WORK/venv.log" 2>&1 || { cat "$WORK/venv.log" >&2; die "python3 -m venv failed (apt-get install python3-venv)"; }
    "$HERE/.venv/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt" >"$WORK/pip.log" 2>&1 \
        || { cat "$WORK/pip.log" >&2; die "pip install failed"; }
    PY="$HERE/.venv/bin/python"
fi

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# --- Prosody ------------------------------------------------------------------------------------
C2S=$(free_port); HTTPP=$(free_port)
while [ "$HTTPP" = "$C2S" ]; do HTTPP=$(free_port); done
mkdir -p "$WORK/data" "$WORK/certs"
sed -e "s#@DIR@#$WORK#g" -e "s#@C2S@#$C2S#g" -e "s#@HTTP@#$HTTPP#g" \
    -e "s#@USER@#$(id -un)#g" -e "s#@GROUP@#$(id -gn)#g" \
    "$HERE/prosody.cfg.lua.in" >"$WORK/prosody.cfg.lua"
FOCUS_PW="focus-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# Registered before the start (file storage), so the running server sees the account.
if ! prosodyctl --config "$WORK/prosody.cfg.lua" register focus localhost "$FOCUS_PW" >"$WORK/register.log" 2>&1; then
    cat "$WORK/register.log" >&2; die "prosodyctl register focus localhost failed (see above)"
fi
prosody --config "$WORK/prosody.cfg.lua" -F >"$WORK/prosody.stdout" 2>&1 &
PROSODY_PID=$!
if ! wait_port "$C2S" 20 || ! wait_port "$HTTPP" 5; then
    say "Prosody did not start (c2s 127.0.0.1:$C2S, http 127.0.0.1:$HTTPP). Its output:" >&2
    cat "$WORK/prosody.stdout" "$WORK/prosody.log" 2>/dev/null | tail -40 >&2
    kill -0 "$PROSODY_PID" 2>/dev/null || say "prosody exited with code $(wait "$PROSODY_PID"; echo $?)" >&2
    PROSODY_PID=""
    die "Prosody could not start"
fi
say "prosody $(dpkg-query -W -f='${Version}' prosody 2>/dev/null) on c2s 127.0.0.1:$C2S, websocket http://127.0.0.1:$HTTPP/xmpp-websocket"

# --- Lectern ------------------------------------------------------------------------------------
cat >"$WORK/lectern.toml" <<TOML
external_xmpp = "127.0.0.1:$C2S"
external_domain = "localhost"
focus_password = "$FOCUS_PW"
external_websocket = "ws://127.0.0.1:$HTTPP/xmpp-websocket"
TOML
mkdir -p "$WORK/lectern"
RUST_LOG="${RUST_LOG:-info,lectern=debug}" NO_COLOR=1 "$LECTERN_BIN" serve --config "$WORK/lectern.toml" \
    --http 127.0.0.1:0 --xmpp 127.0.0.1:0 --data "$WORK/lectern" >"$WORK/lectern.stdout" 2>"$WORK/lectern.stderr" &
LECTERN_PID=$!
HTTP_ADDR=""
for ((i = 0; i < 300; i++)); do
    HTTP_ADDR=$(sed -n 's/^http listening on \(.*\)$/\1/p' "$WORK/lectern.stdout" | head -1)
    [ -n "$HTTP_ADDR" ] && grep -q '^xmpp listening on' "$WORK/lectern.stdout" && break
    kill -0 "$LECTERN_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$HTTP_ADDR" ]; then
    tail -40 "$WORK/lectern.stderr" >&2; LECTERN_PID=""; die "lectern serve did not start"
fi
say "lectern on http://$HTTP_ADDR"

# --- the scenario ---------------------------------------------------------------------------------
status=0
LECTERN_HTTP="http://$HTTP_ADDR" PROSODY_C2S="127.0.0.1:$C2S" PROSODY_WS="ws://127.0.0.1:$HTTPP/xmpp-websocket" \
    "$PY" -m pytest -v --no-header -p no:cacheprovider --rootdir "$HERE" "$HERE/test_prosody.py" "$@" || status=1
# The browser client, same servers: Chromium (playwright-core from tests/browser) logging in
# anonymously on guest.localhost over Prosody's WebSocket. SKIP_BROWSER=1 leaves it out.
if [ "${SKIP_BROWSER:-0}" != 1 ]; then
    BROWSER_DIR="$ROOT/tests/browser"
    if ! command -v node >/dev/null; then
        say "node is required for browser.test.mjs (or SKIP_BROWSER=1)" >&2; status=1
    elif [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ] &&
         ! (cd "$BROWSER_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1); then
        cat "$WORK/npm.log" >&2; say "npm ci in tests/browser failed" >&2; status=1
    else
        say "browser client on Prosody (chromium: $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null | head -n1))"
        LECTERN_HTTP="http://$HTTP_ADDR" PROSODY_WS="ws://127.0.0.1:$HTTPP/xmpp-websocket" LECTERN_BIN="$LECTERN_BIN" \
            CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
            node --test --test-reporter=spec --test-concurrency=1 "$HERE/browser.test.mjs" || status=1
    fi
fi
if [ "$status" -ne 0 ]; then
    say "FAILED. lectern log tail:"; tail -60 "$WORK/lectern.stderr" | sed 's/^/  lectern: /'
    say "prosody log:"; tail -30 "$WORK/prosody.log" 2>/dev/null | sed 's/^/  prosody: /'
    KEEP=1
else
    say "passed"
fi
exit "$status"
