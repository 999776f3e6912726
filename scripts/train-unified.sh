#!/usr/bin/env bash
# The multi-task teacher with ONE slot head over the union of the datasets'
# types (issue #9): the recipe of train-teacher.sh (so runs/default-teacher is
# its per-dataset baseline) plus `--head unified --type-map configs/type-map.json`.
# configs/type-map.json merges BC5CDR and NCBI Disease, and the plain city and
# state types of ATIS and SNIPS; every other type stays its own. The slot loss
# is the partial-label one: a gold O of dataset D may be any type D does not
# annotate.
#   RUN_NAME=unified-teacher nohup nice -n 5 scripts/train-unified.sh >/dev/null 2>&1 &
# With DOMAINS=1 (RUN_NAME=unified-domains) the voice and health datasets rule
# out each other's types: see train-teacher.sh.
# Resumable like every train-*.sh. Measured: see docs/experiments.md ("Unified head").
RUN_NAME=${RUN_NAME:-unified-teacher} exec "$(dirname "$0")/train-teacher.sh" \
  --head unified --type-map configs/type-map.json "$@"
