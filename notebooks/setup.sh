#!/usr/bin/env bash
# Installs what the notebooks need (requirements.txt: matplotlib, pyarrow, duckdb, and nbclient + ipykernel to
# execute them headless) into a venv outside the repository. Idempotent, and quick when the venv
# already matches requirements.txt and the Python version (a stamp records both).
#
#   notebooks/setup.sh     # prints NOTEBOOK_PYTHON=<venv python> as its last line on stdout
#
# Env: SLUICE_CACHE (default ~/.cache/sluice); the venv is $SLUICE_CACHE/notebooks-venv.
# Everything but the last line goes to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
VENV="$CACHE/notebooks-venv"

say() { echo "notebooks-setup: $*" >&2; }
die() { echo "notebooks-setup: ERROR: $*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_install() {
  command -v apt-get >/dev/null || die "need $* but apt-get is not available"
  say "apt-get install $*"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >&2
}

command -v python3 >/dev/null || apt_install python3 python3-venv
stamp="$VENV/.sluice-notebooks-stamp"
want="$(sha256sum "$HERE/requirements.txt" | cut -c1-16)-$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  say "creating $VENV"
  mkdir -p "$CACHE"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" >&2 2>/dev/null; then
    # Debian's python3 ships venv/ensurepip separately.
    rm -rf "$VENV"
    apt_install python3-venv
    python3 -m venv "$VENV" >&2 || die "python3 -m venv failed"
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt" >&2 \
    || die "pip install failed"
  echo "$want" >"$stamp"
fi
"$VENV/bin/python" -c 'import matplotlib, pyarrow, duckdb, nbclient, nbformat, ipykernel' >&2 || die "the venv does not import its requirements"
echo "NOTEBOOK_PYTHON=$VENV/bin/python"
