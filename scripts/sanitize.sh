#!/usr/bin/env bash
# The runtime's tests under valgrind (no nightly toolchain here for ASan/TSan
# on the whole test suite):
#   memcheck  invalid reads/writes, uses of uninitialised memory, definite leaks:
#             the format, tagger, odd-input, alloc-free, fast-path and stress tests;
#   helgrind  data races and lock-order errors: the stress test (threads
#             sharing one Tagger); only reports with a picotag frame fail
#             (helgrind flags std's atomics-based synchronisation).
# Exits non-zero on the first test binary valgrind reports an error in; a log
# per run in target/valgrind/. Installs valgrind when missing.
#
#   scripts/sanitize.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! command -v valgrind >/dev/null; then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends valgrind
fi
tests=(format tagger odd_inputs alloc_free fast_path stress)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
exe_of() { # the test binary of $1 from cargo's list
  grep -o "(target/debug/deps/$1-[0-9a-f]*)" <<<"$built" | tr -d '()' | tail -n 1
}
built=$(cargo test -p picotag "${args[@]}" --no-run 2>&1)
mkdir -p target/valgrind
run() { # tool test [test args...]
  local tool=$1 t=$2
  shift 2
  local exe log=target/valgrind/$tool-$t.log
  exe=$(exe_of "$t")
  [[ -n $exe ]] || { echo "no test binary for $t" >&2; exit 2; }
  echo "== valgrind --tool=$tool $t $*"
  local extra=()
  [[ $tool == memcheck ]] && extra=(--leak-check=full --errors-for-leak-kinds=definite)
  if ! valgrind --tool="$tool" --error-exitcode=99 "${extra[@]}" --log-file="$log" \
    "$exe" --test-threads=1 "$@" >/dev/null; then
    grep -E "ERROR SUMMARY" "$log" | tail -n 1
    if [[ $tool == helgrind ]]; then
      # helgrind does not model synchronisation built on atomics, so std's own
      # (the test harness's channels, thread start-up and the stack-overflow
      # handler's thread map) shows up as races: count only the reports with
      # a frame of picotag's code.
      local ours
      ours=$(awk '/Possible data race|lock order/ {r=1} r && /picotag::/ {n++; r=0} /^==[0-9]+== ---/ {r=0} END {print n+0}' "$log")
      echo "   reports with a picotag frame: $ours"
      ((ours == 0)) && return 0
    fi
    echo "!! valgrind --tool=$tool found errors in $t: see $log" >&2
    grep -E "definitely lost" "$log" >&2 || true
    exit 1
  fi
  grep -E "ERROR SUMMARY" "$log" | tail -n 1
}
for t in "${tests[@]}"; do run memcheck "$t"; done
run helgrind stress shared_tagger_short
