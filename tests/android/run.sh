#!/usr/bin/env bash
# The Android engine's FFI test: builds the engine's cdylib and the uniffi-bindgen built from
# android-bridge, generates the Python bindings from the library (the same UniFFI interface
# the app's Kotlin is generated from, `make android-kotlin`), and drives a real `lectern serve`
# with tests/android/test_ffi.py. The Kotlin is generated too, so a change that breaks it fails
# here rather than in an Android build. Needs python3 and the system libopus (libopus-dev).
#
#   tests/android/run.sh            # LECTERN_BIN defaults to <target>/debug/lectern
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cd "$root"
# The generator and the library in one build, so the library loaded is the one generated from.
cargo build -q -p android-bridge --features bindgen --bin uniffi-bindgen --lib
: "${LECTERN_BIN:=$target/debug/lectern}"
if [ ! -x "$LECTERN_BIN" ]; then
    echo "no lectern binary at $LECTERN_BIN: run cargo build --bin lectern (or set LECTERN_BIN)" >&2
    exit 1
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$target/debug/uniffi-bindgen" generate --library "$target/debug/libandroid_bridge.so" \
    --language python --out-dir "$out" >/dev/null
"$target/debug/uniffi-bindgen" generate --library "$target/debug/libandroid_bridge.so" \
    --language kotlin --no-format --out-dir "$out/kotlin" >/dev/null
kt="$out/kotlin/uniffi/android_bridge/android_bridge.kt"
grep -q "class Attendee" "$kt" || { echo "android: no Attendee class in the generated Kotlin ($kt)" >&2; exit 1; }
cp "$target/debug/libandroid_bridge.so" "$out/"
ANDROID_BRIDGE_PY="$out" LECTERN_BIN="$LECTERN_BIN" python3 "$root/tests/android/test_ffi.py"
