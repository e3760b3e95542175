"""What a conversion did: counts, and every problem found with the rule that was applied to it.

Nothing is dropped quietly: each span that was snapped, cut, skipped, and each sentence that was left out, is a
``Problem`` in the ``ConversionReport``. The CLI prints ``render_report``; the split writer saves ``to_dict`` as
``conversion.json`` next to the splits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from converters.corpus import Sentence

# Problem kinds and the rule applied to each (the rule text is also stored on every Problem).
RULES: dict[str, str] = {
    "off_boundary": "snapped to the tokens it overlaps (as Label Studio's CONLL2003 export does)",
    "overlap": "the span that starts first keeps its tokens; this span keeps only the tokens after it",
    "overlap_dropped": "dropped: every token is already taken by a span that starts earlier",
    "unknown_label": "span skipped",
    "multiple_labels": "first label used (as Label Studio's CONLL2003 export does)",
    "text_mismatch": "offsets win; value.text ignored",
    "out_of_range": "span skipped",
    "no_tokens": "span skipped: it covers only whitespace",
    "other_control": "result skipped: it belongs to another control than the config's Labels/Text pair",
    "stray_inside": "a stray I- tag starts a new entity (read without --strict)",
    "empty_text": "task skipped: nothing to learn from a text without tokens",
    "duplicate_text": "kept the first occurrence (in CONLL2003: the newest annotation); this one skipped",
    "in_test_set": "left out of train/validation: the fixed test set has this text",
    "split_filled": "moved to fill a split the hash left empty; not frozen: it returns to its hashed split once "
                    "the export is big enough",
    "retokenized": "task written anyway; Label Studio will see different tokens for this text",
}


@dataclass(frozen=True)
class Problem:
    kind: str  # a key of RULES
    what: str
    task: int | None = None
    annotation: int | None = None
    field: str | None = None  # e.g. "result[2].value.labels" or "line 14"
    rule: str = ""

    def __post_init__(self) -> None:
        if not self.rule:
            object.__setattr__(self, "rule", RULES[self.kind])

    def render(self) -> str:
        place = ", ".join(p for p in (
            f"task {self.task}" if self.task is not None else "",
            f"annotation {self.annotation}" if self.annotation is not None else "",
            self.field or "") if p)
        return f"[{self.kind}] {place}: {self.what} -> {self.rule}"


@dataclass(frozen=True)
class SplitCounts:
    sentences: int
    entities: Mapping[str, int]  # label -> count


def count_split(sentences: Iterable[Sentence]) -> SplitCounts:
    sentences = list(sentences)
    entities = Counter(ent.label for s in sentences for ent in s.entities)
    return SplitCounts(len(sentences), dict(sorted(entities.items())))


@dataclass(frozen=True)
class ConversionReport:
    source: str
    format: str  # conll | json | json-min
    tasks_read: int = 0  # tasks (JSON routes) or blocks (CONLL)
    tasks_without_annotations: int = 0
    annotations_used: int = 0
    annotations_skipped: Mapping[str, int] = field(default_factory=dict)  # reason -> count
    sentences: int = 0
    problems: tuple[Problem, ...] = ()
    splits: Mapping[str, SplitCounts] = field(default_factory=dict)

    def problem_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(p.kind for p in self.problems).items()))

    def with_problems(self, problems: Iterable[Problem]) -> ConversionReport:
        return replace(self, problems=(*self.problems, *problems))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problem_counts"] = self.problem_counts()
        return data


def render_report(report: ConversionReport, *, max_problems: int = 20) -> str:
    """The report as plain text: counts, problem kinds, the first ``max_problems`` problems, split counts."""
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(report.annotations_skipped.items())) or "none"
    lines = [
        f"{report.source} ({report.format})",
        f"  tasks read: {report.tasks_read}  (without annotations: {report.tasks_without_annotations})",
        f"  annotations used: {report.annotations_used}  skipped: {skipped}",
        f"  sentences: {report.sentences}",
    ]
    counts = report.problem_counts()
    lines.append(f"  problems: {len(report.problems)}"
                 + (f" ({', '.join(f'{k} {v}' for k, v in counts.items())})" if counts else ""))
    lines += [f"    {p.render()}" for p in report.problems[:max_problems]]
    if len(report.problems) > max_problems:
        lines.append(f"    ... {len(report.problems) - max_problems} more in conversion.json")
    for name, split in report.splits.items():
        ents = ", ".join(f"{label} {n}" for label, n in split.entities.items()) or "no entities"
        lines.append(f"  {name}: {split.sentences} sentences; {ents}")
    return "\n".join(lines)
