#!/usr/bin/env bash
# Meeting latency benchmark: the real `lectern` release binary, one meeting, 1 presenter and
# N headless attendees (N = 200 and 1000), page turns at 10/s and stroke extends at 30/s through
# the focus; presenter-send → attendee-receive latency, losses, server CPU and RSS. The first run
# (N = 200) also has 2 browser attendees: Debian's Chromium opening the real web client
# (bench/browser/attendees.mjs on the browser suite's harness). Then, in each run, an audio phase: the
# presenter's voice as Opus-sized batches (3 × 20 ms every 60 ms) for 20 s to the same attendees.
# Writes two sections of docs/BENCHMARKS.md (between <!-- meeting-latency:begin/end --> and
# <!-- audio-fanout:begin/end --> markers).
#
#   bash bench/meeting.sh                     # N = 200,1000 (~3-5 min)
#   N=50 TURNS=20 bash bench/meeting.sh       # smoke test
#   BROWSERS=0 bash bench/meeting.sh          # headless attendees only
#   AUDIO_S=0 bash bench/meeting.sh           # no audio phase
#   OUT=/tmp/b.md bash bench/meeting.sh       # write the section elsewhere
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-200,1000}
TURNS=${TURNS:-200}
BROWSERS=${BROWSERS:-2}
AUDIO_S=${AUDIO_S:-20}
OUT=${OUT:-$ROOT/docs/BENCHMARKS.md}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM
# playwright-core must never fetch a browser of its own
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

cd "$ROOT"
cargo build --release -p lectern-bench --bin lectern-meeting-bench >&2
cargo build --release --bin lectern >&2
# Two sockets per attendee in this machine's file table (client and server side).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

# Browser attendees: Debian's Chromium, and playwright-core as tests/browser locks it (its
# harness drives them; `npm ci` there never downloads a browser).
if [ "$BROWSERS" -gt 0 ]; then
    if [ ! -x "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "meeting bench: installing chromium from Debian" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    fi
    if ! command -v node >/dev/null || [ ! -x "$CHROMIUM" ]; then
        echo "meeting bench: no node or no Chromium at $CHROMIUM; running without browser attendees" >&2
        BROWSERS=0
    elif [ ! -d tests/browser/node_modules/playwright-core ]; then
        (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >&2)
    fi
fi

commit="$(git rev-parse --short HEAD)"
git diff --quiet HEAD -- backend protocol web 2>/dev/null || commit="$commit + uncommitted changes"
cmd="bash bench/meeting.sh"
[ "$N" = "200,1000" ] || cmd="N=$N $cmd"
[ "$TURNS" = 200 ] || cmd="TURNS=$TURNS $cmd"
[ "$BROWSERS" = 2 ] || cmd="BROWSERS=$BROWSERS $cmd"
[ "$AUDIO_S" = 20 ] || cmd="AUDIO_S=$AUDIO_S $cmd"

exec timeout 1500 "$ROOT/target/release/lectern-meeting-bench" \
    --lectern "$ROOT/target/release/lectern" --n "$N" --turns "$TURNS" \
    --browsers "$BROWSERS" --browser-script "$ROOT/bench/browser/attendees.mjs" \
    --audio-s "$AUDIO_S" \
    --out "$OUT" --command "$cmd" --commit "$commit"
