#!/usr/bin/env bash
# The multi-task teacher: ATIS + SNIPS + BC5CDR (chemical + disease) + NCBI-disease,
# shared MiniLM-L6 encoder, one slot head per task, intent heads for ATIS/SNIPS,
# auxiliary bcls/mcls/mtcls heads, mixed schedule. Resumable; log in runs/teacher-mt/train.log.
#   nohup nice -n 5 scripts/train-teacher.sh >/dev/null 2>&1 &
# Extra arguments go to `picotag-quantize train` (e.g. --epochs 3).
source "$(dirname "$0")/train-common.sh"
train_run "${RUN_NAME:-teacher-mt}" \
  --task "atis=$DATA/slu/atis" \
  --task "snips=$DATA/slu/snips" \
  --task "bc5cdr=$DATA/bio/BC5CDR" \
  --task "ncbi=$DATA/bio/NCBI-disease" \
  --epochs 1 --lr 1e-4 --batch-size 32 --max-len 128 --aux bcls,mcls,mtcls \
  --seed 42 --save-every 100 "$@"
