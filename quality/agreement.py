"""Inter-annotator agreement on tasks that two or more people annotated: span F1 and token-level Cohen's kappa.

- Who: an annotation's ``completed_by`` (a user id in the JSON export, a user object or an email in some
  exports, ``annotator`` in JSON_MIN). ``names`` can map ids to emails. Cancelled annotations never count; when one
  person annotated a task twice, their newest annotation is theirs.
- Span agreement of a pair: spans are exact ``(start, end, label)`` character spans as Label Studio stores them;
  F1 between the two span sets, summed over the pair's shared tasks (``2 * matched / (spans_a + spans_b)``; two
  annotators who both marked nothing agree: 1.0). The same per label.
- Kappa of a pair: every Label Studio token of the shared tasks gets each annotator's entity type (``O`` for none;
  spans mapped to tokens by ``converters.align``, B/I ignored), and Cohen's kappa is taken over those tokens.
- A task disagrees for a pair when the two span sets differ; the spans only one of them has are listed.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from converters.align import CharSpan, align_spans
from converters.export import choose_annotation
from converters.export_models import ExportAnnotation
from labeling_config import LabelConfig

Annotator = int | str
SpanKey = tuple[int, int, str]  # start, end, label


@dataclass(frozen=True)
class LabelAgreement:
    span_f1: float
    spans_a: int
    spans_b: int
    matched: int


@dataclass(frozen=True)
class PairAgreement:
    annotators: tuple[Annotator, Annotator]
    tasks: int
    span_f1: float
    kappa: float
    tokens: int
    spans_a: int
    spans_b: int
    matched: int
    by_label: dict[str, LabelAgreement]


@dataclass(frozen=True)
class Disagreement:
    task: Any
    annotators: tuple[Annotator, Annotator]
    only_a: tuple[SpanKey, ...]
    only_b: tuple[SpanKey, ...]
    text: str


@dataclass(frozen=True)
class AgreementReport:
    tasks_compared: int  # tasks with two or more annotators
    pairs: tuple[PairAgreement, ...]
    by_label: dict[str, LabelAgreement]  # over all pairs
    disagreements: tuple[Disagreement, ...]


@dataclass(frozen=True)
class _Annotated:
    spans: frozenset[SpanKey]
    token_types: tuple[str, ...]


def annotator_of(annotation: ExportAnnotation, names: Mapping[int, str] | None = None) -> Annotator | None:
    """The user id, or the email where the export (or ``names``) gives one."""
    who = annotation.completed_by
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    if isinstance(who, int) and names and who in names:
        return names[who]
    return who if isinstance(who, int | str) else None


def span_f1(matched: int, spans_a: int, spans_b: int) -> float:
    return 1.0 if spans_a + spans_b == 0 else 2 * matched / (spans_a + spans_b)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two label sequences; 1.0 when both use one and the same label throughout."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} labels against {len(b)}")
    if not a:
        return 1.0
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def _annotated(text: str, annotation: ExportAnnotation, config: LabelConfig) -> _Annotated:
    spans: set[SpanKey] = set()
    chars: list[CharSpan] = []
    for result in annotation.result:
        if (result.from_name, result.to_name, result.type) != (config.from_name, config.to_name, "labels"):
            continue
        value = result.value
        labels = value.get("labels")
        start, end = value.get("start"), value.get("end")
        if isinstance(labels, list) and labels and isinstance(start, int) and isinstance(end, int):
            spans.add((start, end, str(labels[0])))
        chars.append(CharSpan(start, end, tuple(labels) if isinstance(labels, list) else (), value.get("text")))
    tags = align_spans(text, chars, config.labels).tags
    return _Annotated(frozenset(spans), tuple(tag.partition("-")[2] or "O" for tag in tags))


def _by_annotator(annotations: Iterable[ExportAnnotation], names: Mapping[int, str] | None,
                  ) -> dict[Annotator, ExportAnnotation]:
    """Each annotator's newest non-cancelled annotation of a task."""
    grouped: dict[Annotator, list[ExportAnnotation]] = {}
    for annotation in annotations:
        who = annotator_of(annotation, names)
        if who is not None and not annotation.was_cancelled:
            grouped.setdefault(who, []).append(annotation)
    return {who: chosen for who, group in grouped.items() if (chosen := choose_annotation(group, "newest"))}


def _label_agreement(counts: Counter[tuple[str, str]], label: str) -> LabelAgreement:
    a, b, m = counts[(label, "a")], counts[(label, "b")], counts[(label, "m")]
    return LabelAgreement(span_f1(m, a, b), a, b, m)


def measure_agreement(tasks: Iterable[tuple[Any, str, Sequence[ExportAnnotation]]], config: LabelConfig, *,
                      names: Mapping[int, str] | None = None) -> AgreementReport:
    """Agreement of every annotator pair over the tasks they both annotated; ``tasks`` as
    ``converters.export.read_export_tasks`` gives them: (task id, text, annotations)."""
    per_pair: dict[tuple[Annotator, Annotator], list[tuple[Any, str, _Annotated, _Annotated]]] = {}
    compared = 0
    for task_id, text, task_annotations in tasks:
        chosen = _by_annotator(task_annotations, names)
        if len(chosen) < 2:
            continue
        compared += 1
        views = {who: _annotated(text, annotation, config) for who, annotation in chosen.items()}
        for a, b in itertools.combinations(sorted(views, key=lambda w: (isinstance(w, str), str(w))), 2):
            per_pair.setdefault((a, b), []).append((task_id, text, views[a], views[b]))
    pairs, disagreements = [], []
    overall: Counter[tuple[str, str]] = Counter()
    for (a, b), shared in per_pair.items():
        counts: Counter[tuple[str, str]] = Counter()
        types_a: list[str] = []
        types_b: list[str] = []
        for task_id, text, view_a, view_b in shared:
            for start, end, label in view_a.spans:
                counts[(label, "a")] += 1
                counts[(label, "m")] += (start, end, label) in view_b.spans
            for _, _, label in view_b.spans:
                counts[(label, "b")] += 1
            types_a.extend(view_a.token_types)
            types_b.extend(view_b.token_types)
            if view_a.spans != view_b.spans:
                disagreements.append(Disagreement(task_id, (a, b), tuple(sorted(view_a.spans - view_b.spans)),
                                                  tuple(sorted(view_b.spans - view_a.spans)), text))
        overall.update(counts)
        labels = sorted({label for label, _ in counts})
        total = {kind: sum(v for (_, k), v in counts.items() if k == kind) for kind in ("a", "b", "m")}
        pairs.append(PairAgreement((a, b), len(shared), span_f1(total["m"], total["a"], total["b"]),
                                   cohen_kappa(types_a, types_b), len(types_a), total["a"], total["b"], total["m"],
                                   {label: _label_agreement(counts, label) for label in labels}))
    labels = sorted({label for label, _ in overall})
    return AgreementReport(compared, tuple(pairs), {label: _label_agreement(overall, label) for label in labels},
                           tuple(disagreements))
