#!/usr/bin/env bash
# The measurements of issue #9 on the dev splits of ../shared/data, from the
# runs of scripts/train-teacher.sh (RUN_NAME=default-teacher, per-dataset
# heads), scripts/train-unified.sh (unified-teacher) and scripts/train-refine.sh
# (refine-heads):
#   runs/unified-eval/conflicts.<run>.<task>.<all|domain>.json
#       `conflicts --json` of a run's slot heads (all, or the dev set's own
#       domain's) on a dev set
#   runs/unified-eval/summary.md                    the tables of docs/experiments.md
# The dev F1 of each run is its last line of runs/<run>/dev.jsonl (the run's
# own per-epoch evaluation: f32 checkpoint, every dev sentence; a unified run
# scores each dataset on the types it annotates).
# CONFLICT_RUNS="default-teacher refine-heads" picks the runs whose slot heads
# are counted (default: default-teacher). Re-running redoes only what is
# missing (delete a file to redo it).
out=runs/unified-eval
source "$(dirname "$0")/eval-common.sh"
# Every slot head (`all`), and only the heads of the dev set's own domain
# (`domain`: what is left to reconcile once the has-slot gate has silenced
# the other domain's heads).
declare -A domain=([atis]=atis,snips [snips]=atis,snips [bc5cdr]=bc5cdr,ncbi [ncbi]=bc5cdr,ncbi)
for run in ${CONFLICT_RUNS:-default-teacher}; do
  [[ -d runs/$run/best ]] || continue
  for t in atis snips bc5cdr ncbi; do
    for heads in all domain; do
      dst=$out/conflicts.$run.$t.$heads.json
      [[ -f $dst ]] && continue
      echo "== $(date -u +%FT%TZ) conflicts $run $t $heads" >>"$log"
      only=()
      [[ $heads == domain ]] && only=(--tasks "${domain[$t]}")
      "$tool" conflicts --checkpoint "runs/$run/best" --type-map configs/type-map.json \
        "${only[@]}" --data "$DATA/${sets[$t]}" --json >"$dst.tmp"
      mv "$dst.tmp" "$dst"
    done
  done
done

python3 - "$out" >"$out/summary.md" <<'PY'
import json, os, sys
out = sys.argv[1]
runs = [("default-teacher", "per-dataset heads"), ("unified-teacher", "unified head"),
        ("unified-domains", "unified head, domains"), ("refine-heads", "per-dataset, heads fine-tuned")]
def last(run):
    p = f"runs/{run}/dev.jsonl"
    if not os.path.exists(p):
        return None
    lines = [l for l in open(p) if l.strip()]
    return json.loads(lines[-1]) if lines else None
dev = {r: last(r) for r, _ in runs}
have = [(r, n) for r, n in runs if dev[r]]
print("| dev set | " + " | ".join(f"{n} (`runs/{r}`, epoch {dev[r]['epoch']})" for r, n in have) + " |")
print("|---|" + "---|" * len(have))
def cell(rep):
    c = f"{100 * rep['f1']:.2f}"
    if rep.get("intent_accuracy") is not None:
        c += f" / {100 * rep['intent_accuracy']:.2f}"
    return c
for t in ("atis", "snips", "bc5cdr", "ncbi"):
    name = t + (" slot F1 / intent acc" if t in ("atis", "snips") else " F1")
    print(f"| {name} | " + " | ".join(cell(dev[r]["tasks"][t]) for r, _ in have) + " |")
    if t == "bc5cdr":
        per = lambda rep: " / ".join(f"{k} {100 * v['f1']:.2f}" for k, v in sorted(rep["per_type"].items()))
        print("| bc5cdr per type | " + " | ".join(per(dev[r]["tasks"][t]) for r, _ in have) + " |")
    if t in ("bc5cdr", "ncbi"):
        print(f"| {t} (ASR form) F1 | " + " | ".join(cell(dev[r]["tasks"][t]["asr"]) for r, _ in have) + " |")
print("| mean F1 | " + " | ".join(f"{100 * dev[r]['mean_f1']:.2f}" for r, _ in have) + " |")
for r in ("unified-teacher", "unified-domains"):
    if not dev.get(r):
        continue
    u = dev[r]["tasks"]
    print()
    print(f"`{r}`, spans of types the dev set does not annotate (not scored): " +
          ", ".join(f"{t} {u[t]['foreign_spans']} in {u[t]['sentences']} sentences" for t in ("atis", "snips", "bc5cdr", "ncbi")))
print()
print("| run | dev set | sentences | slot heads | spans | conflicting pairs | sentences with a conflict | agreeing duplicates |")
print("|---|---|---|---|---|---|---|---|")
for r, _ in runs:
    for t in ("atis", "snips", "bc5cdr", "ncbi"):
        for heads in ("all", "domain"):
            p = os.path.join(out, f"conflicts.{r}.{t}.{heads}.json")
            if not os.path.exists(p):
                continue
            c = json.load(open(p))
            print(f"| {r} | {t} | {c['sentences']} | {', '.join(c['heads'])} | {c['spans']} | {c['conflicting_pairs']} | "
                  f"{c['sentences_with_conflict']} | {c['agreeing_duplicates']} |")
PY
cat "$out/summary.md"
