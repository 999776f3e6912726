#!/usr/bin/env bash
# Task-adaptive pre-training experiment (issue #16): MLM on the health
# sets' train text, then the single-task NCBI fine-tune of the brief's
# baseline (`train --lr 5e-4 --aux none`, 8 epochs) from the adapted encoder.
# Resumable: run the same command again after a kill.
#
#   nohup nice -n 5 scripts/train-tapt.sh adapt >/dev/null 2>&1 &        # runs/tapt-health, log adapt.log
#   nohup nice -n 5 scripts/train-tapt.sh finetune 1 >/dev/null 2>&1 &   # NCBI from runs/tapt-health/epoch-1
#   nohup nice -n 5 scripts/train-tapt.sh baseline >/dev/null 2>&1 &     # NCBI from MiniLM itself
set -euo pipefail
source "$(dirname "$0")/train-common.sh"
bin=${CARGO_TARGET_DIR:-target}/release/picotag-quantize
case ${1:-} in
  adapt)
    mkdir -p runs/tapt-health
    cargo build -q -p picotag-quantize --release --no-default-features >>runs/tapt-health/adapt.log 2>&1
    teacher=$(scripts/fetch-teacher.sh | tail -n 1)
    "$bin" adapt --resume --init "$teacher" --out runs/tapt-health \
      --text "$DATA/bio/NCBI-disease" --text "$DATA/bio/BC5CDR" --text "$DATA/bio/BC2GM" \
      --epochs 2 --lr 1e-4 >>runs/tapt-health/adapt.log 2>&1
    ;;
  finetune)
    epoch=${2:?which epoch of runs/tapt-health}
    INIT="runs/tapt-health/epoch-$epoch" train_run "tapt$epoch-ncbi" \
      --task "ncbi=$DATA/bio/NCBI-disease" --lr 5e-4 --aux none --epochs 8 \
      --batch-size 32 --max-len 128 --seed 42 --save-every 100
    ;;
  baseline)
    train_run "single8-ncbi" --task "ncbi=$DATA/bio/NCBI-disease" --lr 5e-4 --aux none \
      --epochs 8 --batch-size 32 --max-len 128 --seed 42 --save-every 100
    ;;
  *) echo "usage: $0 adapt | finetune EPOCH | baseline" >&2; exit 2 ;;
esac
