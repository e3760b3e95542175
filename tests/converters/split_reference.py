"""An in-memory model of the frozen split rule (``converters.split_rule``): all sentences held, each text placed by
its hash, empty splits filled by the moves the rule describes, then the files written. It is the oracle that
``converters.split_writer`` (the streaming writer the project uses) must match byte for byte; nothing outside the
tests uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from converters import split_rule as rule
from converters.conversion_report import ConversionReport, Problem, count_split
from converters.corpus import Sentence, write_tsv


@dataclass(frozen=True)
class HeldSplits:
    train: tuple[Sentence, ...]
    validation: tuple[Sentence, ...]
    test: tuple[Sentence, ...]
    problems: tuple[Problem, ...] = ()
    salt: str = rule.DEFAULT_SALT
    ratios: tuple[float, float, float] = rule.DEFAULT_RATIOS

    def as_dict(self) -> dict[str, tuple[Sentence, ...]]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


@dataclass(frozen=True)
class _Text:
    tokens: tuple[str, ...]
    digest: bytes
    source: str

    @property
    def point(self) -> float:
        return int.from_bytes(self.digest[:8], "big") / 2 ** 64


def _assign(sentences: Sequence[Sentence], salt: str,
            ratios: Sequence[float]) -> tuple[list[tuple[Sentence, ...]], tuple[Problem, ...]]:
    texts: dict[tuple[str, ...], _Text] = {}
    for sentence in sentences:
        if sentence.tokens not in texts:
            texts[sentence.tokens] = _Text(sentence.tokens, rule.text_digest(sentence.tokens, salt), sentence.source)
    members: list[list[_Text]] = [[] for _ in rule.SPLIT_NAMES]
    for text in texts.values():
        members[rule.split_index(int.from_bytes(text.digest[:8], "big"), ratios)].append(text)
    wanted = [i for i, ratio in enumerate(ratios) if ratio > 0]
    if len(texts) < len(wanted):
        raise rule.too_few_texts(len(texts), len(wanted))
    problems = []
    for i in wanted:
        if members[i]:
            continue
        donors = [(j, t) for j in wanted if len(members[j]) > 1 for t in members[j]]
        bounds = rule.interval(ratios, i)
        j, moved = min(donors, key=lambda jt: (rule.distance(jt[1].point, bounds), jt[1].digest))
        members[j].remove(moved)
        members[i].append(moved)
        problems.append(rule.filled_problem(moved.tokens, moved.source, j, i, len(texts)))
    split_of = {t.tokens: i for i, group in enumerate(members) for t in group}
    parts = [tuple(s for s in sentences if split_of[s.tokens] == i) for i in range(len(rule.SPLIT_NAMES))]
    return parts, tuple(problems)


def make_splits(sentences: Sequence[Sentence], *, salt: str = rule.DEFAULT_SALT,
                ratios: Sequence[float] = rule.DEFAULT_RATIOS,
                test_sentences: list[Sentence] | None = None) -> HeldSplits:
    """Split ``sentences`` by the hash of each text; each split keeps the input order of its sentences."""
    checked = rule.check_ratios(ratios)
    if test_sentences is None:
        (train, validation, test), moved = _assign(sentences, salt, checked)
        return HeldSplits(train, validation, test, moved, salt, checked)
    test_texts = {s.tokens for s in test_sentences}
    problems = tuple(rule.in_test_problem(s) for s in sentences if s.tokens in test_texts)
    rest = [s for s in sentences if s.tokens not in test_texts]
    (train, validation, _), moved = _assign(rest, salt, rule.hash_ratios(checked, True))
    return HeldSplits(train, validation, tuple(test_sentences), problems + moved, salt, checked)


def splits_report(splits: HeldSplits, report: ConversionReport) -> ConversionReport:
    """``report`` plus the split problems and the sentence/entity counts per split (what ``conversion.json`` holds)."""
    return replace(report.with_problems(splits.problems),
                   splits={name: count_split(items) for name, items in splits.as_dict().items()})


def write_splits(splits: HeldSplits, out_dir: Path, report: ConversionReport) -> dict[str, Path]:
    """Write ``train.tsv``, ``validation.tsv``, ``test.tsv`` (a split without sentences gets no file) and
    ``conversion.json``; returns the paths by name (``train``, ``validation``, ``test``, ``report``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, items in splits.as_dict().items():
        path = out_dir / f"{name}.tsv"
        path.unlink(missing_ok=True)
        if items:
            paths[name] = path
            write_tsv(path, items)
    paths["report"] = out_dir / "conversion.json"
    paths["report"].write_text(rule.report_json(splits_report(splits, report), splits.salt, splits.ratios),
                               encoding="utf-8")
    return paths
