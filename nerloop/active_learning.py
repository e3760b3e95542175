"""A simulated annotator: active learning on a labelled corpus, the gold labels standing in for the person.

A seeded random seed set is labelled first; then each round trains as a real round does (the round's
``TrainSettings``, a seeded 10 % of the labelled sentences carved off for validation, the best checkpoint by
validation F1), scores the whole test split, and "annotates" the next batch: the unlabelled sentences the strategy
(``inference.uncertainty``) ranks most useful, taken from a seeded random sample of ``candidates`` unlabelled
sentences (scoring the whole pool each round costs more than it changes the pick). ``random`` takes the next
sentences of the seeded shuffle, so every strategy starts from the same seed set.

``warm_start`` trains each round from the previous round's weights instead of the base model: what
``init_from=current`` does in the loop. ``bench/active.py`` runs this over strategies and seeds.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from converters.corpus import Sentence
from inference.mc_dropout import dropout_samples
from inference.uncertainty import needs_samples, rank, utility
from labeling_config import LabelConfig
from store.settings import TrainSettings
from training.evaluate import load_model, model_labels, predict_tags
from training.fine_tune import fine_tune
from training.metrics import score_predictions
from training.split_files import carve_validation


@dataclass(frozen=True)
class ActiveRound:
    """One simulated round: the labelled set it trained on and the model's test scores."""

    strategy: str
    seed: int
    round: int
    sentences: int  # labelled sentences (training + validation)
    words: int  # their words: what the annotator read and tagged
    f1: float
    precision: float
    recall: float
    train_seconds: float
    select_seconds: float  # scoring candidates and picking the next batch (0 for the last round)
    warm_start: bool


def label_sizes(pool: int, *, seed_size: int, batch: int, until: float) -> list[int]:
    """Labelled-set sizes, round by round: ``seed_size``, then ``batch`` more each round, until at least ``until``
    of the pool is labelled (never past the pool)."""
    sizes = [min(seed_size, pool)]
    while sizes[-1] < min(pool, round(until * pool)):
        sizes.append(min(pool, sizes[-1] + batch))
    return sizes


def simulate(pool: Sequence[Sentence], test: Sequence[Sentence], *, config: LabelConfig, settings: TrainSettings,
             base_source: str, strategy: str, seed: int, sizes: Sequence[int], candidates: int | None = 2000,
             draws: int = 10, warm_start: bool = False,
             on_round: Callable[[ActiveRound], None] = lambda _r: None) -> list[ActiveRound]:
    """Run the simulation; one ``ActiveRound`` per size in ``sizes`` (increasing)."""
    rng = random.Random(seed)
    order = list(range(len(pool)))
    rng.shuffle(order)
    labelled = order[: sizes[0]]
    waiting = order[sizes[0]:]  # in shuffle order: random takes from the front
    settings = settings.model_copy(update={"seed": seed})
    rounds: list[ActiveRound] = []
    with tempfile.TemporaryDirectory(prefix="nerloop-active-") as scratch:
        source = base_source
        for number, size in enumerate(sizes):
            chosen = [pool[i] for i in labelled]
            train, validation = carve_validation(chosen, 0.1, seed=seed)
            out_dir = Path(scratch) / f"round-{number}"
            started = time.perf_counter()
            result = fine_tune(train, validation, config=config, settings=settings, output_dir=out_dir,
                               base_source=source)
            train_seconds = time.perf_counter() - started
            classifier = load_model(result.model_dir, "cpu")
            score = score_predictions(test, predict_tags(classifier, test), model_labels(classifier)).micro
            select_seconds = 0.0
            if number + 1 < len(sizes):
                started = time.perf_counter()
                picked = pick(classifier, pool, waiting, sizes[number + 1] - size, strategy=strategy, rng=rng,
                              candidates=candidates, draws=draws, seed=seed + number)
                select_seconds = time.perf_counter() - started
                taken = set(picked)
                labelled += picked
                waiting = [i for i in waiting if i not in taken]
            done = ActiveRound(strategy, seed, number, len(chosen), sum(len(s.tokens) for s in chosen), score.f1,
                               score.precision, score.recall, round(train_seconds, 1), round(select_seconds, 1),
                               warm_start and number > 0)
            rounds.append(done)
            on_round(done)
            if warm_start:
                if source != base_source:
                    shutil.rmtree(Path(source).parent, ignore_errors=True)
                source = str(result.model_dir)
            else:
                shutil.rmtree(out_dir, ignore_errors=True)
    return rounds


def pick(classifier, pool: Sequence[Sentence], waiting: Sequence[int], count: int, *, strategy: str,
         rng: random.Random, candidates: int | None, draws: int = 10, seed: int = 0) -> list[int]:
    """The ``count`` pool indexes to annotate next: for ``random`` the first of ``waiting``; otherwise the most
    useful of a random sample of ``candidates`` of them (all of them when ``candidates`` is None or larger)."""
    if strategy == "random":
        return list(waiting[:count])
    sample = list(waiting) if candidates is None or candidates >= len(waiting) else rng.sample(list(waiting),
                                                                                                candidates)
    texts = [list(pool[i].tokens) for i in sample]
    if needs_samples(strategy):
        utilities = [utility(strategy, draws_.mean(axis=0), draws_)
                     for draws_ in dropout_samples(classifier, texts, draws=draws, seed=seed)]
    else:
        utilities = [utility(strategy, s.probs[s.scored]) for s in classifier.score(texts)]
    return [sample[i] for i in rank(utilities)[:count]]
