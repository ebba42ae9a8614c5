#!/usr/bin/env bash
# Recording export benchmark: builds a synthetic 60-minute meeting archive and times the zip and
# the MP4 export on the release build; writes its section of docs/BENCHMARKS.md (between the
# recording-export markers). Needs Debian's ffmpeg (installed here when missing).
#
#   bash bench/export/run.sh                 # 60 minutes, into docs/BENCHMARKS.md
#   MINUTES=5 OUT=/tmp/b.md bash bench/export/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MINUTES=${MINUTES:-60}
OUT=${OUT:-$ROOT/docs/BENCHMARKS.md}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

if ! command -v ffmpeg >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >&2
fi

COMMAND="bash bench/export/run.sh"
[ "$MINUTES" = 60 ] || COMMAND="MINUTES=$MINUTES $COMMAND"

cd "$ROOT"
cargo build --release -p lectern-bench --bin lectern-export-bench
"$TARGET/release/lectern-export-bench" --minutes "$MINUTES" --out "$OUT" --command "$COMMAND"
