#!/usr/bin/env bash
# Single-task baseline on one dataset with the teacher's recipe (same heads, same
# hyper-parameters). Resumable; log in runs/single-TASK/train.log.
#   nohup nice -n 5 scripts/train-single.sh ncbi bio/NCBI-disease >/dev/null 2>&1 &
# $1 = task name, $2 = dataset folder under $PICOTAG_DATA; more arguments go to `train`.
source "$(dirname "$0")/train-common.sh"
task=$1 set=$2
shift 2
train_run "${RUN_NAME:-single-$task}" \
  --task "$task=$DATA/$set" \
  --epochs 1 --lr 1e-4 --batch-size 32 --max-len 128 --aux has_slot,mcls,mtcls \
  --seed 42 --save-every 100 "$@"
