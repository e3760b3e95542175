"""Sentences with IOB2 tags, and the ``TAG<TAB>token`` file format of the MIT corpus (our split format).

A file holds one token per line as ``TAG<TAB>token`` and a blank line between sentences. The same reader loads
the shipped MIT ``.bio`` files and the ``train.tsv``/``validation.tsv``/``test.tsv`` splits the converters write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputFormatError, UnknownTagError, where


@dataclass(frozen=True)
class Entity:
    """An entity as a half-open token range ``[start, end)``."""

    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    source: str = ""  # where it came from, e.g. "train.bio:12" or "task 7", for error messages

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.tags):
            raise ValueError(f"{self.source}: {len(self.tokens)} tokens but {len(self.tags)} tags")

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    @property
    def entities(self) -> tuple[Entity, ...]:
        return tuple(decode_entities(self.tags))


def decode_entities(tags: Iterable[str]) -> Iterator[Entity]:
    """IOB2 chunks: ``B-X`` always starts a new entity; an ``I-X`` that does not continue an X starts one too
    (the conlleval rule; strict readers reject such tags before they get here)."""
    label, start = None, 0
    i = -1
    for i, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        continues = prefix == "I" and kind == label
        if label is not None and not continues:
            yield Entity(label, start, i)
            label = None
        if prefix in ("B", "I") and not continues:
            label, start = kind, i
    if label is not None:
        yield Entity(label, start, i + 1)


def encode_tags(length: int, entities: Iterable[Entity]) -> tuple[str, ...]:
    """The IOB2 tags for ``length`` tokens and non-overlapping entities."""
    tags = ["O"] * length
    for ent in entities:
        tags[ent.start] = f"B-{ent.label}"
        for i in range(ent.start + 1, ent.end):
            tags[i] = f"I-{ent.label}"
    return tuple(tags)


def check_tag(tag: str, previous: str, known: frozenset[str] | None, place: str, *, strict: bool) -> None:
    """Reject a malformed tag, an unknown tag, or (strict) an ``I-X`` that does not follow ``B-X``/``I-X``."""
    prefix, dash, kind = tag.partition("-")
    if tag != "O" and not (prefix in ("B", "I") and dash and kind):
        raise InputFormatError(f"tag {tag!r} is not O, B-<label> or I-<label>", where=place,
                               hint="use IOB2 tags")
    if known is not None and tag not in known:
        raise UnknownTagError(f"tag {tag!r} is not in the label config (known: {', '.join(sorted(known))})",
                               where=place, hint="add the label to the config or fix the tag")
    if strict and prefix == "I" and previous not in (f"B-{kind}", f"I-{kind}"):
        raise InputFormatError(f"{tag!r} follows {previous!r}; strict IOB2 needs B-{kind} first", where=place,
                               hint="fix the tag, or read without --strict to start an entity at a stray I-")


def read_text_lines(path: Path, *, tolerant: bool = False) -> list[str]:
    """Read a UTF-8 file as lines, with a clear error for non-UTF-8, a BOM or CRLF (unless ``tolerant``)."""
    text = read_text(path, tolerant=tolerant)
    if "\r" in text:
        if not tolerant:
            line = text[: text.index("\r")].count("\n") + 1
            raise InputFormatError("the file has CRLF (Windows) line endings", where=f"{path}:{line}",
                                   hint="convert it with dos2unix, or pass --tolerant")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def read_text(path: Path, *, tolerant: bool = False) -> str:
    """Read a non-empty UTF-8 file, with a clear error for non-UTF-8 or a BOM (unless ``tolerant``); line endings
    are left alone (``read_text_lines`` checks them)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFormatError(f"cannot read the file ({exc.strerror})", where=str(path),
                               hint="check the path") from exc
    if not data.strip():
        raise InputFormatError("the file is empty", where=str(path), hint="pass a file with at least one sentence")
    if data.startswith(b"\xef\xbb\xbf"):
        if not tolerant:
            raise InputFormatError("the file starts with a UTF-8 byte-order mark", where=f"{path}:1",
                                   hint="save it as UTF-8 without BOM, or pass --tolerant")
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFormatError(f"byte {data[exc.start]:#04x} is not UTF-8", where=f"{path}:{line}",
                               hint="re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from exc


def read_tsv(path: str | Path, *, tags: Iterable[str] | None = None, strict: bool = False,
             tolerant: bool = False) -> list[Sentence]:
    """Read a ``TAG<TAB>token`` file into sentences; every error names ``file:line``.

    ``tags``: the allowed tag set (from the label config); ``strict``: reject an ``I-X`` without ``B-X``;
    ``tolerant``: accept a BOM and CRLF line endings instead of failing on them.
    """
    path = Path(path)
    known = frozenset(tags) if tags is not None else None
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tag_list: list[str] = []
    start_line = 1
    for number, line in enumerate(read_text_lines(path, tolerant=tolerant), start=1):
        if not line.strip():
            if tokens:
                sentences.append(Sentence(tuple(tokens), tuple(tag_list), f"{path}:{start_line}"))
                tokens, tag_list = [], []
            continue
        place = where(path, number)
        fields = line.split("\t")
        if len(fields) != 2 or not fields[1].strip():
            raise InputFormatError(f"found {len(fields)} tab-separated field(s) {line[:60]!r}; expected TAG<TAB>token",
                                   where=place, hint="one token per line, tag first, separated by one tab")
        if " " in fields[1]:
            raise InputFormatError(f"the token {fields[1][:60]!r} contains a space; expected one token per line",
                                   where=place, hint="put each word on its own line with its own tag")
        tag, token = fields[0].strip(), fields[1]
        check_tag(tag, tag_list[-1] if tag_list else "O", known, place, strict=strict)
        if not tokens:
            start_line = number
        tokens.append(token)
        tag_list.append(tag)
    if tokens:
        sentences.append(Sentence(tuple(tokens), tuple(tag_list), f"{path}:{start_line}"))
    return sentences


def write_tsv(path: str | Path, sentences: Iterable[Sentence]) -> int:
    """Write sentences as ``TAG<TAB>token`` with a blank line after each; returns the count written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for sentence in sentences:
            for token, tag in zip(sentence.tokens, sentence.tags, strict=True):
                out.write(f"{tag}\t{token}\n")
            out.write("\n")
            count += 1
    return count
