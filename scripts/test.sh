#!/usr/bin/env bash
# The test command of the README: installs what is missing, then runs every
# test of the workspace on this machine, the C commands of ffi/README.md as
# written, and the kernel tests for aarch64 under qemu.
#
#   scripts/test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
cargo test --workspace
scripts/test-readme-c.sh
scripts/test-aarch64.sh
