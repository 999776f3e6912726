#!/usr/bin/env bash
# Stage 3 and 4 of scripts/train-default.sh: compresses the trained student
# into models/default.ptag and measures what the model card reports, on the
# dev splits of ../shared/data:
#   runs/default-eval/{teacher,student}-fp32.ptag  the same networks unquantized (sizes),
#   runs/default-eval/teacher-int8.ptag           and the teacher in int8 (benches)
#   runs/default-eval/<name>.<task>[.asr].json     eval --json of each network, task, form:
#                                                  f32 checkpoints and int8 files
#   runs/default-eval/ood.<file>.<tasks>.<data>.json     out-of-domain false slots (ood --json)
#   runs/default-eval/summary.md                         the tables of models/default.md
# Re-running redoes only what is missing (delete a file to redo it).
# TEACHER and STUDENT name the checkpoints' run folders under runs/
# (default: default-teacher, default-student; the shipped v4 model:
# TEACHER=teacher-v4 STUDENT=v4/student). f32 figures come from the networks'
# unquantized .ptag files through the runtime (`--fp32` files), int8 ones from
# the int8 files, so both columns are scored through the same path.
out=runs/default-eval
source "$(dirname "$0")/eval-common.sh"
teacher=runs/${TEACHER:-default-teacher}/best
student=runs/${STUDENT:-default-student}/best

compress() { # checkpoint out [flags]
  local ck=$1 dst=$2
  shift 2
  [[ -f $dst ]] && return
  say "compress $ck -> $dst $*"
  "$tool" compress --checkpoint "$ck" --out "$dst.tmp" "$@" >>"$log" 2>&1
  mv "$dst.tmp" "$dst"
}
compress "$student" models/default.ptag
compress "$teacher" "$out/teacher-int8.ptag" --no-eval
# Unquantized files of the same networks.
compress "$student" "$out/student-fp32.ptag" --fp32 --no-eval
compress "$teacher" "$out/teacher-fp32.ptag" --fp32 --no-eval

# name what: every file through the runtime (`eval --model`).
for spec in teacher-fp32:--model=$out/teacher-fp32.ptag \
  student-fp32:--model=$out/student-fp32.ptag \
  teacher-int8:--model=$out/teacher-int8.ptag default:--model=models/default.ptag; do
  name=${spec%%:*} what=${spec#*:}
  for t in atis snips bc5cdr ncbi; do
    for form in "" asr; do
      [[ -z $form || $t == bc5cdr || $t == ncbi ]] || continue
      # The runtime's f32 path is the scalar reference (minutes per health
      # dev set): f32 files are scored on the sentences as given only.
      [[ -n $form && $name == *-fp32 ]] && continue
      dst=$out/$name.$t${form:+.$form}.json
      [[ -f $dst ]] && continue
      say "eval $what $t ${form:-as given}"
      "$tool" eval "$what" --task "$t" --data "$DATA/${sets[$t]}" ${form:+--asr} --json >"$dst.tmp"
      mv "$dst.tmp" "$dst"
    done
  done
done

# The shipped file with the runtime's default options (has-slot gate at 0.5).
for t in atis snips bc5cdr ncbi; do
  dst=$out/default-gate.$t.json
  [[ -f $dst ]] && continue
  say "eval models/default.ptag $t, gate on"
  "$tool" eval --model models/default.ptag --gate 0.5 --task "$t" --data "$DATA/${sets[$t]}" --json >"$dst.tmp"
  mv "$dst.tmp" "$dst"
done

# Out-of-domain false slots: voice-assistant utterances through the health
# heads (SNIPS dev; ATIS dev), PubMed sentences (BC5CDR dev, in ASR form, as a
# voice assistant would hear them) through the voice-assistant heads, and each
# voice task's heads on the other's utterances. For the shipped model (its
# has-slot heads trained with other domains' sentences as negatives) and for
# the int8 teacher (has-slot heads trained on their own data only).
ood() { # model-file tasks data-key [--asr]
  local f=$1 tasks=$2 key=$3
  shift 3
  local dst=$out/ood.$(basename "$f" .ptag).${tasks//,/+}.$key${1:+.asr}.json
  [[ -f $dst ]] && return
  say "ood $f $tasks on $key $*"
  "$tool" ood --model "$f" --tasks "$tasks" --data "$DATA/${sets[$key]}" "$@" --json >"$dst.tmp"
  mv "$dst.tmp" "$dst"
}
for f in models/default.ptag "$out/teacher-int8.ptag"; do
  ood "$f" bc5cdr,ncbi snips
  ood "$f" bc5cdr,ncbi atis
  ood "$f" atis,snips bc5cdr --asr
  ood "$f" atis snips
  ood "$f" snips atis
done

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
print("| dev set | shipped, gate off | shipped, gate on (default options) |")
print("|---|---|---|")
for t in ("atis", "snips", "bc5cdr", "ncbi"):
    off, on = load(f"default.{t}.json"), load(f"default-gate.{t}.json")
    if off and on:
        print(f"| {t} slot F1 | {100 * off['f1']:.2f} | {100 * on['f1']:.2f} |")
print()
print("| model | out-of-domain sentences | through | false slots / 1,000, gate off | gate on | sentences with a slot, off → on |")
print("|---|---|---|---|---|---|")
for p in sorted(os.listdir(out), key=lambda p: (p.split(".")[1] != "default", p)):
    if not p.startswith("ood."):
        continue
    r = json.load(open(os.path.join(out, p)))
    parts = p.split(".")
    model = {"default": "shipped (int8 student)", "teacher-int8": "teacher int8"}.get(parts[1], parts[1])
    data = parts[3] + (" (ASR form)" if p.endswith(".asr.json") else "")
    print(f"| {model} | {data} dev ({r['sentences']}) | {', '.join(r['tasks'])} | {r['gate_off']['per_1000']:.1f} | "
          f"{r['gate_on']['per_1000']:.1f} | {r['gate_off']['sentences_with_slots']} → {r['gate_on']['sentences_with_slots']} |")
PY
say "summary in $out/summary.md"
cat "$out/summary.md"
