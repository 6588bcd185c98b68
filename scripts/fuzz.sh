#!/usr/bin/env bash
# Runs every libFuzzer target of connectors/remoting/fuzz for a bounded time each.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30; 0 = build only)
#
# Stable Rust with RUSTC_BOOTSTRAP=1 and no sanitizer (`-s none`): a fresh machine has no
# nightly and cannot download one, and the code under test is safe Rust, where libFuzzer's
# coverage, panics and overflow checks are what finds bugs. cargo-fuzz is installed from
# crates.io when missing. Builds go to ~/.cache/sluice/fuzz-target, corpora to
# ~/.cache/sluice/fuzz-corpus/<target> (seeded from connectors/remoting/fuzz/seeds/<target>),
# crash inputs to ~/.cache/sluice/fuzz-artifacts/ (SLUICE_FUZZ_TARGET_DIR overrides the build
# dir). Prints one line per target; exits non-zero when any target crashed, after running the
# others.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-30}"
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2; }
fuzz_dir="$PWD/connectors/remoting/fuzz"
cache="$HOME/.cache/sluice"
target_dir="${SLUICE_FUZZ_TARGET_DIR:-$cache/fuzz-target}"
corpus_root="$cache/fuzz-corpus"
artifacts="$cache/fuzz-artifacts"
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  # Its own temporary target dir, not the workspace's CARGO_TARGET_DIR.
  env -u CARGO_TARGET_DIR cargo install cargo-fuzz --locked --version 0.13.2 --quiet
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "fuzz: building the targets ($(cargo fuzz --version), into $target_dir)"
start=$SECONDS
if ! (cd "$fuzz_dir" && cargo fuzz build -s none --target-dir "$target_dir") >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "fuzz: the build failed" >&2
  exit 1
fi
echo "fuzz: built in $((SECONDS - start)) s"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$target_dir/$triple/release"
mapfile -t targets < <(cd "$fuzz_dir" && cargo fuzz list)
[ "${#targets[@]}" -gt 0 ] || { echo "fuzz: no targets" >&2; exit 1; }
[ "$secs" -gt 0 ] || { echo "fuzz: built ${#targets[@]} targets"; exit 0; }

mkdir -p "$artifacts"
failed=0
for t in "${targets[@]}"; do
  corpus="$corpus_root/$t"
  mkdir -p "$corpus"
  # A corpus only grows from run to run: past 20000 inputs, keep the ones that add coverage.
  if [ "$(find "$corpus" -type f | wc -l)" -gt 20000 ]; then
    echo "fuzz $t: minimising the corpus"
    rm -rf "$corpus.min" && mkdir -p "$corpus.min"
    if "$bin_dir/$t" -merge=1 "$corpus.min" "$corpus" >"$log" 2>&1; then
      rm -rf "$corpus" && mv "$corpus.min" "$corpus"
    else
      rm -rf "$corpus.min"
    fi
  fi
  seeds=()
  [ -d "$fuzz_dir/seeds/$t" ] && seeds=("$fuzz_dir/seeds/$t")
  echo "fuzz $t: running for ${secs} s"
  rc=0
  # New inputs go to the first directory only; the seeds stay as checked in.
  "$bin_dir/$t" "$corpus" "${seeds[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$t-" >"$log" 2>&1 || rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  took="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)"
  size="$(find "$corpus" -type f | wc -l)"
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $t: ${runs:-?} inputs in ${took:-$secs} s, corpus $size, OK"
  else
    failed=1
    crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
    { grep -m 1 -A 4 'panicked at' "$log" || true; tail -n 12 "$log"; } >&2
    echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} inputs; input: ${crash:-none written}" >&2
    echo "fuzz $t: reproduce with: $bin_dir/$t ${crash:-<input>}" >&2
  fi
done
exit "$failed"
