#!/usr/bin/env bash
# Installs the rocketmq-rust reference NameServer and broker (crates.io `rocketmq-namesrv` and
# `rocketmq-broker`, which ship the binaries `rocketmq-namesrv-rust` and `rocketmq-broker-rust`)
# into a cache outside the repository. Idempotent: does nothing when both binaries exist.
#
#   bench/reference/rocketmq-rust.sh          # install if missing, print the bin dir
#   bench/reference/rocketmq-rust.sh --force  # reinstall
#
# Env: SLUICE_CACHE (default ~/.cache/sluice), ROCKETMQ_RUST_VERSION (default 1.0.0),
#      JOBS (cargo -j, default 2). Builds run under `nice -n 15`.
set -euo pipefail

CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
VERSION="${ROCKETMQ_RUST_VERSION:-1.0.0}"
ROOT="$CACHE/rocketmq-rust-$VERSION"
TARGET="$CACHE/rocketmq-rust-target"
BIN="$ROOT/bin"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

if [[ $FORCE == 0 && -x "$BIN/rocketmq-namesrv-rust" && -x "$BIN/rocketmq-broker-rust" ]]; then
    echo "$BIN"
    exit 0
fi

mkdir -p "$ROOT" "$TARGET"
force_flag=()
[[ $FORCE == 1 ]] && force_flag=(--force)
# Both crates ship a Cargo.lock, so --locked pins exactly what upstream released.
# Default features: namesrv = [tls], broker = [local_file_store]. The binaries need no features.
for crate in rocketmq-namesrv rocketmq-broker; do
    echo "rocketmq-rust.sh: installing $crate $VERSION into $ROOT (target dir $TARGET)" >&2
    CARGO_TARGET_DIR="$TARGET" nice -n 15 cargo install --locked "${force_flag[@]}" \
        --version "=$VERSION" --root "$ROOT" -j "${JOBS:-2}" "$crate" >&2
done

test -x "$BIN/rocketmq-namesrv-rust" && test -x "$BIN/rocketmq-broker-rust"
echo "$BIN"
