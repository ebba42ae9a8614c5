#!/usr/bin/env bash
# Browser end-to-end suite for the Lectern web client: Debian's Chromium driven by
# playwright-core against the real `lectern` binary (every *.test.mjs here).
#
#   bash tests/browser/run.sh                       # from the repository root
#   LECTERN_BIN=/abs/path/lectern bash tests/browser/run.sh
#   bash tests/browser/run.sh replay.test.mjs       # only these test files (names in tests/browser)
#
# Installs what it needs on first use: chromium, chromium-driver, espeak-ng, sox and unzip with apt-get
# and unzip (the replay test unpacks a recording) (as root), node_modules here with `npm ci` (playwright-core only; it never downloads a browser).
# Each test file starts its own server on free ports with a temporary data directory.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LECTERN_BIN="${LECTERN_BIN:-$PWD/target/debug/lectern}"
case "$LECTERN_BIN" in /*) ;; *) LECTERN_BIN="$PWD/$LECTERN_BIN" ;; esac
export LECTERN_BIN
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
# playwright-core must never fetch a browser of its own
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

say() { printf 'browser: %s\n' "$*"; }
die() { printf 'browser: %s\n' "$*" >&2; exit 2; }

[ -x "$LECTERN_BIN" ] || die "no lectern binary at $LECTERN_BIN (cargo build --bin lectern, or set LECTERN_BIN)"
command -v node >/dev/null || die "node is required"
command -v npm >/dev/null || die "npm is required"

LOG="$(mktemp -t lectern-browser-setup.XXXXXX)"
trap 'rm -f "$LOG"' EXIT
quietly() { # run a setup step, show its output only if it fails
    if ! "$@" >"$LOG" 2>&1; then
        cat "$LOG" >&2
        die "setup step failed: $*"
    fi
}

# --- Chromium from Debian ------------------------------------------------------------------------
if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing chromium and chromium-driver from Debian"
        quietly apt-get update -qq
        quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
    else
        die "no Chromium at $CHROMIUM (on Debian, as root: apt-get install chromium chromium-driver)"
    fi
fi

# --- espeak-ng, sox (the voice tests' fake microphone, make-voice-wav.sh), unzip (replay) --
missing=()
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
command -v unzip >/dev/null || missing+=(unzip)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${missing[*]} from Debian"
        quietly apt-get update -qq
        quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        die "missing ${missing[*]} (on Debian, as root: apt-get install ${missing[*]})"
    fi
fi

# --- Node: playwright-core, exactly as locked ------------------------------------------------------
(cd "$HERE" && quietly npm ci --no-audit --no-fund --loglevel=error) || exit 2

# --- Run ------------------------------------------------------------------------------------------
say "lectern binary: $LECTERN_BIN"
say "chromium: $("$CHROMIUM" --version 2>/dev/null | head -n1)"
# arguments naming test files run just those; any other arguments go to node --test
files=()
args=()
for a in "$@"; do
    case "$a" in *.test.mjs) files+=("./$(basename "$a")") ;; *) args+=("$a") ;; esac
done
cd "$HERE" || die "no $HERE"
# the default is every test file here (expanded after the cd: node 20 takes no globs)
[ "${#files[@]}" -gt 0 ] || files=(./*.test.mjs)
node --test --test-reporter=spec --test-concurrency=1 "${args[@]}" "${files[@]}"
status=$?
if [ "$status" -eq 0 ]; then say "browser suite passed"; else say "browser suite FAILED"; fi
exit "$status"
