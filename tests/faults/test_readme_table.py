"""The README's fault table ("What survives which fault") and the fault tests agree, row for row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).parent
README = HERE.parents[1] / "README.md"
ROW = re.compile(r"^\| (?P<fault>[^|]+) \| (?P<outcome>[^|]+) \| `(?P<file>test_\w+\.py)::(?P<test>test_\w+)` \|$")


def table_rows() -> list[re.Match[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## What survives which fault\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Fault |")]
    rows = [ROW.match(line) for line in lines]
    assert all(rows), [line for line, row in zip(lines, rows, strict=True) if row is None]
    return rows  # type: ignore[return-value]


def fault_tests() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(HERE.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.add((path.name, node.name))
    return found


def test_each_readme_row_is_a_fault_test_and_each_fault_test_a_row():
    named = [(row["file"], row["test"]) for row in table_rows()]
    assert len(named) == len(set(named))
    assert sorted(named) == sorted(fault_tests())
