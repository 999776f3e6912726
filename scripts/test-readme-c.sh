#!/usr/bin/env bash
# Runs the C commands of ffi/README.md as written: every block fenced as
# ```sh c-readme, in order, in one bash with `set -euxo pipefail`, from a
# scratch copy of the workspace root (symlinks to this checkout), so that
# the programs, `dist/` and the pkg-config install land there and not in
# the checkout. The pkg-config block installs under the scratch folder
# (PREFIX), not /usr/local. Exits non-zero when a command fails.
#
#   scripts/test-readme-c.sh
#
# The README's paths say `target/release`: the scratch root's `target` is a
# link to the real target folder ($CARGO_TARGET_DIR, else ./target).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
readme=$root/ffi/README.md

blocks=$(awk '
  /^```sh c-readme[[:space:]]*$/ { inside = 1; n++; print "echo \"== ffi/README.md, block " n "\""; next }
  inside && /^```[[:space:]]*$/  { inside = 0; next }
  inside                         { print }
  END { if (inside) { print "unterminated c-readme block" > "/dev/stderr"; exit 1 } }
' "$readme")
count=$(grep -c '^```sh c-readme' "$readme" || true)
if ((count < 5)); then
  echo "error: expected the C build blocks in $readme, found $count" >&2
  exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/picotag-readme-c.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$target"
shopt -s dotglob
for f in "$root"/*; do
  case $(basename "$f") in
    target | .git) ;;
    *) ln -s "$f" "$scratch/" ;;
  esac
done
ln -s "$target" "$scratch/target"

echo "== running the $count c-readme blocks of ffi/README.md in $scratch"
(
  cd "$scratch"
  unset CARGO_TARGET_DIR
  export PREFIX=$scratch/prefix
  bash -euxo pipefail -c "$blocks"
)
echo "ffi/README.md: $count C blocks passed"
