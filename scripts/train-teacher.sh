#!/usr/bin/env bash
# The multi-task teacher (v3): ATIS + SNIPS + BC5CDR (one task, Chemical and
# Disease) + NCBI-disease on a shared MiniLM-L6 encoder; one slot head per task,
# intent heads for ATIS/SNIPS, auxiliary has-slot/mcls/mtcls heads at weight 0.1,
# mixed schedule. The health tasks also train on the ASR form of each sentence
# (lower-cased, punctuation removed; `asr=1`) and report dev in that form too.
#
# lr 5e-4: at 1e-4 the model underfits badly (ATIS 1 epoch: dev F1 61, train
# F1 close to dev); 5e-4 gives 81.5 (83.1 with aux weight 0.1) in the same
# 140 steps — see docs/experiments.md.
#
# Resumable (checkpoint every 100 steps); log in runs/$RUN_NAME/train.log:
#   RUN_NAME=teacher-v3 nohup nice -n 5 scripts/train-teacher.sh >/dev/null 2>&1 &
# Run the same command again after a kill: it continues from runs/$RUN_NAME/last.
# Extra arguments go to `picotag-quantize train` (they change the recipe, so a
# resumed run must get the same ones).
#
# DOMAINS=1 puts ATIS/SNIPS in domain `voice` and the health tasks in domain
# `health` (`domain=` of --task: gate negatives, and for a unified head the
# other domain's types are ruled out where a dataset says O).
source "$(dirname "$0")/train-common.sh"
voice=${DOMAINS:+,domain=voice}
health=${DOMAINS:+,domain=health}
train_run "${RUN_NAME:-teacher-v3}" \
  --task "atis=$DATA/slu/atis$voice" \
  --task "snips=$DATA/slu/snips$voice" \
  --task "bc5cdr=$DATA/bio/BC5CDR,asr=1$health" \
  --task "ncbi=$DATA/bio/NCBI-disease,asr=1$health" \
  --epochs 3 --lr 5e-4 --batch-size 32 --max-len 128 \
  --aux has_slot,mcls,mtcls --aux-weight 0.1 \
  --seed 42 --save-every 100 "$@"
