"""Builders for small Label Studio exports and the paths of the real fixtures (imported by the tests here)."""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from converters.conversion_report import ConversionReport, Problem
from converters.corpus import Sentence, read_tsv
from converters.split_rule import DEFAULT_RATIOS, DEFAULT_SALT, SPLIT_NAMES
from converters.split_writer import SplitWriter
from nerloop.demo import MIT_DIR

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MIT = MIT_DIR


def region(start: int, end: int, text: str, *labels: str, from_name: str = "label", to_name: str = "text") -> dict:
    return {"from_name": from_name, "to_name": to_name, "type": "labels",
            "value": {"start": start, "end": end, "text": text, "labels": list(labels)}}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def task(task_id: int, text: str, *annotations: dict) -> dict:
    return {"id": task_id, "data": {"text": text}, "annotations": list(annotations)}


def annotation(ann_id: int, *result: dict, updated: str = "2026-01-01T00:00:00Z", created: str | None = None,
               cancelled: bool = False, ground_truth: bool = False) -> dict:
    return {"id": ann_id, "result": list(result), "was_cancelled": cancelled, "ground_truth": ground_truth,
            "created_at": created or updated, "updated_at": updated}


@dataclass(frozen=True)
class WrittenSplits:
    """The split files the split writer wrote, as the sentences given to it, with its report's problems."""

    train: tuple[Sentence, ...]
    validation: tuple[Sentence, ...]
    test: tuple[Sentence, ...]
    problems: tuple[Problem, ...]
    salt: str
    ratios: tuple[float, float, float]

    def as_dict(self) -> dict[str, tuple[Sentence, ...]]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


def split_sentences(sentences: Sequence[Sentence], *, salt: str = DEFAULT_SALT,
                    ratios: Sequence[float] = DEFAULT_RATIOS,
                    test_sentences: list[Sentence] | None = None) -> WrittenSplits:
    """Write ``sentences`` with a ``SplitWriter`` and read each split file back, in its order, as the sentences
    given (copies of a text share a split and keep their order, so the k-th copy read is the k-th given)."""
    with tempfile.TemporaryDirectory() as out:
        with SplitWriter(Path(out), salt=salt, ratios=ratios, test_sentences=test_sentences) as writer:
            for sentence in sentences:
                writer.add(sentence)
            paths, report = writer.finish(ConversionReport("export.json", "json"))
        parts = []
        for name in SPLIT_NAMES:
            given: dict[tuple[tuple[str, ...], tuple[str, ...]], deque[Sentence]] = defaultdict(deque)
            for sentence in (test_sentences if name == "test" and test_sentences is not None else sentences):
                given[(sentence.tokens, sentence.tags)].append(sentence)
            read = read_tsv(paths[name]) if name in paths else []
            parts.append(tuple(given[(s.tokens, s.tags)].popleft() for s in read))
    return WrittenSplits(*parts, report.problems, writer.salt, writer.ratios)
