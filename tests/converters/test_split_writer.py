"""The split writer writes, as the sentences stream past, exactly what the in-memory model of the rule
(tests/converters/split_reference.py: all sentences held) writes: the same split files byte for byte, the same
conversion.json, the same errors, and nothing left behind on an error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from converters.conversion_report import ConversionReport, Problem
from converters.corpus import Sentence, read_tsv
from converters.export import read_export
from converters.split_writer import SplitWriter, stream_splits
from core.errors import ConversionError
from nerloop.cli import app
from tests.converters.converter_helpers import FIXTURES, MIT
from tests.converters.split_reference import make_splits, splits_report, write_splits

RATIOS = [(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (0.5, 0.5, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.1, 0.1, 0.8),
          (0.0, 0.5, 0.5), (0.98, 0.01, 0.01), (1 / 3, 1 / 3, 1 / 3), (0.0, 0.0, 1.0), (0.9, 0.0, 0.1)]
REPORT = ConversionReport("export.json", "json", tasks_read=9, annotations_used=7, sentences=7,
                          problems=(Problem("unknown_label", "'Foo' is not a label", task=3),))

tokens = st.lists(st.sampled_from(["thai", "food", "Zürich", "café", "a", "b", "x\ty", "\u00a0z", "w"]),
                  min_size=0, max_size=3).map(tuple)
tags = st.sampled_from(["O", "B-Dish", "I-Dish", "B-Cuisine", "I-Cuisine"])


@st.composite
def sentences(draw: st.DrawFn, max_size: int = 40) -> list[Sentence]:
    texts = draw(st.lists(tokens, min_size=0, max_size=max_size))
    return [Sentence(t, tuple(draw(tags) for _ in t), draw(st.sampled_from(["", f"task {n}", "line 3"])))
            for n, t in enumerate(texts)]


def files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def both(tmp_path, items, **options):
    """Convert with both writers into fresh folders: (held result, streamed result), each the returned paths'
    names and the folder's files, or the error message."""
    results = []
    for name, convert in (("held", lambda out: write_splits(make_splits(items, **options), out, REPORT)),
                          ("streamed", lambda out: stream_splits(iter(items), out, REPORT, **options))):
        out = tmp_path / name
        if out.exists():
            for p in out.iterdir():
                p.unlink()
        try:
            paths = convert(out)
        except ConversionError as exc:
            results.append((str(exc), files(out) if out.exists() else None))
        else:
            results.append(({k: p.relative_to(out) for k, p in paths.items()}, files(out)))
    return results


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=sentences(), ratios=st.sampled_from(RATIOS), salt=st.sampled_from(["nerloop", "s1", ""]),
       copies=st.integers(1, 3), test=st.one_of(st.none(), sentences(max_size=6)), shuffle=st.randoms())
def test_streamed_splits_are_the_held_splits_byte_for_byte(tmp_path, items, ratios, salt, copies, test, shuffle):
    items = items * copies
    shuffle.shuffle(items)
    if test is not None and items:  # a fixed test set that shares some texts with the export
        test = test + items[: len(items) // 4]
    held, streamed = both(tmp_path, items, salt=salt, ratios=ratios, test_sentences=test)
    assert streamed == held


@settings(max_examples=100, deadline=None)
@given(items=sentences(max_size=12), ratios=st.sampled_from(RATIOS[:3]), test=st.one_of(st.none(), sentences(3)))
def test_the_streamed_report_is_the_held_report(items, ratios, test):
    try:
        held = make_splits(items, ratios=ratios, test_sentences=test)
    except ConversionError:
        return
    with tempfile.TemporaryDirectory() as out, SplitWriter(Path(out), ratios=ratios, test_sentences=test) as writer:
        for sentence in items:
            writer.add(sentence)
        _, report = writer.finish(REPORT)
    assert report == splits_report(held, REPORT)


def corpus(n: int) -> list[Sentence]:
    return [Sentence((f"w{i}", "food"), ("B-Dish", "O"), f"task {i}") for i in range(n)]


def test_a_small_export_fills_splits_with_the_same_moves(tmp_path):
    """The literal cases of test_split_rule.py: 7 texts fill validation from test; 3 texts fill both from train."""
    for n in (3, 7):
        held, streamed = both(tmp_path, corpus(n) + corpus(n)[::-1])
        assert streamed == held
        assert b"split_filled" in streamed[1]["conversion.json"]


def test_too_few_texts_is_the_same_error_and_leaves_the_earlier_files(tmp_path):
    out = tmp_path / "out"
    stream_splits(corpus(10), out, REPORT)
    before = files(out)
    with pytest.raises(ConversionError) as info:
        stream_splits([s for s in corpus(2) for _ in range(3)], out, REPORT)
    assert str(info.value).startswith("2 distinct text(s) cannot fill 3 splits")
    assert files(out) == before  # no temporary file left, no earlier split touched


def test_an_error_from_the_sentences_removes_the_temporary_files(tmp_path):
    def broken():
        yield from corpus(5)
        raise ConversionError("task 6: broken")

    with pytest.raises(ConversionError):
        stream_splits(broken(), tmp_path / "new", REPORT)
    assert not (tmp_path / "new").exists()


def test_the_report_may_come_once_the_sentences_are_read(tmp_path):
    seen = []

    def items():
        for s in corpus(20):
            seen.append(s)
            yield s

    paths = stream_splits(items(), tmp_path / "out", lambda: ConversionReport("e.json", "json", sentences=len(seen)))
    assert '"sentences": 20,' in paths["report"].read_text(encoding="utf-8")


@pytest.mark.parametrize("export", ["studio_export.json", "studio_export.min.json", "studio_export.conll"])
def test_nerloop_convert_export_streams_to_the_held_files(tmp_path, config, export):
    """The CLI converts with iter_export -> SplitWriter; its files are those of read_export -> make_splits ->
    write_splits, with and without a fixed test file."""
    test = read_tsv(MIT / "test.bio", tags=config.tags)[:50]
    (tmp_path / "test.bio").write_bytes(b"".join(
        "".join(f"{tag}\t{token}\n" for token, tag in zip(s.tokens, s.tags, strict=True)).encode() + b"\n"
        for s in test))
    for options, test_sentences in (([], None), (["--test-file", str(tmp_path / "test.bio")], test)):
        out = tmp_path / "cli"
        result = CliRunner().invoke(app, ["convert", "export", str(FIXTURES / export), "--out", str(out), "--salt",
                                          "s2", "--ratios", "0.6,0.2,0.2", *options])
        assert result.exit_code == 0, result.output
        sentences, report = read_export(FIXTURES / export, config)
        write_splits(make_splits(sentences, salt="s2", ratios=(0.6, 0.2, 0.2), test_sentences=test_sentences),
                     tmp_path / "held", report)
        assert files(out) == files(tmp_path / "held")


@settings(max_examples=100, deadline=None)
@given(items=sentences(max_size=30), ratios=st.sampled_from(RATIOS), test=st.one_of(st.none(), sentences(4)))
def test_the_kept_test_split_is_the_test_file_with_each_sentences_source(items, ratios, test):
    """A round keeps its test split: the file written, read back in its order, with each sentence's source (its
    task, for the report's links); with a fixed test file, its sentences."""
    items = list({s.tokens: s for s in items}.values())  # one sentence per text, as an export gives
    try:
        held = make_splits(items, ratios=ratios, test_sentences=test)
    except ConversionError:
        return
    with tempfile.TemporaryDirectory() as out, SplitWriter(Path(out), ratios=ratios, test_sentences=test,
                                                           keep_test=True) as writer:
        for sentence in items:
            writer.add(sentence)
        writer.finish(REPORT)
        assert writer.test_split() == list(held.test)


def test_the_test_split_is_kept_only_when_asked(tmp_path):
    with SplitWriter(tmp_path / "out") as writer:
        for sentence in corpus(10):
            writer.add(sentence)
        writer.finish(REPORT)
        with pytest.raises(ValueError, match="keep_test=True"):
            writer.test_split()
