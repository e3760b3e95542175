"""The default size of the model window: sub-tokens per window (special tokens included) and the overlap between
the windows of a long text.

Written here once, in the bottom layer, because layers on both sides of ``inference`` need them. New rounds train
with ``TRAINING_MAX_LENGTH`` (``store.settings.TrainSettings``) and record their window with the model; a model
folder without a recorded window (``inference.windows.read_window_size``; rounds from before windows were recorded,
all trained with 128) is read with ``DEFAULT_MAX_LENGTH``.

64 sub-tokens for new rounds: on documents of unrelated sentences (bench/long_texts.py) a 64 window comes within
1.2 and 1.5 points of a model trained on the sentences themselves, at 2,000 and 3,000 training sentences, where a
128 window is 8.9 and 4.0 points behind; texts of up to 62 sub-tokens (every MIT sentence) fit one window either way.
"""

from __future__ import annotations

DEFAULT_MAX_LENGTH = 128
TRAINING_MAX_LENGTH = 64
DEFAULT_STRIDE = 32
