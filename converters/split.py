"""Seeded, reproducible train/validation/test splits, written as ``TAG<TAB>token`` files plus ``conversion.json``.

Rules:
- Sentences are grouped by text (their tokens) before splitting, so copies of one text never straddle splits.
- The groups are shuffled with ``random.Random(seed)`` and cut by ``ratios`` (default 80/10/10; counts rounded, the
  test split takes the remainder). Every split with a ratio above 0 gets at least one text (taken from the largest
  split), so no split that was asked for comes out empty; with fewer texts than such splits it is an error.
- With ``test_sentences`` (a fixed test file), those are the test split, the rest is cut into train/validation by
  the first two ratios, and any sentence whose text is in the fixed test set is left out and reported
  (``in_test_set``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from converters.corpus import Sentence, write_tsv
from converters.report import ConversionReport, Problem
from labeling_config.errors import ConversionError

SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class Splits:
    train: tuple[Sentence, ...]
    validation: tuple[Sentence, ...]
    test: tuple[Sentence, ...]
    problems: tuple[Problem, ...] = ()

    def as_dict(self) -> dict[str, tuple[Sentence, ...]]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


def check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ConversionError(f"ratios {', '.join(map(str, ratios))} are not three non-negative numbers summing to 1",
                              hint="pass e.g. --ratios 0.8,0.1,0.1")
    return (float(ratios[0]), float(ratios[1]), float(ratios[2]))


def _groups(sentences: Sequence[Sentence]) -> list[list[Sentence]]:
    by_text: dict[tuple[str, ...], list[Sentence]] = {}
    for sentence in sentences:
        by_text.setdefault(sentence.tokens, []).append(sentence)
    return list(by_text.values())


def _sizes(total: int, fractions: Sequence[float]) -> list[int]:
    """Group counts per split: rounded cumulative cuts, then at least one for every split with a fraction > 0."""
    bounds, acc = [0], 0.0
    for fraction in fractions[:-1]:
        acc += fraction
        bounds.append(round(total * acc))
    bounds.append(total)
    sizes = [b - a for a, b in pairwise(bounds)]
    wanted = [i for i, fraction in enumerate(fractions) if fraction > 0]
    if total < len(wanted):
        raise ConversionError(f"{total} distinct text(s) cannot fill {len(wanted)} splits",
                              hint="annotate more tasks, or use ratios with zeros (--ratios 1,0,0, or "
                                   "NERLOOP_SPLIT_RATIOS='[1,0,0]' for rounds)")
    for i in wanted:
        if sizes[i] == 0:
            sizes[max(range(len(sizes)), key=sizes.__getitem__)] -= 1
            sizes[i] = 1
    return sizes


def _cut(groups: list[list[Sentence]], fractions: Sequence[float], seed: int) -> list[tuple[Sentence, ...]]:
    groups = list(groups)
    random.Random(seed).shuffle(groups)
    parts, start = [], 0
    for size in _sizes(len(groups), fractions):
        parts.append(tuple(s for group in groups[start:start + size] for s in group))
        start += size
    return parts


def make_splits(sentences: Sequence[Sentence], *, seed: int = 0, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                test_sentences: list[Sentence] | None = None) -> Splits:
    """Split ``sentences`` reproducibly; see the module docstring for the rules."""
    train_r, val_r, test_r = check_ratios(ratios)
    if test_sentences is None:
        train, validation, test = _cut(_groups(sentences), (train_r, val_r, test_r), seed)
        return Splits(train, validation, test)
    test_texts = {s.tokens for s in test_sentences}
    problems = tuple(Problem("in_test_set", f"{s.text[:60]!r} is in the fixed test set", field=s.source or None)
                     for s in sentences if s.tokens in test_texts)
    rest = [s for s in sentences if s.tokens not in test_texts]
    kept = train_r + val_r
    if kept <= 0:
        raise ConversionError("with a fixed test file the train and validation ratios must not both be 0",
                              hint="pass e.g. --ratios 0.9,0.1,0")
    train, validation = _cut(_groups(rest), (train_r / kept, val_r / kept), seed)
    return Splits(train, validation, tuple(test_sentences), problems)


def splits_report(splits: Splits, report: ConversionReport) -> ConversionReport:
    """``report`` plus the split problems and the sentence/entity counts per split (what ``conversion.json`` holds)."""
    return report.with_problems(splits.problems).with_splits(splits.as_dict())


def write_splits(splits: Splits, out_dir: Path, report: ConversionReport) -> dict[str, Path]:
    """Write ``train.tsv``, ``validation.tsv``, ``test.tsv`` and ``conversion.json`` (the report with the split
    problems and per-split counts); returns the paths by name (``train``, ``validation``, ``test``, ``report``).
    A split with no sentences (its ratio was 0) gets no file, so every file written is a loadable split."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, items in splits.as_dict().items():
        path = out_dir / f"{name}.tsv"
        path.unlink(missing_ok=True)  # never leave a previous conversion's split beside this one
        if items:
            paths[name] = path
            write_tsv(path, items)
    full = splits_report(splits, report)
    paths["report"] = out_dir / "conversion.json"
    paths["report"].write_text(json.dumps(full.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths
