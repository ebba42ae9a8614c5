#!/usr/bin/env bash
# Installs what the shared-audio-file tests need beyond Rust, once; quiet and idempotent:
#   - espeak-ng: the speech between the tone markers;
#   - sox: builds the master WAV (tones, speech, silence) sample-exactly;
#   - ffmpeg: converts it to FLAC, Ogg Vorbis, MP3 and M4A/AAC;
#   - libopus-dev and pkg-config: the server and the test link Debian's libopus;
#   - opus-tools: opusinfo/opusdec, handy when looking at a failure by hand.
set -euo pipefail

PACKAGES=(espeak-ng sox ffmpeg libopus-dev pkg-config opus-tools)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "audio setup: installing ${missing[*]} (apt-get)" >&2
    log=$(mktemp)
    if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        exit 1
    fi
    rm -f "$log"
fi
