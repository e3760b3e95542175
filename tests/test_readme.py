"""The README's shell blocks without a stack: each is run by tests/e2e/test_readme.py or skipped with a reason, and
every `nerloop` command in them (the skipped ones too) parses with the CLI as it is, so a command or option renamed
in either fails here in a second."""

from __future__ import annotations

import subprocess

import pytest
import typer

try:  # typer >= 0.26 carries its own click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

from nerloop.cli import app
from tests.readme_blocks import (
    README,
    Block,
    failure,
    nerloop_argv,
    read_blocks,
    script,
    shell_blocks,
    stray_skip_markers,
    timings,
    with_up_options,
)

BLOCKS = shell_blocks()
COMMANDS = [(b, line, command) for b in BLOCKS for line, command in b.commands() if nerloop_argv(command) is not None]


def test_the_readme_has_a_usage_block_that_runs_and_starts_the_stack():
    usage = [b for b in BLOCKS if b.heading == "Usage"]
    assert len(usage) == 1 and usage[0].skip is None
    commands = [c for _, c in usage[0].commands()]
    assert any(c.startswith("nerloop up") for c in commands)
    assert "`nerloop down` stops what `nerloop up` started" in README.read_text(encoding="utf-8")  # and how to stop


def test_every_skip_marker_sits_right_before_a_shell_block_and_gives_a_reason():
    assert stray_skip_markers() == []
    assert all(b.skip is None or b.skip.strip() for b in BLOCKS)
    languages = {b.language for b in read_blocks()}
    assert languages <= {"bash", "cron", "yaml", ""}, f"a fence language the runner does not know: {languages}"


def _resolve(argv: list[str]) -> str:
    """Parse ``argv`` as the CLI would, down to its command (options and arguments checked, nothing run); returns
    the command's path. An eager option that exits (``--version``) counts as parsed."""
    command = typer.main.get_command(app)
    try:
        ctx = command.make_context("nerloop", list(argv))
        while hasattr(command, "resolve_command"):  # a group: go down to the command it names
            rest = [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]
            assert rest, f"{argv}: no command after {ctx.command_path!r}"
            _, sub, args = command.resolve_command(ctx, rest)
            assert sub is not None
            command, ctx = sub, sub.make_context(sub.name, args, parent=ctx)
    except typer.Exit as done:
        assert done.exit_code == 0, argv
        return "nerloop"
    return ctx.command_path


@pytest.mark.parametrize(("block", "line", "command"), COMMANDS,
                         ids=[f"README.md:{line}" for _, line, _ in COMMANDS])
def test_every_nerloop_command_in_the_readme_parses(block: Block, line: int, command: str):
    argv = nerloop_argv(command)
    assert argv is not None
    try:
        _resolve(argv)
    except click_errors.ClickException as err:
        pytest.fail(f"README.md:{line} ({block.name}): {command!r} does not parse: {err.format_message()}")


def test_a_renamed_command_or_option_fails_to_parse():
    assert _resolve(["project", "set", "2", "--epochs", "5"]) == "nerloop project set"
    with pytest.raises(click_errors.UsageError, match="--projekt"):
        _resolve(["rounds", "--projekt", "1"])
    with pytest.raises(click_errors.UsageError, match="traincurve"):
        _resolve(["traincurve", "--project", "1"])


def test_the_script_marks_each_command_and_a_failure_names_its_line(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Tool\n\n## Usage\n\n```bash\necho one  # a comment\n\nfalse\necho never\n```\n\n"
                      "<!-- readme: skip (needs a Docker engine) -->\n```bash\ndocker compose up\n```\n\n"
                      "```cron\n0 2 * * * true\n```\n")
    blocks = shell_blocks(readme)
    assert [(b.name, b.line, b.skip) for b in blocks] == [("Usage", 5, None),
                                                          ("Usage (2)", 13, "needs a Docker engine")]
    assert blocks[0].commands() == [(6, "echo one  # a comment"), (8, "false"), (9, "echo never")]
    done = subprocess.run(["bash", "-c", script(blocks[:1])], capture_output=True, text=True)
    assert done.returncode == 1 and "never" not in done.stdout
    message = failure(blocks[:1], done.stdout, done.returncode)
    assert message.startswith("README command failed (exit 1) in block 'Usage', README.md:8: false")
    assert [line for line, _ in timings(done.stdout)] == [6]


def test_ports_go_right_after_nerloop_up_before_a_comment():
    assert with_up_options("nerloop up   # starts it", "--studio-port 1") == "nerloop up --studio-port 1   # starts it"
    assert with_up_options("nerloop up --tasks 5", "--x 1") == "nerloop up --x 1 --tasks 5"
    assert with_up_options("nerloop update", "--x 1") == "nerloop update"
    assert nerloop_argv("torchrun --nproc_per_node 4 -m nerloop train --train a.tsv") == ["train", "--train", "a.tsv"]
    assert nerloop_argv("nerloop down  # stop") == ["down"]
    assert nerloop_argv("docker compose up -d") is None
