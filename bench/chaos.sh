#!/usr/bin/env bash
# Long chaos campaigns against a controller-mode group (issue #14): the interop test
# `chaos::chaos_controller_group` (tests/interop/chaos.rs) for CYCLES cycles of each fault —
# kill -9 of the master, SIGSTOP of the master, a network partition of the master (brokers in
# network namespaces of their own: root and iproute2), kill -9 of a slave, a partition of a
# slave, kill -9 of a controller —
# under rocketmq-client-rust ordered sends and orderly consumers (rust, Java, Go). Prints each cycle as it
# goes and writes the JSON report (lost, duplicates, order violations, recovery p50/max per
# fault) to REPORT.
#
#   bench/chaos.sh [CYCLES=20] [REPORT=chaos-report.json]
set -euo pipefail
cycles=${1:-20}
report=$(realpath -m "${2:-chaos-report.json}")
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}
SLUICE_CHAOS_CYCLES=$cycles SLUICE_CHAOS_REPORT=$report \
    cargo test --workspace --test interop chaos::chaos_controller_group -- --nocapture
echo "report: $report"
