#!/usr/bin/env bash
# Shared by the scripts/eval-*.sh measurements. Set `out` (the output folder
# under runs/) before sourcing: goes to the repository root, builds the tool
# and defines DATA (PICOTAG_DATA, default ../shared/data), log ($out/eval.log),
# tool, say (a timestamped line on stderr and in the log) and sets (each
# task's dev split under $DATA).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
DATA=${PICOTAG_DATA:-$root/../shared/data}
mkdir -p "$out"
log=$out/eval.log
cargo build -q -p picotag-quantize --release --no-default-features >>"$log" 2>&1
tool=target/release/picotag-quantize
say() { echo "== $(date -u +%FT%TZ) $*" | tee -a "$log" >&2; }
declare -A sets=([atis]=slu/atis/valid [snips]=slu/snips/valid
  [bc5cdr]=bio/BC5CDR/devel.tsv [ncbi]=bio/NCBI-disease/devel.tsv)
