#!/usr/bin/env bash
# Install what the tests need into .venv, then run the whole suite (real Label Studio and backend included).
set -euo pipefail
cd "$(dirname "$0")/.."
# The Ray tests (tests/e2e/test_ray_rounds.py) run a real cluster in a network namespace of their own (root).
# The report's real-browser check drives Debian's Chromium with Playwright (which downloads no browser of its own).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "test: installing Debian's chromium for the browser check" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
NERLOOP_EXTRAS=${NERLOOP_EXTRAS:-studio,dev,browser,ray} scripts/setup.sh
.venv/bin/ruff check .
# Two workers, a test file each at a time, the slow files first (tests/conftest.py): most of the slow tests wait on
# servers and subprocesses, so two overlap well even on two cores. NERLOOP_TEST_WORKERS=0 runs everything in one
# process.
exec .venv/bin/python -m pytest -n "${NERLOOP_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder \
  --durations=15 "$@"
