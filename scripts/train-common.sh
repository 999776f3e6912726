#!/usr/bin/env bash
# Shared by the scripts/train-*.sh recipes: builds the tool, fetches the teacher
# and runs `picotag-quantize train --resume` with the run's log in runs/NAME/train.log.
#
#   train_run NAME ARGS...        (REFINE_FROM=CHECKPOINT: --refine-from it, not --init the teacher;
#                                  INIT=FOLDER: --init that pretrained folder, e.g. an `adapt` output)
#
# Every recipe is resumable: run the same script again after a kill and it
# continues from runs/NAME/last. Start long runs so that they survive the shell:
#   nohup nice -n 5 scripts/train-teacher.sh >/dev/null 2>&1 &
# Environment: PICOTAG_DATA (default ../shared/data), RAYON_NUM_THREADS
# (default 1: on a loaded 2-core machine one thread per run is faster than two).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
DATA=${PICOTAG_DATA:-$root/../shared/data}
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1}
# mimalloc: keep freed pages instead of returning them to the OS (page faults cost ~15% of a step here).
export MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY:--1}

train_run() {
  local name=$1
  shift
  mkdir -p "runs/$name"
  local log="runs/$name/train.log"
  # Without the default `onnx` feature: training does not need tract (a long build).
  cargo build -q -p picotag-quantize --release --no-default-features >>"$log" 2>&1
  local bin=${CARGO_TARGET_DIR:-target}/release/picotag-quantize
  # REFINE_FROM=CHECKPOINT starts from a trained run instead of the teacher.
  local init
  if [[ -n ${REFINE_FROM:-} ]]; then
    init=(--refine-from "$REFINE_FROM")
  elif [[ -n ${INIT:-} ]]; then
    init=(--init "$INIT")
  else
    init=(--init "$(scripts/fetch-teacher.sh 2>>"$log" | tail -n 1)")
  fi
  {
    echo "== $(date -u +%FT%TZ) start/resume: $name (RAYON_NUM_THREADS=$RAYON_NUM_THREADS)"
    echo "== $bin train --resume --out runs/$name ${init[*]} $*"
  } >>"$log"
  "$bin" train --resume --out "runs/$name" "${init[@]}" "$@" >>"$log" 2>&1
  echo "== $(date -u +%FT%TZ) finished: $name" >>"$log"
}
