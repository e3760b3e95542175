"""The default size of the model window: sub-tokens per window (special tokens included) and the overlap between
the windows of a long text.

Written here once, in the bottom layer, because layers on both sides of ``inference`` need them: the training
settings (``store.settings.TrainSettings``) default to them, and a model folder without a recorded window
(``inference.windows.read_window_size``; rounds from before windows were recorded) is read with them.
"""

from __future__ import annotations

DEFAULT_MAX_LENGTH = 128
DEFAULT_STRIDE = 32
