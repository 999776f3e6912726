#!/usr/bin/env bash
# What the shipped model does with non-English sentences: N German, Spanish
# and Italian sentences (one-line sayings of Debian's fortunes-de,
# fortunes-es and fortunes-it, 4 to 20 words, the first N of each language
# in file order) through the quick-start example with the default options,
# then per language: sentences with a slot, slots per sentence, and the
# intents the voice-assistant tasks give (confident: score >= 0.9).
#
#   scripts/eval-foreign.sh [N]        (default 100 per language)
#
# KEEP_SENTENCES=DIR also writes the sentences to DIR/{de,es,it}.txt (one a
# line), e.g. for `picotag-quantize reject --ood DIR/de.txt`.
#
# Installs the three fortunes packages when missing (apt, needs root).
# The model is English-only: nothing here is a right answer; every slot and
# every intent on these sentences is one an app would act on wrongly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
n=${1:-100}
dir=/usr/share/games/fortunes
missing=()
for l in de es it; do [[ -d $dir/$l ]] || missing+=("fortunes-$l"); done
if ((${#missing[@]})); then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$dir" "$n" "$tmp" <<'EOF'
import os, re, sys
base, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for lang in ["de", "es", "it"]:
    picked = []
    for name in sorted(os.listdir(os.path.join(base, lang))):
        p = os.path.join(base, lang, name)
        # Skip the IRC quotes (English mixed in) and non-text files.
        if (name.endswith((".dat", ".u8")) or "channel" in name or "debian" in name
                or os.path.islink(p) or not os.path.isfile(p)):
            continue
        text = open(p, encoding="utf-8", errors="replace").read()
        for entry in re.split(r"^%\s*$", text, flags=re.M):
            lines = [l.strip() for l in entry.strip().splitlines()]
            # One-line sayings only (no attribution line, no verse, no art).
            if len(lines) != 1 or "\ufffd" in lines[0] or "\x1b" in lines[0]:
                continue
            # Drop a trailing attribution (" -- Name --").
            line = re.sub(r"\s+--.*$", "", lines[0]).strip()
            words = line.split()
            if 4 <= len(words) <= 20 and line not in picked:
                picked.append(line)
    with open(os.path.join(out, lang + ".txt"), "w", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s in picked[:n]))
EOF

if [[ -n ${KEEP_SENTENCES:-} ]]; then
  mkdir -p "$KEEP_SENTENCES"
  cp "$tmp"/{de,es,it}.txt "$KEEP_SENTENCES"/
fi
cargo build --release --example tag -q
exe=${CARGO_TARGET_DIR:-target}/release/examples/tag
for l in de es it; do
  "$exe" <"$tmp/$l.txt" >"$tmp/$l.jsonl"
done

python3 - "$tmp" <<'EOF'
import collections, json, os, sys
tmp = sys.argv[1]
print("| language | sentences | with a slot | slots / sentence | intents given | of which score >= 0.9 | most frequent confident intents |")
print("|---|---|---|---|---|---|---|")
for lang in ["de", "es", "it"]:
    rows = [json.loads(l) for l in open(os.path.join(tmp, lang + ".jsonl"), encoding="utf-8")]
    slots = sum(len(r["slots"]) for r in rows)
    with_slot = sum(1 for r in rows if r["slots"])
    intents = [i for r in rows for i in r["intents"]]
    confident = [i for i in intents if i["score"] >= 0.9]
    top = collections.Counter(f'{i["task"]}/{i["label"]}' for i in confident).most_common(3)
    print(f"| {lang} | {len(rows)} | {with_slot} | {slots / max(len(rows), 1):.2f} | "
          f"{len(intents)} | {len(confident)} | {', '.join(f'{k} ({v})' for k, v in top)} |")
slot_types = collections.Counter()
examples = []
for lang in ["de", "es", "it"]:
    for l in open(os.path.join(tmp, lang + ".jsonl"), encoding="utf-8"):
        r = json.loads(l)
        for s in r["slots"]:
            slot_types[f'{s["task"]}/{s["label"]}'] += 1
        if r["slots"] and len(examples) < 6 and len(r["text"]) < 70:
            examples.append((r["text"], [(s["label"], s["text"], round(s["score"], 2)) for s in r["slots"]]))
print()
print("slot types:", ", ".join(f"{k} {v}" for k, v in slot_types.most_common(8)))
for t, s in examples:
    print(f"  {t!r}: {s}")
EOF
