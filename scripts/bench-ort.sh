#!/usr/bin/env bash
# picotag against ONNX Runtime int8, side by side on the same network and the
# same token ids (issue 17's baseline). Prints one JSON object (see
# scripts/bench_ort.py for what is timed and how).
#
#   scripts/bench-ort.sh [--no-amx] [--rounds N] [--warmup N] [--reps N]
#
# Models: models/default.ptag (or $PICOTAG_MODEL) and a random int8 model of
# MiniLM-L6's shape (6 x 384; speed does not depend on the weights).
# Makes a venv with onnxruntime and onnx under the build dir
# ($CARGO_TARGET_DIR or target/), exports each .ptag with
# `picotag-quantize export-onnx`, and builds the `ort_baseline` example (crate picotag-bench) in
# release. Run it on a quiet machine; say which CPU (it is in the output).
# PICOTAG_BENCH_BIN=PATH uses an ort_baseline binary built otherwise (it must
# be optimized like --release), PICOTAG_QUANTIZE=PATH a picotag-quantize.
# --no-amx keeps both sides off AMX on a CPU that has it, as on one without:
# picotag through PICOTAG_ISA=avx512vnni, ONNX Runtime through
# scripts/no-amx.c (an LD_PRELOAD shim that refuses the arch_prctl with which
# its MLAS asks Linux for the tile state).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
work=$target/bench-ort
venv=$target/ort-venv
mkdir -p "$work"

if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c "import onnxruntime, onnx" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q onnxruntime==1.31.1 onnx==1.23.2 >&2
fi

# $PICOTAG_BENCH_BIN / $PICOTAG_QUANTIZE: already built binaries to use instead.
bin=${PICOTAG_BENCH_BIN:-}
if [[ -z $bin ]]; then
  cargo build -q --release -p picotag-bench --example ort_baseline >&2
  bin=$target/release/examples/ort_baseline
fi
quantize=${PICOTAG_QUANTIZE:-}
if [[ -z $quantize ]]; then
  cargo build -q -p picotag-quantize >&2
  quantize=$target/debug/picotag-quantize
fi

no_amx=()
if [[ ${1:-} == --no-amx ]]; then
  shift
  cc -O2 -shared -fPIC -o "$work/no-amx.so" "$root/scripts/no-amx.c" -ldl
  export PICOTAG_ISA=avx512vnni
  no_amx=(env "LD_PRELOAD=$work/no-amx.so")
  set -- --no-amx "$@"
fi

default=${PICOTAG_MODEL:-$root/models/default.ptag}
minilm=$work/random-minilm.ptag
"$bin" minilm --out "$minilm" >&2

specs=()
for pair in "default=$default" "minilm_6x384=$minilm"; do
  name=${pair%%=*}
  ptag=${pair#*=}
  "$quantize" export-onnx --model "$ptag" --out "$work/$name.onnx" >&2
  "$bin" ids --model "$ptag" --out "$work/$name.utts.json" >&2
  specs+=(--model "$name=$ptag=$work/$name.onnx=$work/$name.utts.json")
done

"${no_amx[@]}" "$venv/bin/python" "$root/scripts/bench_ort.py" --binary "$bin" "${specs[@]}" "$@"
