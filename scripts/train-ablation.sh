#!/usr/bin/env bash
# Ablation: the single-task recipe WITHOUT auxiliary heads, to compare with
# scripts/train-single.sh (which has has-slot/mcls/mtcls). Log in runs/noaux-TASK/train.log.
#   nohup nice -n 5 scripts/train-ablation.sh ncbi bio/NCBI-disease >/dev/null 2>&1 &
source "$(dirname "$0")/train-common.sh"
task=$1 set=$2
shift 2
train_run "${RUN_NAME:-noaux-$task}" \
  --task "$task=$DATA/$set" \
  --epochs 1 --lr 1e-4 --batch-size 32 --max-len 128 --aux none \
  --seed 42 --save-every 100 "$@"
