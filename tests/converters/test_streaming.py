"""The streaming reader: bounded reads, lazy conversion, and the same results and errors as reading files whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import converters.stream as stream
from converters.conll import ConllTally, iter_conll
from converters.corpus import read_text, read_text_lines
from converters.export import iter_export, read_export
from converters.stream import JsonItems, check_file, load_whole
from core.errors import InputFormatError
from tests.converters.converter_helpers import FIXTURES, annotation, region, task, write_json

HINT = "(export the project again; do not edit the file by hand)"
EXPORT = json.dumps([task(1, "cheap pizza", annotation(10, region(6, 11, "pizza", "Dish"))),
                     task(2, "late night tacos", annotation(20, region(0, 10, "late night", "Hours"))),
                     {"id": 3, "data": {"text": "x", "n": [1.5, -2e3, None, True]}, "annotations": []}], indent=1)


def whole(path: Path) -> object:
    """What ``json.loads`` of the whole file gives: the value, or the error message read_export would raise."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}) {HINT}"


def streamed(path: Path, chunk: int) -> object:
    try:
        items = JsonItems(path, tolerant=False, chunk=chunk)
        return list(items) if items.is_list else load_whole(path, tolerant=False)
    except InputFormatError as exc:
        return str(exc)


def corruptions(text: str) -> list[str]:
    """Every one-character deletion, and a few insertions at every position."""
    docs = [text[:i] + text[i + 1:] for i in range(len(text))]
    docs += [text[:i] + extra + text[i:] for i in range(len(text)) for extra in ('"', ",", "}", "]", "\\", "\n x")]
    return docs


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_json_items_and_errors_equal_json_loads_at_any_chunk_size(tmp_path, chunk):
    path = tmp_path / "e.json"
    docs = [EXPORT, "[]", "[1,]", "[1 2]", "[", "[1", "[]x", " [ ] \n", "[\n{}\n,\n]", "[1]\n\n x", '{"a": 1}', '"s"',
            '["a\\u00e9\\ud83d\\ude00", NaN, -Infinity, 1e400, 12345678901234567890123]', '["abc', '[1, tru', "[1, 2"]
    for doc in [*docs, *corruptions(EXPORT[:120] + "\n]")]:
        path.write_text(doc, encoding="utf-8")
        expected, got = whole(path), streamed(path, chunk)
        assert repr(got) == repr(expected), doc  # repr: NaN != NaN


@pytest.mark.parametrize("content", [
    b"", b" \n\t", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n", b"ok\r\nnext\rlast\n", b"a\nb\r", b"\r\n\r\n", b"x\n\xe9\n",
    "na\u00efve\ncaf\u00e9\n".encode() + b"\xc3", b"\n\n\xff", b"a\r\n\xe2\x82", "\u20ac\r\u20ac\n".encode(),
])
@pytest.mark.parametrize("tolerant", [False, True])
@pytest.mark.parametrize("chunk", [1, 2, 5, 1 << 20])
def test_file_checks_equal_reading_the_file_whole(tmp_path, content, tolerant, chunk):
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    try:
        text = read_text(path, tolerant=tolerant)
        expected: object = (len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")) if tolerant
                            else len(text.split("\n")), text[:text.index("\r")].count("\n") + 1 if "\r" in text
                            else None)
    except InputFormatError as exc:
        expected = str(exc)
    try:
        facts = check_file(path, tolerant=tolerant, chunk=chunk)
        got: object = (facts.lines, facts.first_cr_line)
    except InputFormatError as exc:
        got = str(exc)
    assert got == expected
    if tolerant and isinstance(got, tuple):
        assert list(stream.iter_lines(path, tolerant=True)) == read_text_lines(path, tolerant=True)


def big_export(tmp_path: Path, tasks: int) -> Path:
    items = [task(i, f"cheap pizza number {i}", annotation(i, region(6, 11, "pizza", "Dish"))) for i in range(tasks)]
    return write_json(tmp_path / "big.json", items)


def test_the_file_is_never_read_whole_and_the_buffer_stays_small(tmp_path, config, monkeypatch):
    path = big_export(tmp_path, 2000)
    conll = FIXTURES / "studio_export.conll"
    expected = [read_export(p, config) for p in (path, FIXTURES / "studio_export.min.json", conll)]

    def refuse(*args, **kwargs):
        raise AssertionError("the whole file was read")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    monkeypatch.setattr(Path, "read_text", refuse)
    monkeypatch.setattr(stream, "CHUNK", 512)
    largest = [0]
    more = stream._Parser._more

    def watched(self):
        grew = more(self)
        largest[0] = max(largest[0], len(self.buf))
        return grew

    monkeypatch.setattr(stream._Parser, "_more", watched)
    got = [read_export(p, config) for p in (path, FIXTURES / "studio_export.min.json", conll)]
    assert [(s, r.to_dict()) for s, r in got] == [(s, r.to_dict()) for s, r in expected]
    assert path.stat().st_size > 200_000
    assert 0 < largest[0] <= 2 * 512 + 64


@pytest.mark.parametrize("name", ["studio_export.json", "studio_export.min.json", "studio_export.conll",
                                  "studio_export.all.conll"])
def test_chunk_boundaries_change_nothing(config, monkeypatch, name):
    expected_sentences, expected = read_export(FIXTURES / name, config)
    monkeypatch.setattr(stream, "CHUNK", 3)
    sentences, report = read_export(FIXTURES / name, config)
    assert (sentences, report.to_dict()) == (expected_sentences, expected.to_dict())


def test_iter_export_converts_one_task_at_a_time(tmp_path, config):
    path = big_export(tmp_path, 50)
    converted = iter_export(path, config)
    assert (converted.format, converted.report.tasks_read, converted.report.sentences) == ("json", 0, 0)
    first = next(iter(converted))
    assert (first.tokens, first.tags, first.source) == (("cheap", "pizza", "number", "0"), ("O", "B-Dish", "O", "O"),
                                                        "task 0")
    assert converted.report.tasks_read == 1
    rest = list(converted)
    sentences, report = read_export(path, config)
    assert [first, *rest] == sentences
    assert converted.report == report


def test_iter_export_raises_file_errors_before_converting_anything(tmp_path, config):
    path = tmp_path / "e.json"
    path.write_text(EXPORT[:-1] + ", }]", encoding="utf-8")  # the syntax error is after all the tasks
    with pytest.raises(InputFormatError, match="not valid JSON"):
        iter_export(path, config)


def test_json_min_rows_of_one_task_far_apart_are_still_one_task(tmp_path, config):
    def row(task_id, ann, created, start, end, label):
        return {"id": task_id, "text": "cheap pizza", "annotation_id": ann, "created_at": created,
                "updated_at": created, "label": [{"start": start, "end": end, "text": "x", "labels": [label]}]}

    apart = [row(1, 10, "2026-01-01", 0, 5, "Price"), {**row(2, 20, "2026-01-01", 6, 11, "Dish"), "text": "b c"},
             row(1, 11, "2026-02-01", 6, 11, "Dish")]
    together = [apart[0], apart[2], apart[1]]
    results = {}
    for name, rows in (("apart", apart), ("together", together)):
        sentences, report = read_export(write_json(tmp_path / f"{name}.json", rows), config)
        results[name] = ([(s.source, s.tags) for s in sentences], report.tasks_read, report.annotations_skipped)
    assert results["apart"][0] == [("task 1", ("O", "B-Dish")), ("task 2", ("O", "O"))]
    assert results["apart"][1:] == (2, {"not chosen (newest)": 1})
    assert results["together"] == results["apart"]


def test_conll_is_read_line_by_line(tmp_path, config):
    path = tmp_path / "e.conll"
    path.write_text("-DOCSTART- -X- O\ncheap -X- _ B-Price\nfood -X- _ O\n\nlate -X- _ B-Hours\n\ncheap -X- _ O\n"
                    "food -X- _ O\n\nbroken line\n", encoding="utf-8")
    tally = ConllTally()
    blocks = iter(iter_conll(path, config, tally=tally))
    assert next(blocks).tags == ("B-Price", "O")
    assert (tally.blocks, tally.sentences) == (1, 1)
    assert next(blocks).tokens == ("late",)
    with pytest.raises(InputFormatError) as info:
        next(blocks)  # the repeated block is a duplicate; then the bad line
    assert str(info.value) == (f"{path}:10: found 2 space-separated field(s) 'broken line'; expected 'token -X- _ "
                               "TAG' (pass a CONLL2003 export from Label Studio, or --format json)")
    assert (tally.blocks, tally.sentences, [p.kind for p in tally.problems]) == (3, 2, ["duplicate_text"])


def test_an_item_longer_than_the_chunk_is_read_whole(tmp_path, config, monkeypatch):
    text = " ".join(f"word{i}" for i in range(3000))
    path = write_json(tmp_path / "long.json", [task(1, text, annotation(1, region(0, 5, "word0", "Dish"))),
                                               task(2, "cheap pizza")])
    monkeypatch.setattr(stream, "CHUNK", 16)
    sentences, report = read_export(path, config)
    assert (len(sentences[0].tokens), sentences[0].tags[:2], report.tasks_read) == (3000, ("B-Dish", "O"), 2)
