#!/usr/bin/env bash
# Makes sure the system programs talks needs are installed: apt-get on Debian/Ubuntu, brew on
# macOS. Usage: scripts/ensure-tools.sh ffmpeg [espeak-ng …]
# Each argument is a program name; the package has the same name in apt and brew, or is named
# after a colon: crontab:cron. A name starting with / is a file the package puts there (a
# library): /usr/lib/…/libopenblas.so.0:libopenblas0-serial.
set -euo pipefail
present() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
missing=()
programs=()
for spec in "$@"; do
  tool="${spec%%:*}"
  present "$tool" || { missing+=("${spec#*:}"); programs+=("$tool"); }
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
  present "$tool" || { echo "Installing $tool did not put it on PATH: install it by hand, then try again." >&2; exit 1; }
done
