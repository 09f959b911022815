#!/usr/bin/env bash
# Makes sure the system programs talks needs are installed: apt-get on Debian/Ubuntu, brew on
# macOS. Usage: scripts/ensure-tools.sh ffmpeg [espeak-ng …]
# Each argument is a program name; the package has the same name in apt and brew, or is named
# after a colon: crontab:cron.
set -euo pipefail
missing=()
programs=()
for spec in "$@"; do
  tool="${spec%%:*}"
  command -v "$tool" >/dev/null 2>&1 || { missing+=("${spec#*:}"); programs+=("$tool"); }
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing ${missing[*]} …"
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "talks needs ${missing[*]}: run 'apt-get install ${missing[*]}' as root, then try again." >&2
      exit 1
    fi
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v brew >/dev/null 2>&1; then
  brew install "${missing[@]}"
else
  echo "talks needs ${missing[*]}: install it with your package manager (on macOS first get Homebrew from brew.sh, then 'brew install ${missing[*]}'), then try again." >&2
  exit 1
fi
for tool in "${programs[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "Installing $tool did not put it on PATH: install it by hand, then try again." >&2; exit 1; }
done
