#!/usr/bin/env bash
# The student of the unified teacher with domains (issue #9's proposal):
# the recipe of the default student (scripts/train-default.sh, stage 2) from
# runs/unified-domains/best. distill reads the type map from the teacher, so
# the student has the same one slot head (task `slots`).
#   nohup nice -n 5 scripts/train-unified-student.sh >/dev/null 2>&1 &
# Resumable like every train-*.sh; log: runs/unified-student/train.log.
TEACHER=${TEACHER:-unified-domains} RUN_NAME=${RUN_NAME:-unified-student} \
  exec "$(dirname "$0")/train-student.sh" --epochs 3 --lr 3e-4 --train-word-embeddings "$@"
