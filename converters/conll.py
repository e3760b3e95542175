"""Read Label Studio's CONLL2003 export: ``token -X- _ TAG`` lines, one block per annotation, line by line.

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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from converters.conversion_report import Problem
from converters.corpus import Entity, Sentence, check_tag, decode_entities, encode_tags
from converters.stream import check_file, iter_lines, text_key
from core.errors import InputFormatError, where
from labeling_config import LabelConfig

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


@dataclass
class ConllTally:
    """What ``iter_conll`` has read so far: blocks, sentences kept, problems."""

    blocks: int = 0
    sentences: int = 0
    problems: list[Problem] = field(default_factory=list)


def iter_conll(path: Path, config: LabelConfig, *, strict: bool = False, tolerant: bool = False,
               progress: Callable[[int, int], None] | None = None, tally: ConllTally | None = None,
               share_tokens: bool = False) -> Iterator[Sentence]:
    """Sentences (deduplicated by tokens) one block at a time, in bounded memory; ``tally`` collects the blocks
    and problems. The file's bytes are checked before this returns (the errors of ``read_text_lines``); a line
    error is raised when iteration reaches it. ``progress`` gets ``(lines done, lines in all)`` every few thousand
    lines. ``share_tokens``: equal tokens of different sentences are one string (for callers that keep them)."""
    path = Path(path)
    facts = check_file(path, tolerant=tolerant)
    if facts.first_cr_line is not None and not tolerant:
        raise InputFormatError("the file has CRLF (Windows) line endings", where=f"{path}:{facts.first_cr_line}",
                               hint="convert it with dos2unix, or pass --tolerant")
    return _blocks(path, config, facts.lines, strict=strict, tolerant=tolerant, progress=progress,
                   tally=ConllTally() if tally is None else tally, vocabulary={} if share_tokens else None)


def _blocks(path: Path, config: LabelConfig, total: int, *, strict: bool, tolerant: bool,
            progress: Callable[[int, int], None] | None, tally: ConllTally,
            vocabulary: dict[str, str] | None) -> Iterator[Sentence]:
    seen: dict[bytes, int] = {}  # text_key(tokens) -> line of the block kept
    tags_seen: dict[str, str] = {}  # one string per tag
    tokens: list[str] = []
    tags: list[str] = []
    numbers: list[int] = []

    def close() -> Sentence | None:
        if not tokens:
            return None
        tally.blocks += 1
        fixed, found = _fix_tags(tags, numbers, config)
        text = tuple(tokens)
        key = text_key(text)
        sentence = None
        if key in seen:
            tally.problems.append(Problem("duplicate_text", f"{' '.join(tokens)[:60]!r} repeats the block at line "
                                          f"{seen[key]}", field=f"line {numbers[0]}"))
        else:
            tally.problems.extend(found)
            seen[key] = numbers[0]
            tally.sentences += 1
            if vocabulary is not None:
                text = tuple(vocabulary.setdefault(token, token) for token in text)
            sentence = Sentence(text, tuple(tags_seen.setdefault(tag, tag) for tag in fixed), f"{path}:{numbers[0]}")
        tokens.clear()
        tags.clear()
        numbers.clear()
        return sentence

    for number, line in enumerate(iter_lines(path, tolerant=tolerant), start=1):
        if progress and number % 5000 == 0:
            progress(number, total)
        if not line.strip() or line.startswith(DOCSTART):
            if (sentence := close()) is not None:
                yield sentence
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
    if (sentence := close()) is not None:
        yield sentence
    if progress:
        progress(total, total)


def read_conll(path: Path, config: LabelConfig, *, strict: bool = False, tolerant: bool = False,
               progress: Callable[[int, int], None] | None = None) -> tuple[list[Sentence], list[Problem], int]:
    """Sentences (deduplicated by tokens), the problems found, and the number of blocks read; ``progress`` gets
    ``(lines done, lines in all)`` every few thousand lines."""
    tally = ConllTally()
    sentences = list(iter_conll(path, config, strict=strict, tolerant=tolerant, progress=progress, tally=tally,
                                share_tokens=True))
    return sentences, tally.problems, tally.blocks
