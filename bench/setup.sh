#!/usr/bin/env bash
# Installs what the benchmarks need besides the project's own set-up: fio (disk reference) and
# iperf3 (loopback bandwidth reference of `sluice-bench broker`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh fio iperf3
