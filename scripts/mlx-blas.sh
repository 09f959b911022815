#!/usr/bin/env bash
# Prints the library to preload (LD_PRELOAD) so mlx on a Linux CPU multiplies matrices with
# OpenBLAS, installing Debian's single-threaded OpenBLAS first when it is missing; prints
# nothing where there is no need or no way (macOS: mlx runs on Metal and Accelerate there).
#
# Why: the mlx-cpu wheel links the netlib reference BLAS, whose matrix product is ~27x slower
# here than OpenBLAS's (a 30-s window through tiny.en's encoder: 14.4 s, against 1.7 s with
# OpenBLAS preloaded). mlx is the only library in the venv that takes BLAS symbols from
# outside itself, so the preload changes nothing else. The single-threaded build keeps mlx to
# one core, as the test workers share two.
set -euo pipefail
[ "$(uname -s)" = Linux ] || exit 0
arch="$(uname -m)-linux-gnu"
lib="/usr/lib/$arch/openblas-serial/libopenblas.so.0"
if command -v apt-get >/dev/null 2>&1; then
  # stdout is the answer: what installing says goes to stderr; failing leaves mlx slow, not
  # broken, and is said below.
  "$(dirname "$0")/ensure-tools.sh" "$lib:libopenblas0-serial" >&2 || true
fi
if [ -e "$lib" ]; then
  echo "$lib"
else
  echo "mlx on this CPU uses the reference BLAS (slow): 'apt-get install libopenblas0-serial' speeds its tests up ~8x." >&2
fi
