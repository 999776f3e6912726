#!/usr/bin/env bash
# Stage 3 and 4 of scripts/train-default.sh: compresses the trained student
# into models/default.ptag and measures what the model card reports, on the
# dev splits of ../shared/data:
#   runs/default-eval/{teacher,student}-fp32.ptag  the same networks unquantized,
#   runs/default-eval/teacher-int8.ptag           and the teacher in int8 (benches)
#   runs/default-eval/<file>.<task>[.asr].json           eval --json of each file, task, form
#   runs/default-eval/ood.<tasks>.<data>.json            out-of-domain false slots (ood --json)
#   runs/default-eval/summary.md                         the tables of models/default.md
# Re-running redoes only what is missing (delete a file to redo it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
DATA=${PICOTAG_DATA:-$root/../shared/data}
out=runs/default-eval
mkdir -p "$out"
log=$out/eval.log
cargo build -q -p picotag-quantize --release --no-default-features >>"$log" 2>&1
tool=target/release/picotag-quantize
say() { echo "== $(date -u +%FT%TZ) $*" | tee -a "$log" >&2; }

compress() { # checkpoint out [flags]
  local ck=$1 dst=$2
  shift 2
  [[ -f $dst ]] && return
  say "compress $ck -> $dst $*"
  "$tool" compress --checkpoint "$ck" --out "$dst.tmp" "$@" >>"$log" 2>&1
  mv "$dst.tmp" "$dst"
}
compress runs/default-student/best models/default.ptag
compress runs/default-student/best "$out/student-fp32.ptag" --fp32
compress runs/default-teacher/best "$out/teacher-fp32.ptag" --fp32
compress runs/default-teacher/best "$out/teacher-int8.ptag"

declare -A sets=([atis]=slu/atis/valid [snips]=slu/snips/valid
  [bc5cdr]=bio/BC5CDR/devel.tsv [ncbi]=bio/NCBI-disease/devel.tsv)
for f in models/default.ptag "$out/student-fp32.ptag" "$out/teacher-fp32.ptag" "$out/teacher-int8.ptag"; do
  name=$(basename "$f" .ptag)
  for t in atis snips bc5cdr ncbi; do
    for form in "" asr; do
      [[ -z $form || $t == bc5cdr || $t == ncbi ]] || continue
      dst=$out/$name.$t${form:+.$form}.json
      [[ -f $dst ]] && continue
      say "eval $f $t ${form:-as given}"
      "$tool" eval --model "$f" --task "$t" --data "$DATA/${sets[$t]}" ${form:+--asr} --json >"$dst.tmp"
      mv "$dst.tmp" "$dst"
    done
  done
done

# Out-of-domain false slots of the shipped model: voice-assistant utterances
# through the health heads (SNIPS dev; ATIS dev) and PubMed sentences (BC5CDR
# dev, in ASR form, as a voice assistant would hear them) through the
# voice-assistant heads.
ood() { # tasks data-key [--asr]
  local tasks=$1 key=$2
  shift 2
  local dst=$out/ood.${tasks//,/+}.$key${1:+.asr}.json
  [[ -f $dst ]] && return
  say "ood $tasks on $key $*"
  "$tool" ood --model models/default.ptag --tasks "$tasks" --data "$DATA/${sets[$key]}" "$@" --json >"$dst.tmp"
  mv "$dst.tmp" "$dst"
}
ood bc5cdr,ncbi snips
ood bc5cdr,ncbi atis
ood atis,snips bc5cdr --asr
ood atis snips
ood snips atis

python3 - "$out" models/default.ptag >"$out/summary.md" <<'PY'
import json, os, sys
out, model = sys.argv[1], sys.argv[2]
def load(p):
    p = os.path.join(out, p)
    return json.load(open(p)) if os.path.exists(p) else None
files = [("teacher-fp32", "teacher f32"), ("teacher-int8", "teacher int8"),
         ("student-fp32", "student f32"), ("default", "student int8 (shipped)")]
sizes = {f: os.path.getsize(f"{out}/{f}.ptag") for f, _ in files if f != "default"}
sizes["default"] = os.path.getsize(model)
rows = [("atis", ""), ("snips", ""), ("bc5cdr", ""), ("bc5cdr", "asr"), ("ncbi", ""), ("ncbi", "asr")]
print("| dev set | " + " | ".join(l for _, l in files) + " |")
print("|---|" + "---|" * len(files))
for t, form in rows:
    cells = []
    for f, _ in files:
        r = load(f"{f}.{t}{'.' + form if form else ''}.json")
        if r is None:
            cells.append("–"); continue
        c = f"{100 * r['f1']:.2f}"
        if r.get("intent_accuracy") is not None:
            c += f" / {100 * r['intent_accuracy']:.2f}"
        cells.append(c)
    name = t + (" (ASR form)" if form else "") + (" slot F1 / intent acc" if t in ("atis", "snips") else " F1")
    print(f"| {name} | " + " | ".join(cells) + " |")
for t in ("bc5cdr",):
    for form in ("", "asr"):
        per = []
        for f, _ in files:
            r = load(f"{f}.{t}{'.' + form if form else ''}.json")
            per.append(" / ".join(f"{k} {100 * v['f1']:.2f}" for k, v in sorted(r["per_type"].items())) if r else "–")
        print(f"| {t}{' (ASR form)' if form else ''} per type | " + " | ".join(per) + " |")
print("| file size (bytes) | " + " | ".join(f"{sizes[f]:,}" for f, _ in files) + " |")
print()
print("| out-of-domain sentences | through | false slots / 1,000, gate off | gate on | sentences with a slot, off → on |")
print("|---|---|---|---|---|")
for p in sorted(os.listdir(out)):
    if not p.startswith("ood."):
        continue
    r = json.load(open(os.path.join(out, p)))
    data = p.split(".")[2] + (" (ASR form)" if p.endswith(".asr.json") else "")
    print(f"| {data} dev ({r['sentences']}) | {', '.join(r['tasks'])} | {r['gate_off']['per_1000']:.1f} | "
          f"{r['gate_on']['per_1000']:.1f} | {r['gate_off']['sentences_with_slots']} → {r['gate_on']['sentences_with_slots']} |")
PY
say "summary in $out/summary.md"
cat "$out/summary.md"
