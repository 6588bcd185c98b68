#!/usr/bin/env bash
# Executes a notebook headless in the notebooks' venv (notebooks/setup.sh): every cell runs, a
# cell that raises fails the run (non-zero exit). Prints the code cells' text outputs.
# Usage: notebooks/run.sh NOTEBOOK.ipynb [TIMEOUT_SECONDS_PER_CELL]  (environment passes through)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 NOTEBOOK.ipynb [TIMEOUT]" >&2; exit 2; }
python="$("$HERE/setup.sh" | sed -n 's/^NOTEBOOK_PYTHON=//p' | tail -n 1)"
[ -n "$python" ] || { echo "run.sh: setup.sh printed no NOTEBOOK_PYTHON=" >&2; exit 1; }
exec "$python" - "$1" "$HERE" "${2:-300}" <<'PY'
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, timeout=int(sys.argv[3]), kernel_name='python3',
                        resources={'metadata': {'path': sys.argv[2]}}).execute()
print(''.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code' for o in c.outputs))
print('cells executed:', len(nb.cells))
PY
