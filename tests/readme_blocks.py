"""The README's shell blocks, read as a script: each fenced ```bash block with the heading it sits under.

A block that cannot run in CI (a Docker engine, several GPUs, a server that runs until stopped, the test suite
itself) carries an HTML comment on the line right before its fence, which GitHub does not show:

    <!-- readme: skip (needs a Docker engine) -->

``script`` turns the blocks that run into one bash script, a marker line before each command, so a failure is
traced back to its heading, line and output (``failure``).
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell"})
SKIP = re.compile(r"^<!--\s*readme:\s*skip\s*\((?P<reason>.+)\)\s*-->$")
MARKER = "@@readme-line"


@dataclass(frozen=True)
class Block:
    heading: str  # the nearest heading above the fence, without its #s
    name: str  # the heading, with " (2)", " (3)" ... for a second and later block under it
    language: str  # what follows the opening fence ("" for none)
    line: int  # 1-based line of the opening fence in README.md
    lines: tuple[str, ...]  # the block's lines, as written
    skip: str | None  # the reason of a `readme: skip` marker right before the fence

    def commands(self) -> list[tuple[int, str]]:
        """(README line, command) for each command: blank lines dropped, backslash continuations joined."""
        found: list[tuple[int, str]] = []
        pending: tuple[int, str] | None = None
        for offset, text in enumerate(self.lines, start=self.line + 1):
            if pending is not None:
                pending = (pending[0], pending[1][:-1] + " " + text.strip())
            elif text.strip():
                pending = (offset, text.strip())
            else:
                continue
            if not pending[1].endswith("\\"):
                found.append(pending)
                pending = None
        if pending is not None:
            found.append(pending)
        return found


def read_blocks(path: Path = README) -> list[Block]:
    """Every fenced block of the README, in order."""
    blocks: list[Block] = []
    heading = "(top)"
    seen: dict[str, int] = {}
    fence: tuple[int, str, str | None] | None = None  # (line, language, skip reason)
    body: list[str] = []
    previous = ""  # the last non-blank line outside a fence
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fence is None:
            if text.startswith("```"):
                marker = SKIP.match(previous.strip())
                fence, body = (number, text[3:].strip(), marker.group("reason") if marker else None), []
            elif text.startswith("#"):
                heading = text.lstrip("#").strip()
            if text.strip():
                previous = text
        elif text.startswith("```"):
            seen[heading] = seen.get(heading, 0) + 1
            name = heading if seen[heading] == 1 else f"{heading} ({seen[heading]})"
            blocks.append(Block(heading, name, fence[1], fence[0], tuple(body), fence[2]))
            fence, previous = None, ""
        else:
            body.append(text)
    if fence is not None:
        raise ValueError(f"{path}:{fence[0]}: a fence that is never closed")
    return blocks


def shell_blocks(path: Path = README) -> list[Block]:
    return [b for b in read_blocks(path) if b.language in SHELL_LANGUAGES]


def stray_skip_markers(path: Path = README) -> list[int]:
    """Lines of skip markers that are not right before a shell block's fence (a marker that skips nothing)."""
    marked = {b.line for b in shell_blocks(path) if b.skip is not None}
    lines = path.read_text(encoding="utf-8").splitlines()
    stray = []
    for number, text in enumerate(lines, start=1):
        if SKIP.match(text.strip()):
            after = next((n for n in range(number + 1, len(lines) + 1) if lines[n - 1].strip()), None)
            if after not in marked:
                stray.append(number)
    return stray


def nerloop_argv(command: str) -> list[str] | None:
    """The arguments after ``nerloop`` (or ``-m nerloop``) in a command line, comments dropped; None if it runs no
    nerloop command."""
    words = shlex.split(command, comments=True)
    for i, word in enumerate(words):
        if word == "nerloop" and (i == 0 or words[i - 1] in ("-m", "&&", ";", ".venv/bin/nerloop")):
            return words[i + 1:]
        if word.endswith("/nerloop") and i == 0:
            return words[1:]
    return None


def with_up_options(command: str, options: str) -> str:
    """``command`` with ``options`` right after ``nerloop up`` (before any comment), when it starts with it."""
    return re.sub(r"^nerloop up(?=\s|$)", f"nerloop up {options}", command)


def script(blocks: list[Block], up_options: str = "") -> str:
    """One bash script of the blocks' commands, in order, stopping at the first that fails; before each command a
    marker line ``@@readme-line N <seconds>`` on stdout and stderr."""
    out = ["set -e"]
    for block in blocks:
        for number, command in block.commands():
            out.append(f"printf '\\n{MARKER} {number} %s\\n' \"$EPOCHREALTIME\"")
            out.append(with_up_options(command, up_options) if up_options else command)
    out.append(f"printf '\\n{MARKER} end %s\\n' \"$EPOCHREALTIME\"")
    return "\n".join(out) + "\n"


def timings(output: str) -> list[tuple[int, float]]:
    """(README line, seconds it took) for each command the script finished."""
    marks = re.findall(rf"^{MARKER} (\d+|end) ([\d.]+)$", output, flags=re.M)
    return [(int(a[0]), float(b[1]) - float(a[1])) for a, b in itertools.pairwise(marks) if a[0] != "end"]


def failure(blocks: list[Block], output: str, returncode: int, tail: int = 4000) -> str:
    """What failed: the block's name, the README line and command, the exit status and the end of its output."""
    marks = list(re.finditer(rf"^{MARKER} (\d+|end) [\d.]+$", output, flags=re.M))
    if not marks:
        return f"the README script failed (exit {returncode}) before its first command:\n{output[-tail:]}"
    last = marks[-1]
    number = last.group(1)
    where = "after its last command"
    for block in blocks:
        for line, command in block.commands():
            if str(line) == number:
                where = f"in block {block.name!r}, README.md:{line}: {command}"
    return f"README command failed (exit {returncode}) {where}\n--- its output (tail) ---\n" \
           f"{output[last.end():][-tail:]}"
