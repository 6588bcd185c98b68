#!/usr/bin/env bash
# Installs the third-party RocketMQ clients the interop tests drive. Idempotent, and quick when
# everything is already in place (each step keeps a stamp of what it installed).
#
#   js/    npm `ali-ons` from the committed package-lock.json (npm ci) into js/node_modules
#   py/    a venv at py/.venv with PyPI `rocketmq` (its wheel bundles the C++ client)
#   rust-client/   built with cargo into a target directory outside the repository:
#          $SLUICE_INTEROP_TARGET_DIR, else ${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}/interop-rust
#   java/  Maven project (rocketmq-client 4.9.8), compiled into $SLUICE_INTEROP_CACHE/interop-java;
#          the Maven repository is $SLUICE_INTEROP_CACHE/m2 (online once, then `mvn -o`)
#   go/    Go module (rocketmq-client-go/v2, pinned in go.mod + go.sum), built into
#          $SLUICE_INTEROP_CACHE/interop-go; module cache $SLUICE_INTEROP_CACHE/gomod, build cache
#          $SLUICE_INTEROP_CACHE/go-build
#   ($SLUICE_INTEROP_CACHE defaults to $HOME/.cache/sluice: one directory to cache in CI.)
#
# On success the last lines on stdout are KEY=VALUE pairs the tests read:
#   INTEROP_NODE, INTEROP_PYTHON, INTEROP_RUST_CLIENT, INTEROP_JAVA, INTEROP_JAVA_CP, INTEROP_GO_DRIVER
# Everything else (progress, tool output) goes to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGET_DIR="${SLUICE_INTEROP_TARGET_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}/interop-rust}"

say() { echo "interop-setup: $*" >&2; }
die() { echo "interop-setup: ERROR: $*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "need $* but apt-get is not available"
  if [ "$APT_UPDATED" -eq 0 ]; then
    $SUDO apt-get update -qq >&2
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >&2
}

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

# --- Node.js + ali-ons -------------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 18 ] || die "Node.js >= 18 needed (util.parseArgs); found $(node --version)"

JS="$HERE/js"
js_stamp="$JS/node_modules/.sluice-interop-stamp"
js_want="$(hash_of "$JS/package.json" "$JS/package-lock.json")"
if [ "$(cat "$js_stamp" 2>/dev/null || true)" != "$js_want" ]; then
  say "installing ali-ons (npm ci)"
  (cd "$JS" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in $JS"
  echo "$js_want" >"$js_stamp"
fi
node -e 'require(process.argv[1])' "$JS/node_modules/ali-ons" || die "ali-ons does not load"

# --- Python venv + rocketmq (C++ client) -------------------------------------------------------
PY="$HERE/py"
VENV="$PY/.venv"
command -v python3 >/dev/null || apt_install python3 python3-venv
py_stamp="$VENV/.sluice-interop-stamp"
py_want="$(hash_of "$PY/requirements.txt")-$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$(cat "$py_stamp" 2>/dev/null || true)" != "$py_want" ]; then
  say "creating $VENV"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" >&2 2>/dev/null; then
    # Debian's python3 ships venv/ensurepip separately.
    rm -rf "$VENV"
    apt_install python3-venv
    python3 -m venv "$VENV" >&2 || die "python3 -m venv failed"
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes \
    -r "$PY/requirements.txt" >&2 || die "pip install failed"
  echo "$py_want" >"$py_stamp"
fi
# The wheel is manylinux1 x86_64 and bundles librocketmq.so (+ its own libz); it needs libstdc++.
py_check() { "$VENV/bin/python" -c 'import rocketmq.client' 2>&1; }
if ! out="$(py_check)"; then
  if echo "$out" | grep -q 'libstdc++'; then
    apt_install libstdc++6
    out="$(py_check)" || die "python rocketmq does not load: $out"
  else
    die "python rocketmq does not load: $out"
  fi
fi

# --- Rust client driver ------------------------------------------------------------------------
command -v cargo >/dev/null || die "cargo is required"
RC="$HERE/rust-client"
BIN="$TARGET_DIR/release/interop-rust-client"
say "building the Rust client driver into $TARGET_DIR (no-op when up to date)"
# Niced: the build machine has two cores and the broker build shares them.
nice -n 10 cargo build --release --locked --quiet \
  --manifest-path "$RC/Cargo.toml" --target-dir "$TARGET_DIR" >&2 || die "cargo build of $RC failed"
[ -x "$BIN" ] || die "$BIN was not built"

# --- Java client driver (Maven, rocketmq-client 4.9.8) ----------------------------------------
CACHE="${SLUICE_INTEROP_CACHE:-$HOME/.cache/sluice}"
say "building the Java client driver (no-op when up to date)"
JAVA_CP="$("$HERE/../../scripts/java-build.sh" "$HERE/java" "$CACHE/interop-java" "$CACHE/m2" \
  sluice/interop/Driver.class)" || die "the Java client driver did not build"

# --- Go client driver (rocketmq-client-go/v2) --------------------------------------------------
GOD="$HERE/go"
GOBIN_OUT="$CACHE/interop-go/interop-go-driver"
if ! command -v go >/dev/null; then
  apt_install golang-go
fi
say "building the Go client driver into $GOBIN_OUT (no-op when up to date)"
(cd "$GOD" && GOMODCACHE="$CACHE/gomod" GOCACHE="$CACHE/go-build" GOFLAGS="-mod=readonly -modcacherw" \
  nice -n 10 go build -o "$GOBIN_OUT" . >&2) || die "go build of $GOD failed"

echo "INTEROP_NODE=$(command -v node)"
echo "INTEROP_PYTHON=$VENV/bin/python"
echo "INTEROP_RUST_CLIENT=$BIN"
echo "INTEROP_JAVA=$(command -v java)"
echo "INTEROP_JAVA_CP=$JAVA_CP"
echo "INTEROP_GO_DRIVER=$GOBIN_OUT"
