#!/usr/bin/env bash
# The test command from the README: set up the machine, then build and run every test, then
# every fuzz target for a bounded time.
# Build artifacts go to a target directory outside the clone so a reused machine stays warm
# (RocksDB's C++ takes ~15 minutes cold on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
scripts/setup.sh
cargo build --workspace --all-targets
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
# Every fuzz target for a bounded time (README, Fuzzing); SLUICE_FUZZ_SECONDS=0 only builds them.
fuzz_status=0
scripts/fuzz.sh "${SLUICE_FUZZ_SECONDS:-30}" || fuzz_status=$?
# One closing line over every test binary (cargo prints one result line per binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
[ "$status" -ne 0 ] || status="$fuzz_status"
exit "$status"
