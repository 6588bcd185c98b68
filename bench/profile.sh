#!/usr/bin/env bash
# A flame graph of the sluice broker while `sluice-bench broker` drives one point:
#   bench/profile.sh [--seconds N] [--name NAME] -- <sluice-bench broker flags>
# e.g. bench/profile.sh -- --targets sluice --producers 16 --inflight 1 --duration 10 --no-references
# Installs what it needs (perf from Debian, inferno from crates.io into ~/.cache/sluice/tools);
# writes bench/out/flame-<name>-<unix>.svg (and the folded stacks next to it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5
name=broker
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
tools="$HOME/.cache/sluice/tools"
if ! command -v perf >/dev/null; then
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -q linux-perf >/dev/null
fi
if [[ ! -x "$tools/bin/inferno-flamegraph" ]]; then
  echo "installing inferno into $tools (once)" >&2
  cargo install --quiet --locked --root "$tools" inferno
fi
target="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
bench="$target/release/sluice-bench"
[[ -x "$bench" && -x "$target/release/sluice" ]] || {
  echo "build first: cargo build --release -p sluice -p sluice-bench --bin sluice --bin sluice-bench" >&2
  exit 1
}
out="bench/out"; mkdir -p "$out"
stamp="$(date +%s)"
data="$(mktemp --suffix=.perf)"
trap 'rm -f "$data"' EXIT
"$bench" broker "$@" &
bench_pid=$!
pid=""
for _ in $(seq 1 300); do
  pid="$(pgrep -f "$target/release/sluice standalone" | head -1 || true)"
  [[ -n "$pid" ]] && break
  sleep 0.1
done
[[ -n "$pid" ]] || { echo "no sluice broker appeared" >&2; wait "$bench_pid"; exit 1; }
sleep 3   # past the warm-up
echo "recording broker pid $pid for ${seconds}s" >&2
perf record -q -F 499 --call-graph dwarf,16384 -p "$pid" -o "$data" -- sleep "$seconds" >/dev/null 2>&1 || true
wait "$bench_pid"
folded="$out/flame-$name-$stamp.folded"
perf script -i "$data" 2>/dev/null | "$tools/bin/inferno-collapse-perf" > "$folded"
"$tools/bin/inferno-flamegraph" --title "sluice broker: $name ($*)" < "$folded" > "$out/flame-$name-$stamp.svg"
echo "flame graph: $out/flame-$name-$stamp.svg"
