#!/usr/bin/env bash
# Refine-then-fine-tune (issue #9): start from a finished multi-task teacher
# (default: runs/default-teacher/best, from train-teacher.sh) and train only
# its heads, each on its own task's batches, for 2 epochs at lr 1e-4 (the
# teacher used 5e-4). The encoder stays fixed, so the result is still one
# model with one shared forward pass.
#   RUN_NAME=refine-heads nohup nice -n 5 scripts/train-refine.sh >/dev/null 2>&1 &
# FROM=runs/OTHER/best refines another run (same tasks and --aux needed).
# Resumable like every train-*.sh. Measured: see docs/experiments.md.
source "$(dirname "$0")/train-common.sh"
REFINE_FROM=${FROM:-runs/default-teacher/best} train_run "${RUN_NAME:-refine-heads}" \
  --finetune-heads \
  --task "atis=$DATA/slu/atis" \
  --task "snips=$DATA/slu/snips" \
  --task "bc5cdr=$DATA/bio/BC5CDR,asr=1" \
  --task "ncbi=$DATA/bio/NCBI-disease,asr=1" \
  --epochs 2 --lr 1e-4 --batch-size 32 --max-len 128 \
  --aux has_slot,mcls,mtcls --aux-weight 0.1 \
  --seed 43 --save-every 100 "$@"
