#!/usr/bin/env bash
# Issue #16 probe: of what the 3-layer student loses on the health tasks, how
# much is depth (3 of MiniLM's 6 layers), how much the word embeddings, and
# how much distillation recovers? Single-task NCBI-disease runs with the
# brief's optimisation (lr 5e-4, 8 epochs, batch 32, no auxiliary heads);
# docs/experiments.md ("What a 3-layer student can reach on NCBI-disease").
#
#   scripts/train-shrink-probe.sh base    # runs/probe-base: MiniLM + a fresh NCBI head (1 step at lr 1e-12)
#   nohup nice -n 5 scripts/train-shrink-probe.sh NAME >/dev/null 2>&1 &
#
# Gold labels only (`distill --alpha-kd 0 --alpha-gold 1` from runs/probe-base:
# the teacher gives MiniLM's layers 1, 3, 5 and is never run):
#   L3      word embeddings full, frozen     L3t     full, trained
#   L3r64   rank 64, trained (the shipped student's)
#   L3r64f  rank 64, coefficients frozen (projection trained)
#   L3r128  rank 128, trained
# Distilled (KD 0.5 at T = 2 + gold 0.5) from the single-task NCBI teacher
# runs/single8-ncbi/best (`scripts/train-tapt.sh baseline`), its layers 1, 3, 5:
#   kdL3    full, frozen                     kdL3r64 rank 64, trained
#
# Resumable: run the same command again after a kill. Logs in runs/probe-NAME/train.log.
set -euo pipefail
source "$(dirname "$0")/train-common.sh"
bin=${CARGO_TARGET_DIR:-target}/release/picotag-quantize
task=(--task "ncbi=$DATA/bio/NCBI-disease")
gold=(runs/probe-base/last --alpha-kd 0 --alpha-gold 1)
kd=(runs/single8-ncbi/best --alpha-kd 0.5 --alpha-gold 0.5 --temperature 2)
# probe NAME TEACHER ARGS...: a 3-layer student from TEACHER's layers 1, 3, 5.
probe() {
  local name=$1 teacher=$2
  shift 2
  mkdir -p "runs/probe-$name"
  local log="runs/probe-$name/train.log"
  cargo build -q -p picotag-quantize --release --no-default-features >>"$log" 2>&1
  echo "== $(date -u +%FT%TZ) start/resume: probe-$name (RAYON_NUM_THREADS=$RAYON_NUM_THREADS)" >>"$log"
  "$bin" distill --resume --teacher "$teacher" --out "runs/probe-$name" "${task[@]}" \
    --lr 5e-4 --epochs 8 --batch-size 32 --max-len 128 --seed 42 --save-every 100 \
    --layers 3 --init-layers 1,3,5 "$@" >>"$log" 2>&1
  echo "== $(date -u +%FT%TZ) finished: probe-$name" >>"$log"
}
case ${1:-} in
  base) train_run probe-base "${task[@]}" --aux none --lr 1e-12 --max-steps 1 --epochs 1 ;;
  L3) probe L3 "${gold[@]}" ;;
  L3t) probe L3t "${gold[@]}" --train-word-embeddings ;;
  L3r64) probe L3r64 "${gold[@]}" --embedding-rank 64 --train-word-embeddings ;;
  L3r64f) probe L3r64f "${gold[@]}" --embedding-rank 64 ;;
  L3r128) probe L3r128 "${gold[@]}" --embedding-rank 128 --train-word-embeddings ;;
  kdL3) probe kdL3 "${kd[@]}" ;;
  kdL3r64) probe kdL3r64 "${kd[@]}" --embedding-rank 64 --train-word-embeddings ;;
  *) echo "usage: $0 base | L3 | L3t | L3r64 | L3r64f | L3r128 | kdL3 | kdL3r64" >&2; exit 2 ;;
esac
