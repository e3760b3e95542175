#!/usr/bin/env bash
# One command from a fresh clone: install, then start Label Studio + the ML backend with the restaurant project,
# train the first round and print the URL and login. Stop everything with: .venv/bin/nerloop down
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/nerloop up "$@"
