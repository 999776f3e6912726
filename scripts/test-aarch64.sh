#!/usr/bin/env bash
# Cross-compile the kernel crate's tests (picotag-kernels) for aarch64 and run them under
# qemu-user, with the NEON, dot-product and int8 matrix-multiply paths forced in turn.
#
#   scripts/test-aarch64.sh [extra cargo test args...]
#
# Installs what is missing (rustup target, Debian's gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross, qemu-user; needs root for apt). The linker and the
# qemu runner are configured in .cargo/config.toml. Exits non-zero on failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=aarch64-unknown-linux-gnu

if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi
missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
[[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ]] || missing+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if ((${#missing[@]})); then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for isa in neon neondot neoni8mm; do
  echo "== aarch64 kernel tests, PICOTAG_ISA=$isa =="
  PICOTAG_ISA=$isa cargo test -p picotag-kernels --target "$target" --lib "$@"
done
