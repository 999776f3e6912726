#!/usr/bin/env bash
# Issue #16 probe: of what the 3-layer student loses on the health tasks, how
# much is depth (3 of MiniLM's 6 layers) and how much the rank-64 word
# embeddings? Gold-label single-task NCBI-disease runs of shrunk MiniLM
# encoders with the brief's single-task optimisation (lr 5e-4, 8 epochs,
# batch 32, no auxiliary heads); no teacher signal (`distill --alpha-kd 0
# --alpha-gold 1`: the teacher only gives the layers, and is not run).
#
#   scripts/train-shrink-probe.sh base    # runs/probe-base: MiniLM + a fresh NCBI head (1 step at lr 1e-12)
#   nohup nice -n 5 scripts/train-shrink-probe.sh L3 >/dev/null 2>&1 &     # layers 1,3,5; word embeddings full, frozen
#   nohup nice -n 5 scripts/train-shrink-probe.sh L3r64 >/dev/null 2>&1 &  # layers 1,3,5; rank 64, trained (the shipped student's)
#   nohup nice -n 5 scripts/train-shrink-probe.sh L6r64 >/dev/null 2>&1 &  # all 6 layers; rank 64, trained
#   (also kdL3, kdL3r64: the L3 and L3r64 shapes distilled from runs/single8-ncbi/best, which
#   `scripts/train-tapt.sh baseline` trains; L3t: full word embeddings, trained; L3r64f: rank 64, coefficients frozen (projection
#   trained); L3r128: rank 128, trained; L4r64: layers 0,2,3,5, rank 64)
#
# Resumable: run the same command again after a kill. Logs in runs/probe-NAME/train.log.
set -euo pipefail
source "$(dirname "$0")/train-common.sh"
bin=${CARGO_TARGET_DIR:-target}/release/picotag-quantize
task=(--task "ncbi=$DATA/bio/NCBI-disease")
probe() {
  local name=$1
  shift
  mkdir -p "runs/probe-$name"
  local log="runs/probe-$name/train.log"
  cargo build -q -p picotag-quantize --release --no-default-features >>"$log" 2>&1
  echo "== $(date -u +%FT%TZ) start/resume: probe-$name (RAYON_NUM_THREADS=$RAYON_NUM_THREADS)" >>"$log"
  "$bin" distill --resume --teacher runs/probe-base/last --out "runs/probe-$name" "${task[@]}" \
    --alpha-kd 0 --alpha-gold 1 --lr 5e-4 --epochs 8 --batch-size 32 --max-len 128 \
    --seed 42 --save-every 100 "$@" >>"$log" 2>&1
  echo "== $(date -u +%FT%TZ) finished: probe-$name" >>"$log"
}
# The same shapes distilled (KD 0.5 at T = 2 + gold 0.5) from the single-task
# NCBI teacher of `scripts/train-tapt.sh baseline` (runs/single8-ncbi/best),
# its layers 1, 3, 5 as the start.
kd() {
  local name=$1
  shift
  mkdir -p "runs/probe-$name"
  local log="runs/probe-$name/train.log"
  cargo build -q -p picotag-quantize --release --no-default-features >>"$log" 2>&1
  echo "== $(date -u +%FT%TZ) start/resume: probe-$name (RAYON_NUM_THREADS=$RAYON_NUM_THREADS)" >>"$log"
  "$bin" distill --resume --teacher runs/single8-ncbi/best --out "runs/probe-$name" "${task[@]}" \
    --alpha-kd 0.5 --alpha-gold 0.5 --temperature 2 --lr 5e-4 --epochs 8 --batch-size 32 \
    --max-len 128 --seed 42 --save-every 100 --layers 3 --init-layers 1,3,5 "$@" >>"$log" 2>&1
  echo "== $(date -u +%FT%TZ) finished: probe-$name" >>"$log"
}
case ${1:-} in
  kdL3) kd kdL3 ;;
  kdL3r64) kd kdL3r64 --embedding-rank 64 --train-word-embeddings ;;
  base) train_run probe-base "${task[@]}" --aux none --lr 1e-12 --max-steps 1 --epochs 1 ;;
  L3) probe L3 --layers 3 --init-layers 1,3,5 ;;
  L3r64) probe L3r64 --layers 3 --init-layers 1,3,5 --embedding-rank 64 --train-word-embeddings ;;
  L3t) probe L3t --layers 3 --init-layers 1,3,5 --train-word-embeddings ;;
  L3r64f) probe L3r64f --layers 3 --init-layers 1,3,5 --embedding-rank 64 ;;
  L3r128) probe L3r128 --layers 3 --init-layers 1,3,5 --embedding-rank 128 --train-word-embeddings ;;
  L4r64) probe L4r64 --layers 4 --init-layers 0,2,3,5 --embedding-rank 64 --train-word-embeddings ;;
  L6r64) probe L6r64 --layers 6 --init-layers 0,1,2,3,4,5 --embedding-rank 64 --train-word-embeddings ;;
  *) echo "usage: $0 base | kdL3 | kdL3r64 | L3 | L3t | L3r64 | L3r64f | L3r128 | L4r64 | L6r64" >&2; exit 2 ;;
esac
