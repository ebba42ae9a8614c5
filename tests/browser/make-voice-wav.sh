#!/usr/bin/env bash
# The fake microphone's recording for the voice tests and benchmark: espeak-ng speech with a
# tone marker of its own frequency after each phrase, 48 kHz mono 16-bit WAV (Chromium loops
# it: --use-file-for-fake-audio-capture=OUT.wav).
#
#   bash tests/browser/make-voice-wav.sh OUT.wav      # also writes OUT.json:
#   {"loop": seconds, "markers": [{"freq": Hz, "at": seconds from the file's start, "ms": length}]}
#   DENSE=1 bash tests/browser/make-voice-wav.sh OUT.wav   # six short phrases and markers (benchmark)
#
# Markers sit between phrases, with silence either side, so each one's onset is sharp; their
# frequencies (1.5–3.75 kHz) are far apart and above most of a voice's energy.
set -euo pipefail

OUT="${1:?usage: make-voice-wav.sh OUT.wav}"
command -v espeak-ng >/dev/null || { echo "make-voice-wav: espeak-ng is required" >&2; exit 2; }
command -v sox >/dev/null || { echo "make-voice-wav: sox is required" >&2; exit 2; }

WORK="$(mktemp -d -t lectern-voice-wav.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

RATE=48000
if [ "${DENSE:-0}" = 1 ]; then
    PHRASES=("Next slide." "The numbers." "Costs fell." "In every region." "Questions?" "Thank you.")
    FREQS=(1500 1950 2400 2850 3300 3750)
    GAP_BEFORE=0.2
    GAP_AFTER=0.25
else
    PHRASES=(
        "Welcome to the quarterly review."
        "Here are the numbers for this year."
        "Costs went down in every region."
        "Thank you, questions are welcome."
    )
    FREQS=(1800 2400 3000 3600)
    GAP_BEFORE=0.25
    GAP_AFTER=0.35
fi
TONE_MS=150

norm() { sox -q "$1" -r "$RATE" -c 1 -b 16 "$2" "${@:3}"; }
silence() { sox -q -n -r "$RATE" -c 1 -b 16 "$2" trim 0 "$1"; }

parts=()
json_markers=()
at=0
for i in "${!PHRASES[@]}"; do
    espeak-ng -v en-us -s 165 -w "$WORK/raw$i.wav" "${PHRASES[$i]}"
    # speech at about -6 dBFS peak, without the leading/trailing silence espeak adds
    norm "$WORK/raw$i.wav" "$WORK/speech$i.wav" silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse gain -n -6
    silence "$GAP_BEFORE" "$WORK/pre$i.wav"
    sox -q -n -r "$RATE" -c 1 -b 16 "$WORK/tone$i.wav" synth "0.$TONE_MS" sine "${FREQS[$i]}" fade q 0.003 "0.$TONE_MS" 0.003 gain -n -6
    silence "$GAP_AFTER" "$WORK/post$i.wav"
    speech_s="$(soxi -D "$WORK/speech$i.wav")"
    at="$(awk -v a="$at" -v s="$speech_s" -v g="$GAP_BEFORE" 'BEGIN { printf "%.6f", a + s + g }')"
    json_markers+=("{\"freq\": ${FREQS[$i]}, \"at\": $at, \"ms\": $TONE_MS}")
    at="$(awk -v a="$at" -v t="$TONE_MS" -v g="$GAP_AFTER" 'BEGIN { printf "%.6f", a + t / 1000 + g }')"
    parts+=("$WORK/speech$i.wav" "$WORK/pre$i.wav" "$WORK/tone$i.wav" "$WORK/post$i.wav")
done

sox -q "${parts[@]}" -r "$RATE" -c 1 -b 16 "$OUT"
loop="$(soxi -D "$OUT")"
{
    printf '{"loop": %s, "rate": %d, "markers": [' "$loop" "$RATE"
    (IFS=,; printf '%s' "${json_markers[*]}")
    printf ']}\n'
} >"${OUT%.wav}.json"
