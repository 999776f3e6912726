#!/usr/bin/env bash
# The recipe of the shipped model, models/default.ptag (see models/default.md):
#   1. teacher  runs/default-teacher: all-MiniLM-L6-v2, multi-task (ATIS, SNIPS,
#               BC5CDR with its ASR form, NCBI-disease with its ASR form), the
#               recipe of scripts/train-teacher.sh for $TEACHER_EPOCHS epochs;
#   2. student  runs/default-student: distilled (scripts/train-student.sh: 3 x 384
#               from teacher layers 1,3,5, rank-64 word embeddings, trained)
#               for $STUDENT_EPOCHS epochs at lr $STUDENT_LR;
#   3. compress models/default.ptag (int8; dev scores measured on the file) and,
#               for the model card, runs/default-eval/{teacher,student}-fp32.ptag;
#   4. eval     runs/default-eval/*.json: dev F1 of the three files on every
#               task, the health sets in both forms, and the out-of-domain
#               false slots (scripts/eval-default.sh).
# Every stage resumes or is skipped when done: after a kill, run it again.
# Run time measured on a 2-core AMD EPYC (2026-12-01, one training thread,
# the other core mostly busy): teacher 56 min, student 47 min, compression
# and evaluation 8 min, about 1 h 50 min in all (plus ~10 min to build).
#   nohup nice -n 5 scripts/train-default.sh >/dev/null 2>&1 &
# Logs: runs/default-*/train.log and runs/default-eval/eval.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
: "${TEACHER_EPOCHS:=3}" "${STUDENT_EPOCHS:=3}" "${STUDENT_LR:=3e-4}"

RUN_NAME=default-teacher "$here/train-teacher.sh" --epochs "$TEACHER_EPOCHS"
TEACHER=default-teacher RUN_NAME=default-student "$here/train-student.sh" \
  --epochs "$STUDENT_EPOCHS" --lr "$STUDENT_LR" --train-word-embeddings
"$here/eval-default.sh"
