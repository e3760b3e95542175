"""Read Label Studio's CONLL2003 export: ``token -X- _ TAG`` lines, one block per annotation.

Shape (label-studio 1.23.2): the first line is ``-DOCSTART- -X- O`` with no blank line after it, then one block per
submitted annotation (cancelled ones are left out), blocks separated by a blank line. A task annotated twice comes
out twice, newest annotation first, and the format carries no task ids.

Rules:
- Duplicates: blocks with the same tokens are one sentence; the first block is kept (= the newest annotation, which
  is also the JSON routes' default ``newest`` policy) and each later one is reported (``duplicate_text``).
- A tag whose label is not in the config: that entity becomes ``O`` and is reported (``unknown_label``).
- A stray ``I-X`` (not after ``B-X``/``I-X``): an error with ``strict``; otherwise it starts an entity and is
  reported (``stray_inside``).
- Export CONLL2003 *without* ``download_all_tasks``: with it, an unannotated task comes out as an all-``O`` block
  that cannot be told apart from an annotation without entities (see ``tests/fixtures/studio_export.all.conll``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from converters.corpus import Entity, Sentence, check_tag, decode_entities, encode_tags, read_text_lines
from converters.report import Problem
from labeling_config import LabelConfig
from labeling_config.errors import InputFormatError, where

DOCSTART = "-DOCSTART-"


def looks_like_conll(head: str) -> bool:
    """True when the first non-empty line is ``-DOCSTART-`` or a ``token -X- _ TAG`` line."""
    first = next((line for line in head.splitlines() if line.strip()), "")
    parts = first.split(" ")
    return first.startswith(DOCSTART) or (len(parts) == 4 and parts[1] == "-X-")


def _fix_tags(tags: list[str], lines: list[int], config: LabelConfig) -> tuple[tuple[str, ...], list[Problem]]:
    problems: list[Problem] = []
    kept: list[Entity] = []
    for ent in decode_entities(tags):
        place = f"line {lines[ent.start]}"
        if ent.label not in config.labels:
            problems.append(Problem("unknown_label", f"tag {tags[ent.start]!r}: label {ent.label!r} is not in the "
                                    f"config (known: {', '.join(sorted(config.labels))})", field=place,
                                    rule="entity tagged O"))
            continue
        if tags[ent.start].startswith("I-"):
            previous = tags[ent.start - 1] if ent.start else "O"
            problems.append(Problem("stray_inside", f"{tags[ent.start]!r} follows {previous!r}", field=place))
        kept.append(ent)
    return encode_tags(len(tags), kept), problems


def read_conll(path: Path, config: LabelConfig, *, strict: bool = False, tolerant: bool = False,
               progress: Callable[[int, int], None] | None = None) -> tuple[list[Sentence], list[Problem], int]:
    """Sentences (deduplicated by tokens), the problems found, and the number of blocks read; ``progress`` gets
    ``(lines done, lines in all)`` every few thousand lines."""
    sentences: list[Sentence] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, ...], int] = {}
    blocks = 0
    tokens: list[str] = []
    tags: list[str] = []
    numbers: list[int] = []

    def close() -> None:
        nonlocal blocks
        if not tokens:
            return
        blocks += 1
        fixed, found = _fix_tags(tags, numbers, config)
        key = tuple(tokens)
        if key in seen:
            problems.append(Problem("duplicate_text", f"{' '.join(tokens)[:60]!r} repeats the block at line "
                                    f"{seen[key]}", field=f"line {numbers[0]}"))
        else:
            problems.extend(found)
            seen[key] = numbers[0]
            sentences.append(Sentence(key, fixed, f"{path}:{numbers[0]}"))
        tokens.clear()
        tags.clear()
        numbers.clear()

    lines = read_text_lines(path, tolerant=tolerant)
    for number, line in enumerate(lines, start=1):
        if progress and number % 5000 == 0:
            progress(number, len(lines))
        if not line.strip() or line.startswith(DOCSTART):
            close()
            continue
        parts = line.split(" ")
        if len(parts) != 4 or parts[1] != "-X-" or not parts[0]:
            raise InputFormatError(f"found {len(parts)} space-separated field(s) {line[:60]!r}; "
                                   "expected 'token -X- _ TAG'", where=where(path, number),
                                   hint="pass a CONLL2003 export from Label Studio, or --format json")
        place = where(path, number)
        check_tag(parts[3], tags[-1] if tags else "O", None, place, strict=strict)
        tokens.append(parts[0])
        tags.append(parts[3])
        numbers.append(number)
    close()
    if progress:
        progress(len(lines), len(lines))
    return sentences, problems, blocks
