"""Character spans (Label Studio regions) onto Label Studio's tokens, as IOB2 tags, with every problem reported.

Rules (the same as Label Studio's CONLL2003 export, ``label_studio_sdk.converter.utils.create_tokens_and_tags``,
so the JSON, JSON_MIN and CONLL2003 routes give identical sentences):

- A token belongs to a span when it overlaps the span by at least one character. A span whose edges are not token
  edges (``"pizza"`` inside ``"pizzas"``) is *snapped* to the tokens it overlaps and reported (``off_boundary``);
  whitespace at a span's edges touches no token and is not a problem.
- Overlapping spans: spans are taken in order of their start offset (then result order); the span that starts
  first keeps all its tokens, a later one keeps only its tokens after those (``overlap``) or is dropped if none are
  left (``overlap_dropped``). Both are reported.
- ``value.labels`` with several labels: the first is used (``multiple_labels``); a label not in the config, or no
  label: the span is skipped (``unknown_label``), but it still claims its tokens in the overlap rule below, as in
  Label Studio's export (which writes the unknown tag there; the CONLL2003 reader turns it into ``O``).
- ``value.text`` differing from ``text[start:end]``: the offsets win (``text_mismatch``); Label Studio itself never
  checks this field.
- Offsets that are not integers with ``0 <= start < end <= len(text)``: the span is skipped (``out_of_range``); a
  span that covers only whitespace is skipped too (``no_tokens``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from converters.conversion_report import Problem
from converters.corpus import Entity, encode_tags
from converters.tokens import Token, tokenize


@dataclass(frozen=True)
class CharSpan:
    """A labelled region as the export gives it (offsets unchecked); ``field`` names it, e.g. ``result[2]``."""

    start: Any
    end: Any
    labels: tuple[Any, ...]
    text: Any = None
    field: str = ""


@dataclass(frozen=True)
class Alignment:
    tokens: tuple[Token, ...]
    tags: tuple[str, ...]
    problems: tuple[Problem, ...]


def _is_offset(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _token_range(tokens: list[Token], start: int, end: int) -> tuple[int, int]:
    hit = [i for i, tok in enumerate(tokens) if tok.start < end and tok.end > start]
    return (hit[0], hit[-1] + 1) if hit else (0, 0)


def align_spans(text: str, spans: Iterable[CharSpan], labels: Iterable[str], *, task: int | None = None,
                annotation: int | None = None) -> Alignment:
    """Tokenize ``text`` like Label Studio and turn ``spans`` into IOB2 tags over those tokens."""
    tokens = tokenize(text)
    known = frozenset(labels)
    problems: list[Problem] = []

    def report(kind: str, what: str, field: str) -> None:
        problems.append(Problem(kind, what, task=task, annotation=annotation, field=field))

    # char start, order, first token, end token, label (None: an unknown label that only claims tokens), field
    ranges: list[tuple[int, int, int, int, str | None, str]] = []
    for order, span in enumerate(spans):
        field = span.field or f"span {order}"
        if not (_is_offset(span.start) and _is_offset(span.end) and 0 <= span.start < span.end <= len(text)):
            report("out_of_range", f"start={span.start!r} end={span.end!r} is not within the text "
                   f"(0..{len(text)}, start < end)", f"{field}.value.start")
            continue
        covered = text[span.start:span.end]
        first, last = _token_range(tokens, span.start, span.end)
        if not span.labels or not all(isinstance(x, str) for x in span.labels) or span.labels[0] not in known:
            report("unknown_label", f"label {span.labels[0] if span.labels else None!r} is not in the config "
                   f"(known: {', '.join(sorted(known))})", f"{field}.value.labels")
            if first != last:
                ranges.append((span.start, order, first, last, None, field))
            continue
        if len(span.labels) > 1:
            report("multiple_labels", f"{len(span.labels)} labels {list(span.labels)!r}", f"{field}.value.labels")
        if span.text is not None and span.text != covered:
            report("text_mismatch", f"value.text {span.text!r} but text[{span.start}:{span.end}] is {covered!r}",
                   f"{field}.value.text")
        if first == last:
            report("no_tokens", f"text[{span.start}:{span.end}] = {covered!r} touches no token", f"{field}.value")
            continue
        inner_start = span.start + len(covered) - len(covered.lstrip())
        inner_end = span.end - (len(covered) - len(covered.rstrip()))
        if tokens[first].start != inner_start or tokens[last - 1].end != inner_end:
            words = [tok.text for tok in tokens[first:last]]
            report("off_boundary", f"{covered!r} [{span.start}:{span.end}] is not on token boundaries; "
                   f"tokens {words!r}", f"{field}.value")
        ranges.append((span.start, order, first, last, span.labels[0], field))

    entities: list[Entity] = []
    taken_until = 0
    for _, _, first, last, label, field in sorted(ranges, key=lambda r: r[:2]):
        if label is None:
            taken_until = max(taken_until, last)
            continue
        if first < taken_until:
            if taken_until >= last:
                report("overlap_dropped", f"{label} on tokens {first}..{last - 1} lies inside an earlier span",
                       f"{field}.value")
                continue
            report("overlap", f"{label} on tokens {first}..{last - 1} overlaps an earlier span; "
                   f"kept tokens {taken_until}..{last - 1}", f"{field}.value")
            first = taken_until
        entities.append(Entity(label, first, last))
        taken_until = max(taken_until, last)
    return Alignment(tuple(tokens), encode_tags(len(tokens), entities), tuple(problems))
