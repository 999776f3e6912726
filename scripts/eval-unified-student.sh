#!/usr/bin/env bash
# The int8 student of the unified teacher (scripts/train-unified-student.sh)
# against the shipped per-dataset student (runs/default-student), on the dev
# splits of ../shared/data, both compressed and measured the same way:
#   runs/unified-eval/{unified,default}-student.ptag    int8 files (compress; dev
#                                                       scores stored in the file)
#   runs/unified-eval/<file>.<task>[.asr].json           eval --json through the runtime
#   runs/unified-eval/unified-student-summary.md         the table of docs/experiments.md
# A unified file scores each dataset on the types it annotates. Re-running
# redoes only what is missing (delete a file to redo it); NAMES=default
# measures only the baseline (the table needs both). UNIFIED=NAME compares
# runs/NAME-student instead of runs/unified-student (e.g. UNIFIED=unified-neg
# for runs/unified-neg-student).
out=runs/unified-eval
unified=${UNIFIED:-unified}
source "$(dirname "$0")/eval-common.sh"

for name in ${NAMES:-$unified default}; do
  dst=$out/$name-student.ptag
  if [[ ! -f $dst ]]; then
    say "compress runs/$name-student/best -> $dst"
    "$tool" compress --checkpoint "runs/$name-student/best" --out "$dst.tmp" >>"$log" 2>&1
    mv "$dst.tmp" "$dst"
  fi
  for t in atis snips bc5cdr ncbi; do
    for form in "" asr; do
      [[ -z $form || $t == bc5cdr || $t == ncbi ]] || continue
      j=$out/$name-student.$t${form:+.$form}.json
      [[ -f $j ]] && continue
      say "eval $dst $t ${form:-as given}"
      "$tool" eval --model "$dst" --task "$t" --data "$DATA/${sets[$t]}" ${form:+--asr} --json >"$j.tmp"
      mv "$j.tmp" "$j"
    done
  done
done

[[ -f $out/$unified-student.ncbi.asr.json && -f $out/default-student.ncbi.asr.json ]] || exit 0
python3 - "$out" "$unified" >"$out/$unified-student-summary.md" <<'PY'
import json, sys
out, unified = sys.argv[1], sys.argv[2]
def rep(name, task, form=""):
    return json.load(open(f"{out}/{name}-student.{task}{'.' + form if form else ''}.json"))
rows = [("ATIS", "atis", ""), ("SNIPS", "snips", ""), ("BC5CDR", "bc5cdr", ""),
        ("BC5CDR, ASR form", "bc5cdr", "asr"), ("NCBI", "ncbi", ""), ("NCBI, ASR form", "ncbi", "asr")]
print("| dev, int8 through the runtime | per-dataset student (shipped recipe) | unified student | change |")
print("|---|---|---|---|")
means = {"default": [], unified: []}
for label, t, form in rows:
    cells = []
    for name in ("default", unified):
        r = rep(name, t, form)
        f1 = 100 * r["f1"]
        if not form:
            means[name].append(f1)
        ia = r.get("intent_accuracy")
        cells.append(f"{f1:.2f}" + (f" / {100 * ia:.2f}" if ia is not None else ""))
        if name == "default":
            base = f1
    print(f"| {label} | {cells[0]} | {cells[1]} | {f1 - base:+.2f} |")
m = {k: sum(v) / len(v) for k, v in means.items()}
print(f"| mean slot F1 (4 dev sets) | {m['default']:.2f} | {m[unified]:.2f} | {m[unified] - m['default']:+.2f} |")
PY
cat "$out/$unified-student-summary.md"
