from __future__ import annotations

import numpy as np

from inference.windows import merge_windows, owners, plan_windows


def spans(windows):
    return [(w.start, w.end, w.words.tolist(), w.positions.tolist()) for w in windows]


def test_a_short_text_is_one_window():
    assert spans(plan_windows(0, [0, 0, 1, 2], room=10, stride=2)) == [(0, 4, [0, 1, 2], [0, 2, 3])]


def test_windows_cut_at_word_boundaries_and_overlap():
    word_ids = [0, 0, 1, 2, 2, 2, 3, 4, 5, 5, 6]  # 7 words, 11 sub-tokens
    assert spans(plan_windows(0, word_ids, room=5, stride=2)) == [
        (0, 3, [0, 1], [0, 2]),
        (2, 7, [1, 2, 3], [0, 1, 4]),
        (6, 11, [3, 4, 5, 6], [0, 1, 2, 4]),
    ]


def test_a_word_longer_than_the_window_is_cut_not_lost():
    word_ids = [0, 1, 1, 1, 1, 1, 1, 2]
    assert spans(plan_windows(0, word_ids, room=3, stride=1)) == [
        (0, 1, [0], [0]), (1, 4, [1], [0]), (7, 8, [2], [0])]


def test_words_without_sub_tokens_are_not_scored():
    windows = plan_windows(0, [0, 2], room=10, stride=2)
    probs, scored = merge_windows(windows, [np.eye(2, dtype=np.float32)], n_words=3, n_labels=2)
    assert scored.tolist() == [True, False, True]
    assert probs.tolist() == [[1, 0], [0, 0], [0, 1]]


def test_merge_takes_each_word_from_its_most_central_window():
    word_ids = list(range(8))
    windows = plan_windows(0, word_ids, room=5, stride=3)
    probs = [np.full((len(w.words), 1), float(i)) for i, w in enumerate(windows)]
    merged, scored = merge_windows(windows, probs, n_words=8, n_labels=1)
    assert [(w.start, w.end) for w in windows] == [(0, 5), (3, 8)]  # the stride is capped at half a window
    assert merged[:, 0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert scored.all()


def test_every_word_has_one_owner_with_context_on_both_sides_where_the_text_allows():
    word_ids = [w for word in range(60) for w in [word] * (1 + word % 3)]  # 60 words of 1 to 3 sub-tokens
    windows = plan_windows(0, word_ids, room=20, stride=8)
    owned = owners(windows, 60)
    owner_of = {}
    for index, (window, mask) in enumerate(zip(windows, owned, strict=True)):
        for word, position in zip(window.words[mask].tolist(), window.positions[mask].tolist(), strict=True):
            assert word not in owner_of
            owner_of[word] = index
            left, right = window.start + position, len(word_ids) - window.start - position - 1
            # at least 3 sub-tokens of context each side inside the window, unless the text itself ends sooner
            assert position >= min(3, left) and window.length - 1 - position >= min(3, right)
    assert sorted(owner_of) == list(range(60))
    assert len(windows) > 3


def test_merge_and_training_use_the_same_owner():
    windows = plan_windows(0, list(range(8)), room=5, stride=3)
    assert [m.tolist() for m in owners(windows, 8)] == [[True, True, True, True, False],
                                                          [False, True, True, True, True]]
