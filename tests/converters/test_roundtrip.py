"""BIO corpus -> Label Studio tasks -> JSON export reader gives back the same sentences."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from converters.corpus import Sentence, read_tsv
from converters.export import read_export
from converters.report import Problem
from converters.tasks import tasks_from_sentences
from labeling_config import restaurant_config
from tests.converters.converter_helpers import MIT, write_json


def _as_export(tasks: list[dict]) -> list[dict]:
    return [{"id": i, **t, "annotations": [{"id": i, **a} for a in t["annotations"]]} for i, t in enumerate(tasks, 1)]


def test_mit_train_round_trip(tmp_path, config):
    corpus = read_tsv(MIT / "train.bio", tags=config.tags)
    assert len(corpus) == 7660
    problems: list[Problem] = []
    tasks = tasks_from_sentences(corpus, config, problems=problems)
    assert len(tasks) == 7660
    sentences, report = read_export(write_json(tmp_path / "export.json", _as_export(tasks)), config)

    changed = {p.field for p in problems}
    assert [p.kind for p in problems] == ["retokenized"] * 6
    assert problems[0] == Problem("retokenized", "token 1 ('gotta', 'have') becomes ('got', 'ta', 'have') in "
                                  "Label Studio", field=f"{MIT / 'train.bio'}:28087")
    # one text occurs twice in MIT train: the reader keeps its first copy and reports task 7093
    assert [(p.kind, p.task) for p in report.problems] == [("duplicate_text", 7093)]
    assert len(sentences) == 7659
    exact = 0
    for sentence in sentences:
        original = corpus[int(sentence.source.removeprefix("task ")) - 1]
        if original.source in changed:  # other tokens, same entities over the same characters
            assert [(e.label, " ".join(sentence.tokens[e.start:e.end])) for e in sentence.entities] == [
                (e.label, " ".join(original.tokens[e.start:e.end])) for e in original.entities]
        else:
            assert (sentence.tokens, sentence.tags) == (original.tokens, original.tags)
            exact += 1
    assert exact == 7659 - 6


def test_predictions_carry_model_version_and_score(config):
    sentence = Sentence(("cheap", "thai", "food"), ("B-Price", "B-Cuisine", "O"))
    tasks = tasks_from_sentences([sentence], config, as_="predictions", model_version="round-0001")
    assert tasks == [{"data": {"text": "cheap thai food"}, "predictions": [{
        "model_version": "round-0001", "score": 1.0, "result": [
            {"from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": 0, "end": 5, "text": "cheap", "labels": ["Price"]}},
            {"from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": 6, "end": 10, "text": "thai", "labels": ["Cuisine"]}}]}]}]


LABELS = sorted(restaurant_config().labels)
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@st.composite
def sentences(draw: st.DrawFn) -> Sentence:
    tokens = draw(st.lists(WORDS, min_size=1, max_size=12))
    tags: list[str] = []
    for _ in tokens:
        choice = draw(st.sampled_from(["O", "B", "I"]))
        label = draw(st.sampled_from(LABELS))
        if choice == "I" and tags and tags[-1] != "O":
            tags.append("I-" + tags[-1][2:])
        elif choice in ("B", "I"):
            tags.append(f"B-{label}")
        else:
            tags.append("O")
    return Sentence(tuple(tokens), tuple(tags))


@settings(max_examples=60, deadline=None)
@given(st.lists(sentences(), min_size=1, max_size=5, unique_by=lambda s: s.tokens))
def test_any_safe_sentence_round_trips(tmp_path_factory, corpus):
    config = restaurant_config()
    problems: list[Problem] = []
    tasks = tasks_from_sentences(corpus, config, problems=problems)
    path = write_json(tmp_path_factory.mktemp("rt") / "export.json", _as_export(tasks))
    sentences_back, report = read_export(path, config)
    assert problems == []
    assert report.problems == ()
    assert [(s.tokens, s.tags) for s in sentences_back] == [(s.tokens, s.tags) for s in corpus]
