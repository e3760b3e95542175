"""Each active-learning strategy's utility and task score, exactly, on hand-made probabilities; and Monte Carlo
dropout samples from a real (tiny) model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from inference.mc_dropout import dropout_samples
from inference.uncertainty import ORDER, STRATEGIES, rank, strategy_names, task_score, utility

# two words, three labels: a sure word and an unsure one
PROBS = np.array([[0.9, 0.05, 0.05], [0.5, 0.3, 0.2]])
ENTROPY = -(0.9 * math.log(0.9) + 2 * 0.05 * math.log(0.05)) - (0.5 * math.log(0.5) + 0.3 * math.log(0.3)
                                                                   + 0.2 * math.log(0.2))


def test_least_confidence_is_one_minus_the_least_sure_words_probability() -> None:
    assert utility("least_confidence", PROBS) == pytest.approx(0.5)
    assert task_score(PROBS, "least_confidence") == 0.5


def test_mnlp_is_the_mean_negative_log_of_the_words_best_probabilities() -> None:
    assert utility("mnlp", PROBS) == pytest.approx(-(math.log(0.9) + math.log(0.5)) / 2)
    assert task_score(PROBS, "mnlp") == round(math.sqrt(0.9 * 0.5), 4)  # the geometric mean confidence


def test_entropy_is_the_total_over_words() -> None:
    assert utility("entropy", PROBS) == pytest.approx(ENTROPY)
    assert task_score(PROBS, "entropy") == round(math.exp(-ENTROPY), 4)


def test_bald_is_the_mutual_information_between_label_and_weights() -> None:
    agreeing = np.array([PROBS, PROBS])  # two draws that agree: no disagreement, no information
    assert utility("bald", agreeing.mean(axis=0), agreeing) == pytest.approx(0.0, abs=1e-9)
    split = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # one word, two draws that disagree completely
    assert utility("bald", split.mean(axis=0), split) == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="dropout samples"):
        utility("bald", PROBS)


def test_per_token_variants_divide_by_the_word_count() -> None:
    for base in ("least_confidence", "mnlp", "entropy"):
        assert utility(f"{base}_per_token", PROBS) == pytest.approx(utility(base, PROBS) / 2)


def test_a_text_without_words_is_worth_nothing_and_scores_zero() -> None:
    empty = np.zeros((0, 3))
    assert all(utility(name, empty) == 0.0 for name in STRATEGIES if name not in ("random", "bald",
                                                                                  "bald_per_token"))
    assert task_score(empty) == 0.0


def test_ranking_puts_the_most_useful_first_and_keeps_ties_in_order() -> None:
    assert rank([0.1, 0.7, 0.3, 0.7]) == [1, 3, 2, 0]


def test_strategy_names_are_checked() -> None:
    assert strategy_names("random, mnlp") == ["random", "mnlp"]
    with pytest.raises(ValueError, match="unknown strategy"):
        strategy_names("random,margin")
    with pytest.raises(ValueError, match="cannot be a task score"):
        task_score(PROBS, "bald")


def test_the_loops_order_is_a_strategy_a_prediction_can_carry() -> None:
    assert 0.0 < task_score(PROBS, ORDER) <= 1.0


def test_dropout_samples_vary_per_draw_and_match_the_model_without_dropout(random_round: Path) -> None:
    from inference.loader import load_classifier

    classifier = load_classifier(random_round / "round-0001" / "model", warm_up=False)
    texts = [["cheap", "thai", "food"], [], ["a", "place", "open", "late", "near", "me"]]
    samples = dropout_samples(classifier, texts, draws=5, seed=3)
    assert [s.shape for s in samples] == [(5, 3, len(classifier.tags)), (5, 0, len(classifier.tags)),
                                          (5, 6, len(classifier.tags))]
    assert np.allclose(samples[0].sum(axis=-1), 1.0, atol=1e-5)
    assert not np.allclose(samples[0][0], samples[0][1])  # each draw drops different units
    plain = [s.probs for s in classifier.score(texts)]
    undropped = dropout_samples(classifier, texts, draws=2, rate=0.0)  # the head on the same hidden states
    assert all(np.allclose(u[0], p, atol=1e-5) and np.allclose(u[1], p, atol=1e-5)
               for u, p in zip(undropped, plain, strict=True))
    again = dropout_samples(classifier, texts, draws=5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(samples, again, strict=True))  # seeded
