#!/usr/bin/env bash
# Distils a trained teacher into the small student of issue 4/7: 3 layers x 384
# initialised from teacher layers 1,3,5, word embeddings factorized at rank 64
# (PCA of the teacher's), has-slot heads trained with other domains' sentences
# as negatives. Resumable; log in runs/NAME/train.log.
#   TEACHER=teacher-mt-v2 nohup nice -n 5 scripts/train-student.sh >/dev/null 2>&1 &
# Environment: TEACHER (run name under runs/, default teacher-mt; its best/ is used),
# RUN_NAME (default student-$TEACHER), TASKS (default "atis snips bc5cdr ncbi"),
# STUDENT_ARCH (below).
# Extra arguments go to `picotag-quantize distill` (e.g. --epochs 1).
source "$(dirname "$0")/train-common.sh"
teacher=${TEACHER:-teacher-mt}
name=${RUN_NAME:-student-$teacher}
# Each task's data, options (the health sets also train on their ASR form, as
# the teacher did) and domain: the sentences of one domain teach the has-slot
# heads of the other domains' tasks to say "no" (the runtime's gate).
declare -A sets=([atis]=slu/atis [snips]=slu/snips [bc5cdr]=bio/BC5CDR [ncbi]=bio/NCBI-disease)
declare -A opts=([atis]=domain=atis [snips]=domain=snips
  [bc5cdr]=asr=1,domain=health [ncbi]=asr=1,domain=health)
task_args=()
for t in ${TASKS:-atis snips bc5cdr ncbi}; do
  [[ -n ${sets[$t]:-} ]] || { echo "unknown task $t" >&2; exit 2; }
  task_args+=(--task "$t=$DATA/${sets[$t]},${opts[$t]}")
done
mkdir -p "runs/$name"
log="runs/$name/train.log"
cargo build -q -p picotag-quantize --release --no-default-features >>"$log" 2>&1
# The student's shape (and where its layers start from); STUDENT_ARCH replaces it, e.g.
#   STUDENT_ARCH="--layers 4 --hidden 256 --heads 4 --intermediate 1024 --project-embeddings"
read -r -a arch <<<"${STUDENT_ARCH:---layers 3 --hidden 384 --heads 12 --intermediate 1536 --init-layers 1,3,5}"
args=(distill --resume --out "runs/$name" --teacher "runs/$teacher/best" "${task_args[@]}"
  "${arch[@]}"
  --embedding-rank 64 --temperature 2 --alpha-kd 0.5 --alpha-gold 0.5
  --aux-weight 0.1 --epochs 3 --lr 1e-4 --batch-size 32 --max-len 128 --seed 42 --save-every 100 "$@")
{
  echo "== $(date -u +%FT%TZ) start/resume: $name (RAYON_NUM_THREADS=$RAYON_NUM_THREADS)"
  echo "== target/release/picotag-quantize ${args[*]}"
} >>"$log"
target/release/picotag-quantize "${args[@]}" >>"$log" 2>&1
echo "== $(date -u +%FT%TZ) finished: $name" >>"$log"
