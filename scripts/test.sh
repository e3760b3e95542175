#!/usr/bin/env bash
# Install what the tests need into .venv, then run the whole suite (real Label Studio and backend included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
