#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian machine
# (idempotent; apt needs root). Then fetches the pretrained teacher.
#
#   scripts/setup.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
missing=()
command -v cc >/dev/null || missing+=(gcc)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v python3 >/dev/null || missing+=(python3 python3-pip)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
[[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ]] || missing+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if ((${#missing[@]})); then
  echo "== apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu

echo "== teacher: $("$root/scripts/fetch-teacher.sh")"
