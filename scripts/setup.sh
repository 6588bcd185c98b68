#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test sluice. Idempotent; safe to re-run.
#  - libclang-dev: bindgen needs it to build the RocksDB bindings (RocksDB itself is the bundled
#    library, compiled from source by the rocksdb crate).
#  - build-essential: the C++ compiler for RocksDB.
#  - chromium: the dashboard's tests load its pages in headless Chromium (tests/dashboard.rs).
#  - iproute2: `ip netns` / veth / bridge for the tests that put brokers on hosts of their own
#    (tests/reachable.rs, the chaos test's network partitions).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
for pkg in libclang-dev build-essential chromium iproute2 "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "setup: cargo (rustup) is required" >&2; exit 1; }
echo "setup: ok"
