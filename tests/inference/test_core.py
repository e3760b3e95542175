"""One place turns a text into word tags: evaluation (the gate's F1) and /predict give the same tags for the same
text, on texts shorter and longer than the round's window."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import BackendSettings
from converters.corpus import Sentence, decode_entities
from converters.tokens import tokenize
from inference.loader import load_classifier
from inference.windows import WindowSize, write_window_size
from tests.inference.conftest import CONFIG_XML, WINDOW, mit_sentences
from training.evaluate import load_model, predict_tags


def texts_short_and_long() -> list[str]:
    sentences = [" ".join(s.tokens) for s in mit_sentences(60)]
    short = sentences[:20]  # about 10 words: one window each
    long = [" ".join(sentences[i:i + 8]) for i in range(20, 60, 8)]  # about 80 words: 6 or more windows each
    return short + long


def predicted_entities(project_registry: Path, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    with TestClient(create_app(BackendSettings(models_dir=project_registry.parent))) as client:
        tasks = [{"id": i, "data": {"review": t}} for i, t in enumerate(texts)]
        response = client.post("/predict", json={"tasks": tasks, "label_config": CONFIG_XML, "project": "1.1"})
    assert response.status_code == 200, response.text
    return [[(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in result["result"]]
            for result in response.json()["results"]]


def test_evaluation_and_predict_give_the_same_tags(random_round: Path) -> None:
    texts = texts_short_and_long()
    words = [tokenize(text) for text in texts]
    classifier = load_model(random_round / "round-0001" / "model", "cpu")
    assert (classifier.max_length, classifier.stride) == (WINDOW.max_length, WINDOW.stride)
    sentences = [Sentence(tuple(w.text for w in ws), ("O",) * len(ws)) for ws in words]
    tags = predict_tags(classifier, sentences)
    from_evaluation = [[(ws[e.start].start, ws[e.end - 1].end, e.label) for e in decode_entities(t)]
                       for ws, t in zip(words, tags, strict=True)]
    from_predict = predicted_entities(random_round, texts)
    assert from_predict == from_evaluation
    assert sum(map(len, from_predict[:20])) > 10 and sum(map(len, from_predict[20:])) > 10  # a real comparison


def test_long_texts_are_windowed_with_the_rounds_window(random_round: Path, tmp_path: Path) -> None:
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(random_round / "round-0001" / "model", model_dir)
    sentences = mit_sentences(40)
    long = [[w for s in sentences[i:i + 8] for w in s.tokens] for i in range(0, 40, 8)]
    windowed = load_classifier(model_dir).tag(long)
    write_window_size(model_dir, WindowSize(max_length=128, stride=32))
    whole = load_classifier(model_dir).tag(long)
    assert [len(t) for t in windowed] == [len(t) for t in whole] == [len(w) for w in long]  # every word tagged
    assert windowed != whole  # the window changes the context each word is read in, so it must be the round's
    (model_dir / "window.json").unlink()
    assert load_classifier(model_dir).window == WindowSize(128, 32)  # a round from before windows were recorded



def test_parallel_passes_give_the_same_scores_and_never_run_more_at_once(random_round: Path) -> None:
    import threading
    import time

    import numpy as np

    classifier = load_classifier(random_round / "round-0001" / "model", threads=1, batch_size=4)  # many batches
    texts = [tokenize(text) for text in texts_short_and_long()]
    words = [[w.text for w in ws] for ws in texts]
    alone = classifier.score(words)
    runner, running, most = classifier.runner, [0], [0]
    guard = threading.Lock()

    def counting(input_ids, mask):
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.002)  # long enough for a second pass to start if it may
        try:
            return runner(input_ids, mask)
        finally:
            with guard:
                running[0] -= 1

    classifier.runner = counting
    classifier.parallel = 3
    spread = classifier.score(words)
    assert most[0] == 3
    assert all(np.array_equal(a.probs, b.probs) and np.array_equal(a.scored, b.scored)
               for a, b in zip(alone, spread, strict=True))
    classifier.parallel, most[0] = 1, 0
    classifier.score(words)
    assert most[0] == 1


def test_bf16_serving_scores_close_to_fp32_and_is_chosen_by_a_setting(random_round: Path) -> None:
    import numpy as np

    from inference.loader import load_round

    options = BackendSettings(models_dir=random_round.parent, precision="bf16").runtime_options()
    assert options["precision"] == "bf16"
    model_dir = random_round / "round-0001" / "model"
    words = [[w.text for w in tokenize(text)] for text in texts_short_and_long()]
    full = np.concatenate([s.probs for s in load_round(model_dir, "fp32", threads=1).classifier.score(words)])
    half = np.concatenate([s.probs for s in load_round(model_dir, "bf16", **options).classifier.score(words)])
    assert full.shape == half.shape
    assert 0 < np.abs(full - half).max() < 0.05  # bf16 really ran (not bit-identical), and agrees to ~2 digits


def test_served_rounds_run_one_thread_passes_side_by_side_unless_told_otherwise(random_round: Path) -> None:
    import numpy as np

    from inference.loader import load_round

    model_dir = random_round / "round-0001" / "model"
    words = [[w.text for w in tokenize(text)] for text in texts_short_and_long()]
    reference = load_round(model_dir, "one", threads=1).classifier

    def served(**settings: object):
        options = BackendSettings(models_dir=random_round.parent, torch_threads=2, **settings).runtime_options()
        return options["passes"], load_round(model_dir, "r", **options).classifier

    passes, side_by_side = served()
    assert (passes, side_by_side.parallel, side_by_side.runner.threads, side_by_side.batch_size) == (2, 2, 1, 16)
    passes, one = served(parallel_passes=1)
    assert (passes, one.parallel, one.runner.threads) == (1, 1, 2)
    assert served(parallel_passes=8)[0] == 2  # never more passes than threads
    for classifier in (side_by_side, one):
        assert all(np.allclose(a.probs, b.probs, atol=1e-5)
                   for a, b in zip(classifier.score(words), reference.score(words), strict=True))
