"""The README's commands, run as written: every ```bash block, in order, in one bash, in one folder, against the
stack that the Usage block's own `nerloop up` starts. Blocks marked `<!-- readme: skip (reason) -->` are listed as
skipped, by name and reason.

The folder stands for a clone as the README assumes one (its commands name `nerloop/demo/...` and `.venv`): the
repository's tracked top-level entries are links into this checkout and `.venv` links to the venv running the tests
(so `source .venv/bin/activate` works as written). What a user could also do, and the test does to stay fast:
- the Label Studio data dir and login of a migrated template are copied into `.nerloop/` first, as
  tests/e2e/test_stack.py does (skips the 30-80 s first migration);
- training is made tiny with NERLOOP_* variables a user could set (a tiny random base model, one epoch, a small
  fixed test file for the projects that name none), with HF_HUB_OFFLINE=1;
- every `nerloop up` gets `--studio-port P --backend-port Q` (free ports) and `--tasks 200 --gold 150` (a tenth
  of the demo's sentences: every later command trains, predicts and exports less) right after `up`.
Nothing else is set: no NERLOOP_STUDIO_URL or NERLOOP_STUDIO_API_KEY (the CLI reads .nerloop/stack.json).
The files the README's commands read that only Label Studio's Export dialog makes (`export.json`,
`export.conll`) are real Label Studio 1.23.2 exports from tests/fixtures, copied in first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from stack.services import free_port
from tests.e2e.conftest import LOGIN
from tests.readme_blocks import Block, failure, script, shell_blocks, timings

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SCRIPT_TIMEOUT = 900
SKIPPED = [b for b in shell_blocks() if b.skip is not None]


def clone_like(folder: Path) -> None:
    """Links to the checkout's tracked top-level entries (never its models/, .nerloop/ or other outputs), and
    `.venv` to the venv that runs the tests."""
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: the folders the README's paths name
        listed = "nerloop/\nlabeling_config/\n"
    for name in sorted({line.split("/", 1)[0] for line in listed.splitlines() if line}):
        if not name.startswith(".") and (ROOT / name).exists():
            (folder / name).symlink_to(ROOT / name)
    (folder / ".venv").symlink_to(Path(sys.prefix))


def test_readme_commands_run_in_order(studio_template, tiny_base, small_test_file, tmp_path):
    run = [b for b in shell_blocks() if b.skip is None]
    assert any(b.heading == "Usage" for b in run), "the README has no Usage block to run"

    folder = tmp_path / "clone"
    folder.mkdir()
    clone_like(folder)
    work = folder / ".nerloop"
    shutil.copytree(studio_template, work / "label-studio")  # skip the 30-80 s first migration
    (work / "studio-login.json").write_text(json.dumps(asdict(LOGIN)))
    shutil.copy(FIXTURES / "studio_export.json", folder / "export.json")
    shutil.copy(FIXTURES / "studio_export.conll", folder / "export.conll")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("NERLOOP_", "LABEL_STUDIO_", "VIRTUAL_ENV"))}
    env.update({
        "NERLOOP_TRAIN__BASE_MODEL": str(tiny_base), "NERLOOP_TRAIN__EPOCHS": "1", "NERLOOP_TRAIN__BATCH_SIZE": "32",
        "NERLOOP_TEST_FILE": str(small_test_file), "NERLOOP_RETRAIN_EVERY": "0",
        "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
    })
    up_options = f"--studio-port {free_port()} --backend-port {free_port()} --tasks 200 --gold 150"
    text = script(run, up_options=up_options)
    (tmp_path / "readme.sh").write_text(text)
    log = tmp_path / "readme.log"
    started = time.monotonic()
    try:
        with log.open("w") as out:
            try:
                returncode = subprocess.run(["bash", str(tmp_path / "readme.sh")], cwd=folder, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, timeout=SCRIPT_TIMEOUT).returncode
            except subprocess.TimeoutExpired:
                returncode = 124  # as timeout(1) says it
        output = log.read_text(errors="replace")
    finally:
        if (work / "stack.json").exists():  # the README's own `nerloop down` did not run: stop what up started
            subprocess.run([str(folder / ".venv" / "bin" / "nerloop"), "down"], cwd=folder, env=env,
                           capture_output=True, timeout=120)
    took = "\n".join(f"{seconds:7.1f} s  README.md:{line}" for line, seconds in timings(output))
    print(f"README script: {time.monotonic() - started:.0f} s\n{took}")
    assert returncode == 0, failure(run, output, returncode) + (
        f"\n(stopped after {SCRIPT_TIMEOUT} s)" if returncode == 124 else "")


@pytest.mark.parametrize("block", SKIPPED, ids=[b.name for b in SKIPPED])
def test_readme_block_not_run_here(block: Block):
    pytest.skip(f"README block {block.name!r} (README.md:{block.line}) is not run: {block.skip}")
