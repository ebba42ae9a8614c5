#!/usr/bin/env bash
# Voice benchmark: mouth-to-ear latency on loopback and page-turn/audio skew (p50/p95/p99), the
# presenter and one attendee in Debian's Chromium against the release `lectern` binary with a
# fake microphone (see voice.mjs). Writes its section of docs/BENCHMARKS.md (between
# <!-- voice:begin --> and <!-- voice:end -->, appended when absent).
#
#   bash bench/voice/run.sh                      # 60 s measured (~2 min with set-up)
#   DURATION=20 bash bench/voice/run.sh          # shorter
#   OUT=/tmp/b.md bash bench/voice/run.sh        # write the section elsewhere
#
# Installs what it needs on first use, as tests/browser/run.sh does: chromium, espeak-ng and sox
# with apt-get (as root), playwright-core in tests/browser/node_modules with `npm ci` (it never
# downloads a browser).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=${DURATION:-60}
OUT=${OUT:-$ROOT/docs/BENCHMARKS.md}
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

say() { printf 'voice bench: %s\n' "$*" >&2; }
die() { printf 'voice bench: %s\n' "$*" >&2; exit 2; }

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${missing[*]} from Debian"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    else
        die "missing ${missing[*]} (on Debian, as root: apt-get install ${missing[*]})"
    fi
fi
command -v node >/dev/null || die "node is required"
[ -d "$ROOT/tests/browser/node_modules/playwright-core" ] ||
    (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >&2)

cd "$ROOT"
cargo build --release --bin lectern >&2
export LECTERN_BIN="$ROOT/target/release/lectern"
# the server logs warnings only, and converts no office documents (a PDF is all it gets)
export RUST_LOG="${RUST_LOG:-warn}" LECTERN_OFFICE_WORKERS=0

commit="$(git rev-parse --short HEAD)"
git diff --quiet HEAD -- backend protocol web 2>/dev/null || commit="$commit + uncommitted changes"
cmd="bash bench/voice/run.sh"
[ "$DURATION" = 60 ] || cmd="DURATION=$DURATION $cmd"

exec timeout 900 node "$ROOT/bench/voice/voice.mjs" --seconds "$DURATION" --out "$OUT" --command "$cmd" --commit "$commit"
