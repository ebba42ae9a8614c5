#!/usr/bin/env bash
# Third-party client interop suite for the lectern binary (see README.md next to this file).
#
#   bash tests/interop/run.sh            # from the repository root
#   LECTERN_BIN=/abs/path/lectern bash tests/interop/run.sh
#
# Installs what it needs on first use (a venv in tests/interop/.venv from requirements.txt,
# node_modules via `npm ci`), then runs the pytest (slixmpp) and `node --test` (strophe.js)
# suites. Exits non-zero if either fails.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LECTERN_BIN="${LECTERN_BIN:-$PWD/target/debug/lectern}"
case "$LECTERN_BIN" in /*) ;; *) LECTERN_BIN="$PWD/$LECTERN_BIN" ;; esac
export LECTERN_BIN

say() { printf 'interop: %s\n' "$*"; }
die() { printf 'interop: %s\n' "$*" >&2; exit 2; }

[ -x "$LECTERN_BIN" ] || die "no lectern binary at $LECTERN_BIN (cargo build --bin lectern, or set LECTERN_BIN)"
command -v python3 >/dev/null || die "python3 is required"
command -v node >/dev/null || die "node is required"
command -v npm >/dev/null || die "npm is required"

LOG="$(mktemp -t lectern-interop-setup.XXXXXX)"
trap 'rm -f "$LOG"' EXIT
quietly() { # run a setup step, show its output only if it fails
    if ! "$@" >"$LOG" 2>&1; then
        cat "$LOG" >&2
        die "setup step failed: $*"
    fi
}

# --- Python: venv + pinned requirements ----------------------------------------------------------
VENV="$HERE/.venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >"$LOG" 2>&1; then
        # Debian's system python3 ships venv without ensurepip until python3-venv is installed.
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            say "installing python3-venv"
            quietly apt-get install -y -qq python3-venv
            rm -rf "$VENV"
            quietly python3 -m venv "$VENV"
        else
            cat "$LOG" >&2
            die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
        fi
    fi
fi
quietly "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
export INTEROP_PYTHON="$VENV/bin/python"

# --- Node: strophe.js and its Node peers, exactly as locked --------------------------------------
(cd "$HERE" && quietly npm ci --no-audit --no-fund --loglevel=error) || exit 2

# --- Run ------------------------------------------------------------------------------------------
say "lectern binary: $LECTERN_BIN"
status=0

say "pytest (slixmpp over c2s TCP)"
(cd "$HERE" && "$VENV/bin/python" -m pytest -v --no-header -c "$HERE/pytest.ini" --rootdir "$HERE" "$@") || status=1

say "node --test (strophe.js over WebSocket)"
(cd "$HERE" && node --test --test-reporter=spec strophe.test.mjs strophe_muc.test.mjs) || status=1

if [ "$status" -eq 0 ]; then say "all interop suites passed"; else say "interop suites FAILED"; fi
exit "$status"
