#!/usr/bin/env bash
# Executes a notebook headless in the notebooks' venv (notebooks/setup.sh): every cell runs, a
# cell that raises fails the run (non-zero exit). Prints the code cells' text outputs.
# Usage: notebooks/run.sh [--save] NOTEBOOK.ipynb [TIMEOUT_SECONDS_PER_CELL]  (environment passes through)
# --save writes the executed notebook, outputs and figures included, back to NOTEBOOK.ipynb (how
# the committed notebooks get their outputs; see notebooks/README.md).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
save=0
if [ "${1:-}" = "--save" ]; then save=1; shift; fi
[ $# -ge 1 ] || { echo "usage: $0 [--save] NOTEBOOK.ipynb [TIMEOUT]" >&2; exit 2; }
python="$("$HERE/setup.sh" | sed -n 's/^NOTEBOOK_PYTHON=//p' | tail -n 1)"
[ -n "$python" ] || { echo "run.sh: setup.sh printed no NOTEBOOK_PYTHON=" >&2; exit 1; }
exec "$python" - "$1" "$HERE" "${2:-300}" "$save" <<'PY'
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, timeout=int(sys.argv[3]), kernel_name='python3', record_timing=False,
                        resources={'metadata': {'path': sys.argv[2]}}).execute()
print(''.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code' for o in c.outputs))
print('cells executed:', len(nb.cells))
if sys.argv[4] == '1':
    nb.metadata.get('language_info', {}).pop('version', None)
    nbformat.write(nb, sys.argv[1])
    print('saved', sys.argv[1])
PY
