#!/usr/bin/env bash
# The multi-task teacher, v4 (issue #16): the v3 tasks and heads, trained long
# enough to converge. Single-task runs of MiniLM-L6 at lr 5e-4 were still
# rising after 8-10 epochs (ATIS 97.4, SNIPS 94.9, NCBI 82.4 on dev), while v3
# saw 3. Each epoch is one pass over every task (examples-proportional mixing:
# ATIS, SNIPS, BC5CDR and NCBI each see each sentence once an epoch), and the
# health sets use their ASR form as augmentation (`asr=aug`: one form of each
# sentence per epoch, drawn at random) instead of a second copy of every
# sentence, which cut an epoch's tokens by ~40%.
#
# Resumable (checkpoint every 100 steps); log in runs/$RUN_NAME/train.log:
#   nohup nice -n 5 scripts/train-teacher-v4.sh >/dev/null 2>&1 &
# Run the same command again after a kill: it continues from runs/$RUN_NAME/last.
# One thread (the default of train-common.sh): with the gemm crate's AVX-512
# kernels a second thread adds ~2% (691 -> 708 tokens/s on a Xeon with
# AVX-512, `picotag-quantize bench`), so the other core is better left to
# other work. Same recipe: recipes/experiments/v4.toml.
source "$(dirname "$0")/train-common.sh"
train_run "${RUN_NAME:-teacher-v4}" \
  --task "atis=$DATA/slu/atis" \
  --task "snips=$DATA/slu/snips" \
  --task "bc5cdr=$DATA/bio/BC5CDR,asr=aug" \
  --task "ncbi=$DATA/bio/NCBI-disease,asr=aug" \
  --epochs "${EPOCHS:-8}" --lr 5e-4 --batch-size 32 --max-len 128 \
  --aux has_slot,mcls,mtcls --aux-weight 0.1 \
  --seed 42 --save-every 100 "$@"
