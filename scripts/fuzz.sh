#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ (cargo-fuzz, libFuzzer + AddressSanitizer),
# one after the other, each for SECONDS seconds (default 60).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # targets: model_bytes utterance c_abi
#
# Works on the stable toolchain: cargo-fuzz's nightly-only flags
# (-Zsanitizer=address, -Cpasses=sancov-module) are allowed with
# RUSTC_BOOTSTRAP=1. Installs cargo-fuzz from crates.io when missing.
# New inputs go to fuzz/corpus/TARGET (git-ignored; the committed seeds in
# fuzz/seeds/TARGET are read too), crashes to fuzz/artifacts/TARGET; a log
# per target to fuzz/logs/TARGET.log, whose last lines give the executions.
# Any crash becomes a seed (fuzz/seeds/TARGET) so that the corpus-replay
# tests (tests/fuzz_corpus.rs, ffi/tests/fuzz_corpus.rs) keep checking it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model_bytes utterance c_abi)

export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

# Debug assertions on: integer overflow and slice bounds are checked too.
nice -n 19 cargo fuzz build -a

max_len() {
    case $1 in
        model_bytes) echo 65536 ;;   # the seed models are ~20 kB
        *) echo 4096 ;;
    esac
}

mkdir -p logs
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t: ${seconds}s"
    if ! nice -n 19 cargo fuzz run -a "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -max_len="$(max_len "$t")" \
        -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        >"logs/$t.log" 2>&1; then
        echo "!! $t found a crash: see fuzz/logs/$t.log and fuzz/artifacts/$t/"
        status=1
    fi
    grep -E '^Done|stat::number_of_executed_units|stat::peak_rss_mb' "logs/$t.log" || tail -n 5 "logs/$t.log"
done
exit $status
