#!/usr/bin/env bash
# Meeting latency benchmark: the real `lectern` release binary, one meeting, 1 presenter and
# N headless attendees (N = 200 and 1000), page turns at 10/s and stroke extends at 30/s through
# the focus; presenter-send → attendee-receive latency, losses, server CPU and RSS. Writes its
# section of docs/BENCHMARKS.md (between <!-- meeting-latency:begin/end --> markers).
#
#   bash bench/meeting.sh                     # N = 200,1000 (~3-5 min)
#   N=50 TURNS=20 bash bench/meeting.sh       # smoke test
#   OUT=/tmp/b.md bash bench/meeting.sh       # write the section elsewhere
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-200,1000}
TURNS=${TURNS:-200}
OUT=${OUT:-$ROOT/docs/BENCHMARKS.md}

cd "$ROOT"
cargo build --release -p lectern-bench --bin lectern-meeting-bench >&2
cargo build --release --bin lectern >&2
# Two sockets per attendee in this machine's file table (client and server side).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

commit="$(git rev-parse --short HEAD)"
git diff --quiet HEAD -- backend protocol 2>/dev/null || commit="$commit + uncommitted backend changes"
cmd="bash bench/meeting.sh"
[ "$N" = "200,1000" ] || cmd="N=$N $cmd"
[ "$TURNS" = 200 ] || cmd="TURNS=$TURNS $cmd"

exec timeout 1200 "$ROOT/target/release/lectern-meeting-bench" \
    --lectern "$ROOT/target/release/lectern" --n "$N" --turns "$TURNS" \
    --out "$OUT" --command "$cmd" --commit "$commit"
