#!/usr/bin/env bash
# Out-of-scope rejection measured honestly (issue #21): ATIS and SNIPS trained
# without some of their intents (`hold-out=`), so that the dev utterances of
# those intents are requests the model never saw. `picotag-quantize reject`
# then scores how well the intent distribution tells them from in-scope ones.
#   nohup nice -n 5 scripts/train-ood-holdout.sh >/dev/null 2>&1 &
source "$(dirname "$0")/train-common.sh"
train_run "${RUN_NAME:-ood-holdout}" \
  --task "atis=$DATA/slu/atis,domain=atis,hold-out=atis_ground_service+atis_airline+atis_abbreviation+atis_aircraft" \
  --task "snips=$DATA/slu/snips,domain=snips,hold-out=RateBook+SearchScreeningEvent" \
  --epochs "${EPOCHS:-4}" --lr 5e-4 --batch-size 32 --max-len 128 \
  --aux has_slot --aux-weight 0.1 --seed 42 --save-every 100 "$@"
