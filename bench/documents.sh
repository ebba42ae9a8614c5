#!/usr/bin/env bash
# Documents benchmark: Lectern's upload → pages pipeline against BigBlueButton's per-page
# pipeline on the same files, in one run; writes its own section of docs/BENCHMARKS.md.
# `make bench` runs it through bench/run.sh; alone:
#
#   bash bench/documents.sh                  # 3 runs per document
#   RUNS=1 OUT=/tmp/b.md bash bench/documents.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$ROOT/docs/BENCHMARKS.md}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

# LibreOffice, poppler-utils (BBB's tools), the unoserver venv with python-pptx.
bash "$ROOT/tests/documents/setup.sh"
echo "== building lectern (release)" >&2
(cd "$ROOT" && cargo build --release --bin lectern)
python3 "$ROOT/bench/documents.py" --lectern "$TARGET/release/lectern" --out "$OUT" \
    --runs "${RUNS:-3}" --command "${COMMAND:-make bench}"
