#!/usr/bin/env bash
# Installs what the benchmarks need besides the project's own set-up: fio (disk reference).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh fio
