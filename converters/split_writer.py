"""The split writer: the splits of ``converters.split_rule`` written as the sentences stream past, without holding
them. It is the one writer of split files: ``nerloop convert export``, rounds and the learning curve all write
``train.tsv``, ``validation.tsv``, ``test.tsv`` and ``conversion.json`` with it.

Each sentence is placed by the hash rule when it arrives and written at once to its split's temporary file in
``out_dir``; at the end the files are renamed over ``train.tsv``, ``validation.tsv``, ``test.tsv`` (a split left
empty gets no file, and loses an earlier conversion's) and ``conversion.json`` is written. An error, from the rule
or from the sentences' source, removes the temporary files and leaves an earlier conversion's files alone.

What the rule needs from the whole export is kept on the fly, a few items per split:
- each split's sentence count and entity counts (the report);
- up to three distinct texts of each split: the fill rule takes texts only from a split that keeps one, and with
  three splits there are at most two moves, so counts up to three decide every move;
- for each split and each other split, the three texts of the other split nearest the first split's interval
  (ties: the smaller digest), the only texts the fill rule can move into it;
- with a fixed test file, its texts (a small file), for the ``in_test_set`` check;
- with ``keep_test`` (a round, which evaluates on the test split and links its sentences to their tasks), the
  source of each text written to the test split.
Only when the hash left a split empty (a small export) are the files read back once, to count the distinct texts
for the ``split_filled`` message and to move the chosen text's copies out of their file.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from converters.conversion_report import ConversionReport, Problem, SplitCounts, count_split
from converters.corpus import Sentence, decode_entities, write_tsv
from converters.split_rule import (
    DEFAULT_RATIOS,
    DEFAULT_SALT,
    SPLIT_NAMES,
    check_ratios,
    distance,
    filled_problem,
    hash_ratios,
    in_test_problem,
    interval,
    report_json,
    split_index,
    text_digest,
    too_few_texts,
)

_KEEP = 3  # distinct texts counted, and fill candidates kept, per split (pair)
_TEST = SPLIT_NAMES.index("test")
_SCALE = 2 ** 64


@dataclass(frozen=True)
class _Candidate:
    key: tuple[float, bytes]  # (distance to the split it may fill, digest)
    tokens: tuple[str, ...]
    source: str  # of the text's first sentence


class _Part:
    """One split's temporary file and its counts."""

    def __init__(self, out_dir: Path, name: str) -> None:
        self.name = name
        handle, path = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tsv.part")
        self.path = Path(path)
        self.file = os.fdopen(handle, "w", encoding="utf-8", newline="\n")
        self.sentences = 0
        self.entities: Counter[str] = Counter()
        self.texts: list[bytes] = []  # its first _KEEP distinct digests

    def write(self, sentence: Sentence) -> None:
        self.file.write("".join(f"{tag}\t{token}\n" for token, tag in zip(sentence.tokens, sentence.tags,
                                                                           strict=True)) + "\n")
        self.sentences += 1
        self.entities.update(ent.label for ent in sentence.entities)

    def counts(self) -> SplitCounts:
        return SplitCounts(self.sentences, dict(sorted((k, v) for k, v in self.entities.items() if v > 0)))


class SplitWriter:
    """``add`` sentences one at a time, then ``finish`` with the conversion report; use it as a context manager
    so that an error removes the temporary files."""

    def __init__(self, out_dir: Path, *, salt: str = DEFAULT_SALT, ratios: Sequence[float] = DEFAULT_RATIOS,
                 test_sentences: list[Sentence] | None = None, keep_test: bool = False) -> None:
        self.salt = salt
        # text -> source of its first sentence in the test split, for ``test_split`` (None: not kept)
        self._test_sources: dict[tuple[str, ...], str] | None = {} if keep_test else None
        self.ratios = check_ratios(ratios)
        self._ratios = hash_ratios(self.ratios, test_sentences is not None)
        self._test = test_sentences
        self._test_texts = frozenset(s.tokens for s in test_sentences) if test_sentences is not None else None
        self._wanted = [i for i, ratio in enumerate(self._ratios) if ratio > 0]
        self._bounds = {i: interval(self._ratios, i) for i in self._wanted}
        self._candidates: dict[tuple[int, int], list[_Candidate]] = {
            (i, j): [] for i in self._wanted for j in self._wanted if i != j}
        self._problems: list[Problem] = []  # in_test_set, in input order
        self.out_dir = Path(out_dir)
        self._created = not self.out_dir.exists()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._parts: list[_Part] = []
        try:
            for name in SPLIT_NAMES:
                self._parts.append(_Part(self.out_dir, name))
        except BaseException:
            self.abort()
            raise

    def __enter__(self) -> SplitWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is not None:
            self.abort()

    def add(self, sentence: Sentence) -> None:
        if self._test_texts is not None and sentence.tokens in self._test_texts:
            self._problems.append(in_test_problem(sentence))
            return
        digest = text_digest(sentence.tokens, self.salt)
        value = int.from_bytes(digest[:8], "big")
        j = split_index(value, self._ratios)
        part = self._parts[j]
        part.write(sentence)
        if self._test_sources is not None and j == _TEST:
            self._test_sources.setdefault(sentence.tokens, sentence.source)
        if len(part.texts) < _KEEP and digest not in part.texts:
            part.texts.append(digest)
        point = value / _SCALE
        for i in self._wanted:
            if i != j:
                self._offer(self._candidates[(i, j)], (distance(point, self._bounds[i]), digest), sentence)

    @staticmethod
    def _offer(kept: list[_Candidate], key: tuple[float, bytes], sentence: Sentence) -> None:
        if (len(kept) == _KEEP and key >= kept[-1].key) or any(c.key == key for c in kept):
            return
        kept.append(_Candidate(key, sentence.tokens, sentence.source))
        kept.sort(key=lambda c: c.key)
        del kept[_KEEP:]

    def finish(self, report: ConversionReport) -> tuple[dict[str, Path], ConversionReport]:
        """Fill empty splits, rename the files into place and write ``conversion.json``; returns the paths by name
        (``train``, ``validation``, ``test`` for the splits written, and ``report``) and ``report`` with the split
        problems and the sentence and entity counts per split (what ``conversion.json`` holds)."""
        for part in self._parts:
            part.file.close()
        problems = [*self._problems, *self._fill()]
        if self._test is not None:
            test = self._parts[_TEST]
            write_tsv(test.path, self._test)
            counts = count_split(self._test)
            test.sentences, test.entities = counts.sentences, Counter(counts.entities)
        paths: dict[str, Path] = {}
        for part in self._parts:
            path = self.out_dir / f"{part.name}.tsv"
            if part.sentences:
                os.replace(part.path, path)
                paths[part.name] = path
            else:
                part.path.unlink()
                path.unlink(missing_ok=True)  # never leave a previous conversion's split beside this one
        full = replace(report.with_problems(problems), splits={part.name: part.counts() for part in self._parts})
        paths["report"] = self.out_dir / "conversion.json"
        handle, temp = tempfile.mkstemp(dir=self.out_dir, prefix=".conversion.", suffix=".json.part")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(report_json(full, self.salt, self.ratios))
        os.replace(temp, paths["report"])
        return paths, full

    def test_split(self) -> list[Sentence]:
        """After ``finish`` of a writer made with ``keep_test``: the test split read back from the file written,
        in its order, each sentence with the source of its text's first sentence (a text moved in by the fill rule
        included); with a fixed test file, its sentences as given."""
        if self._test_sources is None:
            raise ValueError("test_split needs a SplitWriter made with keep_test=True")
        if self._test is not None:
            return list(self._test)
        if not self._parts[_TEST].sentences:
            return []
        sources = self._test_sources
        return [Sentence(tokens, tags, sources[tokens]) for tokens, tags, _ in _blocks(self.out_dir / "test.tsv")]

    def abort(self) -> None:
        """Remove the temporary files (and ``out_dir`` if this writer made it and it is empty)."""
        for part in self._parts:
            part.file.close()
            part.path.unlink(missing_ok=True)
        if self._created:
            with contextlib.suppress(OSError):  # not empty: something else is in it
                self.out_dir.rmdir()

    def _fill(self) -> list[Problem]:
        """The fill rule of ``converters.split_rule`` on the kept counts and candidates: choose the moves, then move
        each chosen text's sentences from its file to the file of the split it fills."""
        texts = [len(part.texts) for part in self._parts]  # distinct texts, counted up to _KEEP
        if sum(texts) < len(self._wanted):  # then every split counted all its texts
            raise too_few_texts(sum(texts), len(self._wanted))
        moves: list[tuple[_Candidate, int, int]] = []
        for i in self._wanted:
            if texts[i]:
                continue
            moved = {c.tokens for c, _, _ in moves}
            j, chosen = min(((j, c) for j in self._wanted if texts[j] > 1 for c in self._candidates[(i, j)]
                             if c.tokens not in moved), key=lambda jc: jc[1].key)
            texts[j] -= 1
            texts[i] = 1
            moves.append((chosen, j, i))
            if self._test_sources is not None and i == _TEST:
                self._test_sources.setdefault(chosen.tokens, chosen.source)
        if not moves:
            return []
        distinct = self._distinct_texts()
        for j in {j for _, j, _ in moves}:
            self._move(j, {c.tokens: i for c, source, i in moves if source == j})
        return [filled_problem(c.tokens, c.source, j, i, distinct) for c, j, i in moves]

    def _distinct_texts(self) -> int:
        seen: set[bytes] = set()
        for part in self._parts:
            for tokens, _, _ in _blocks(part.path):
                seen.add(hashlib.blake2b("\n".join(tokens).encode("utf-8"), digest_size=16).digest())
        return len(seen)

    def _move(self, j: int, targets: dict[tuple[str, ...], int]) -> None:
        source = self._parts[j]
        handle, kept_path = tempfile.mkstemp(dir=self.out_dir, prefix=f".{source.name}.", suffix=".tsv.part")
        outs = {i: self._parts[i].path.open("a", encoding="utf-8", newline="\n") for i in set(targets.values())}
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as kept:
                for tokens, tags, block in _blocks(source.path):
                    i = targets.get(tokens)
                    if i is None:
                        kept.write(block)
                        continue
                    outs[i].write(block)
                    labels = Counter(ent.label for ent in decode_entities(tags))
                    source.sentences -= 1
                    source.entities.subtract(labels)
                    self._parts[i].sentences += 1
                    self._parts[i].entities.update(labels)
        finally:
            for out in outs.values():
                out.close()
        os.replace(kept_path, source.path)


def _blocks(path: Path) -> Iterator[tuple[tuple[str, ...], tuple[str, ...], str]]:
    """The sentences of a file ``_Part`` wrote: (tokens, tags, the block's text). Every token line holds a tab
    (tags hold none, tokens no newline), so a blank line always ends a sentence."""
    with path.open(encoding="utf-8", newline="\n") as lines:
        block: list[str] = []
        for line in lines:
            if line == "\n":
                fields = [entry[:-1].partition("\t") for entry in block]
                yield tuple(f[2] for f in fields), tuple(f[0] for f in fields), "".join(block) + "\n"
                block = []
            else:
                block.append(line)


def stream_splits(sentences: Iterable[Sentence], out_dir: Path,
                  report: ConversionReport | Callable[[], ConversionReport], *, salt: str = DEFAULT_SALT,
                  ratios: Sequence[float] = DEFAULT_RATIOS,
                  test_sentences: list[Sentence] | None = None) -> dict[str, Path]:
    """Write the splits of ``sentences`` and ``conversion.json`` into ``out_dir`` with a ``SplitWriter``; returns
    the paths by name. ``report`` may be a function called once the sentences are consumed (an ``ExportStream``'s
    report is full only then)."""
    with SplitWriter(out_dir, salt=salt, ratios=ratios, test_sentences=test_sentences) as writer:
        for sentence in sentences:
            writer.add(sentence)
        paths, _ = writer.finish(report() if callable(report) else report)
    return paths
