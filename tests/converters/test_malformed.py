"""Malformed input: an InputFormatError naming the file and line (or task and field) and what to do."""

from __future__ import annotations

import pytest

from converters.corpus import read_tsv
from converters.export import read_export
from core.errors import InputFormatError
from labeling_config import restaurant_config
from tests.converters.converter_helpers import annotation, region, task, write_json

CONLL = "-DOCSTART- -X- O\ncheap -X- _ B-Price\nfood -X- _ O\n"


def error(path, config, **kwargs) -> str:
    with pytest.raises(InputFormatError) as info:
        read_export(path, config, **kwargs)
    return str(info.value)


def test_bad_json(tmp_path, config):
    path = tmp_path / "e.json"
    path.write_text('[{"id": 1,\n "data": }]', encoding="utf-8")
    assert error(path, config) == (f"{path}:2: not valid JSON (Expecting value, column 10) "
                                   "(export the project again; do not edit the file by hand)")


def test_json_that_is_not_a_list(tmp_path, config):
    path = write_json(tmp_path / "e.json", {"id": 1})
    assert error(path, config, fmt="json") == (f"{path}: the JSON top level is dict; expected a list of tasks "
                                               "(export JSON or JSON_MIN from Label Studio)")


def test_json_without_tasks(tmp_path, config):
    path = write_json(tmp_path / "e.json", [])
    assert error(path, config) == (f"{path}: the export holds no tasks "
                                   "(import and annotate tasks in Label Studio, then export again)")


def test_empty_file(tmp_path, config):
    path = tmp_path / "e.json"
    path.write_text("\n  \n", encoding="utf-8")
    assert error(path, config) == f"{path}: the file is empty (pass a file with at least one sentence)"


def test_empty_conll_file(tmp_path, config):
    path = tmp_path / "e.conll"
    path.write_text("", encoding="utf-8")
    assert error(path, config, fmt="conll") == f"{path}: the file is empty (pass a file with at least one sentence)"


def test_conll_wrong_column_count(tmp_path, config):
    path = tmp_path / "e.conll"
    path.write_text("-DOCSTART- -X- O\ncheap -X- _ B-Price\nfood O\n", encoding="utf-8")
    assert error(path, config) == (f"{path}:3: found 2 space-separated field(s) 'food O'; expected 'token -X- _ TAG' "
                                   "(pass a CONLL2003 export from Label Studio, or --format json)")


def test_conll_inside_without_begin_in_strict_mode(tmp_path, config):
    path = tmp_path / "e.conll"
    path.write_text("-DOCSTART- -X- O\ncheap -X- _ O\nfood -X- _ I-Dish\n", encoding="utf-8")
    assert error(path, config, strict=True) == (
        f"{path}:3: 'I-Dish' follows 'O'; strict IOB2 needs B-Dish first "
        "(fix the tag, or read without --strict to start an entity at a stray I-)")


def test_conll_crlf(tmp_path, config):
    path = tmp_path / "e.conll"
    path.write_bytes(CONLL.replace("\n", "\r\n").encode())
    assert error(path, config) == (f"{path}:1: the file has CRLF (Windows) line endings "
                                   "(convert it with dos2unix, or pass --tolerant)")
    sentences, _ = read_export(path, config, tolerant=True)
    assert [s.tags for s in sentences] == [("B-Price", "O")]


@pytest.mark.parametrize("name", ["e.conll", "e.json"])
def test_bom(tmp_path, config, name):
    path = tmp_path / name
    body = CONLL if name.endswith("conll") else '[{"id": 1, "data": {"text": "cheap food"}, "annotations": []}]'
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    assert error(path, config) == (f"{path}:1: the file starts with a UTF-8 byte-order mark "
                                   "(save it as UTF-8 without BOM, or pass --tolerant)")
    assert read_export(path, config, tolerant=True)[1].tasks_read == 1


def test_not_utf8(tmp_path, config):
    path = tmp_path / "e.json"
    path.write_bytes(b'[\n{"id": 1, "data": {"text": "caf\xe9"}}]')
    assert error(path, config) == (f"{path}:2: byte 0xe9 is not UTF-8 "
                                   "(re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8))")


def test_task_without_the_data_key(tmp_path, config):
    path = write_json(tmp_path / "e.json", [{"id": 5, "data": {"sentence": "cheap food"}, "annotations": []}])
    assert error(path, config) == (f"{path}, task 5, field 'data.text': no 'text' key (found: sentence) "
                                   "(pass the --config of the project that made this export)")


def test_task_with_non_string_text(tmp_path, config):
    path = write_json(tmp_path / "e.json", [{"id": 5, "data": {"text": 12}, "annotations": []}])
    assert error(path, config) == (f"{path}, task 5, field 'data.text': the text is int, not a string "
                                   "(import tasks whose text is a string)")


def test_json_min_row_with_non_string_text(tmp_path, config):
    path = write_json(tmp_path / "e.json", [{"id": 5, "text": None, "annotation_id": None}])
    assert error(path, config) == (f"{path}, task 5, field 'text': the text is NoneType, not a string "
                                   "(import tasks whose text is a string)")


def test_annotations_of_the_wrong_type(tmp_path, config):
    path = write_json(tmp_path / "e.json", [task(3, "cheap food", annotation(1, region(0, 5, "cheap", "Price"))),
                                            {"id": 4, "data": {"text": "x"}, "annotations": {"id": 1}}])
    assert error(path, config) == (f"{path}, task 4, field 'annotations': Input should be a valid list "
                                   "(export the project again from Label Studio)")


def test_unknown_format_and_policy(tmp_path, config):
    path = write_json(tmp_path / "e.json", [task(1, "x")])
    assert error(path, config, fmt="csv") == (
        f"{path}: unknown format 'csv'; expected one of auto, conll, json, json-min "
        "(pass --format auto to detect it from the content)")
    assert error(path, config, policy="best") == (
        f"{path}: unknown policy 'best'; expected one of newest, last_edited, oldest, ground_truth "
        "(pass --policy newest unless you need another rule)")


def test_unrecognised_content(tmp_path, config):
    path = tmp_path / "e.txt"
    path.write_text("hello world\n", encoding="utf-8")
    assert error(path, config) == (f"{path}: cannot tell the export format: not a JSON list and not "
                                   "'token -X- _ TAG' lines (export JSON, JSON_MIN or CONLL2003 from Label Studio, "
                                   "or pass --format)")


def test_conll_tag_that_is_not_iob2(tmp_path, config):
    path = tmp_path / "e.conll"
    path.write_text("-DOCSTART- -X- O\ncheap -X- _ Price\n", encoding="utf-8")
    assert error(path, config) == f"{path}:2: tag 'Price' is not O, B-<label> or I-<label> (use IOB2 tags)"


def test_json_min_regions_that_are_not_a_list(tmp_path, config):
    path = write_json(tmp_path / "e.json", [{"id": 2, "text": "cheap food", "annotation_id": 1, "label": "Price"}])
    assert error(path, config) == (f"{path}, task 2, field 'label': expected a list of regions, found str "
                                   "(export JSON_MIN again, or use the JSON export)")


def tsv_error(tmp_path, content: bytes, **kwargs) -> str:
    path = tmp_path / "corpus.bio"
    path.write_bytes(content)
    with pytest.raises(InputFormatError) as info:
        read_tsv(path, **kwargs)
    return str(info.value).replace(str(path), "corpus.bio")


@pytest.mark.parametrize(("content", "kwargs", "message"), [
    (b"", {}, "corpus.bio: the file is empty (pass a file with at least one sentence)"),
    (b"B-Dish\tpizza\nO\n", {}, "corpus.bio:2: found 1 tab-separated field(s) 'O'; expected TAG<TAB>token "
                                "(one token per line, tag first, separated by one tab)"),
    (b"B-Dish\tpizza\tx\n", {}, "corpus.bio:1: found 3 tab-separated field(s) 'B-Dish\\tpizza\\tx'; expected "
                                "TAG<TAB>token (one token per line, tag first, separated by one tab)"),
    (b"O\tnew york\n", {}, "corpus.bio:1: the token 'new york' contains a space; expected one token per line "
                           "(put each word on its own line with its own tag)"),
    (b"O\tcheap\nB-Vibe\tplace\n", {"tags": restaurant_config().tags},
     "corpus.bio:2: tag 'B-Vibe' is not in the label config (known: B-Amenity, B-Cuisine, B-Dish, B-Hours, "
     "B-Location, B-Price, B-Rating, B-Restaurant_Name, I-Amenity, I-Cuisine, I-Dish, I-Hours, I-Location, I-Price, "
     "I-Rating, I-Restaurant_Name, O) (add the label to the config or fix the tag)"),
    (b"X-Dish\tpizza\n", {}, "corpus.bio:1: tag 'X-Dish' is not O, B-<label> or I-<label> (use IOB2 tags)"),
    (b"O\tcheap\nI-Dish\tpizza\n", {"strict": True},
     "corpus.bio:2: 'I-Dish' follows 'O'; strict IOB2 needs B-Dish first (fix the tag, or read without --strict to "
     "start an entity at a stray I-)"),
    (b"O\tcheap\r\nB-Dish\tpizza\r\n", {}, "corpus.bio:1: the file has CRLF (Windows) line endings (convert it with "
                                           "dos2unix, or pass --tolerant)"),
    (b"\xef\xbb\xbfO\tcheap\n", {}, "corpus.bio:1: the file starts with a UTF-8 byte-order mark (save it as UTF-8 "
                                    "without BOM, or pass --tolerant)"),
    (b"O\tcheap\n\nB-Dish\tcr\xe8me\n", {}, "corpus.bio:3: byte 0xe8 is not UTF-8 (re-encode the file as UTF-8 "
                                           "(e.g. iconv -f latin1 -t utf-8))"),
])
def test_malformed_tsv(tmp_path, content, kwargs, message):
    assert tsv_error(tmp_path, content, **kwargs) == message


def test_tolerant_tsv_reads_bom_and_crlf(tmp_path):
    path = tmp_path / "corpus.bio"
    path.write_bytes(b"\xef\xbb\xbfO\tcheap\r\nB-Dish\tpizza\r\n\r\nB-Hours\tlate\r\n")
    assert [(s.tokens, s.tags) for s in read_tsv(path, tolerant=True)] == [
        (("cheap", "pizza"), ("O", "B-Dish")), (("late",), ("B-Hours",))]
