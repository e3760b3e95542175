"""The frozen rule that puts each text in train, validation or test by a hash of the text, and the text of
``conversion.json`` that records it.

The rule is a contract: changing any part of it moves sentences between splits, so a text that was in a project's
test split would be trained on. ``tests/converters/test_split_rule.py`` pins it on literal inputs.

- Each sentence's text (its tokens) gets ``u = int.from_bytes(sha256(message)[:8], "big") / 2**64`` in [0, 1), where
  ``message`` is ``salt + "\\n" + "\\n".join(tokens)`` encoded as UTF-8 (no token holds a newline: tokens come
  from whitespace-split text or from the lines of a ``TAG<TAB>token`` file).
- With ratios ``(a, b, c)`` the text goes to train if ``u < a``, to validation if ``u < a + b``, else to test.
- So copies of one text always share a split, and a text's split depends only on its tokens, the salt and the
  ratios, never on the other texts of the export: an export that contains an earlier one (same salt and ratios)
  keeps every earlier text, test sentences included, in its split. The salt is kept per project (the registry);
  ``nerloop convert export`` defaults to ``DEFAULT_SALT`` so that conversions of growing exports agree without any
  state.
- Small exports: every split with a ratio above 0 should hold at least one sentence (a round needs validation and
  test sentences), but the hash may leave one empty. Then the fewest texts are moved to fill it: for each empty
  split in train, validation, test order, the text whose ``u`` lies nearest that split's interval, taken from a
  split that keeps at least one text (ties: the smaller digest). Each move is a ``split_filled`` problem in the
  report, because a moved text is not frozen: once the export grows enough for the hash to fill that split, the
  moved text goes back to its own split. With fewer distinct texts than such splits it is an error.
- With ``test_sentences`` (a fixed test file), those are the test split, the rest goes to train/validation by the
  same hash with the ratios ``(a / (a + b), b / (a + b), 0)``, and any sentence whose text is in the fixed test set
  is left out and reported (``in_test_set``).

``converters.split_writer`` applies the rule as the sentences stream past and writes the split files and
``conversion.json`` (``nerloop convert export``, rounds and the learning curve).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from converters.conversion_report import ConversionReport, Problem
from converters.corpus import Sentence
from core.errors import ConversionError

SPLIT_NAMES = ("train", "validation", "test")
DEFAULT_SALT = "nerloop"
DEFAULT_RATIOS = (0.8, 0.1, 0.1)
SEPARATOR = "\n"  # between the salt and the tokens, and between tokens; never inside a token
_SCALE = 2 ** 64  # u = the digest's first 8 bytes (big-endian) / 2**64


def check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ConversionError(f"ratios {', '.join(map(str, ratios))} are not three non-negative numbers summing to 1",
                              hint="pass e.g. --ratios 0.8,0.1,0.1")
    return (float(ratios[0]), float(ratios[1]), float(ratios[2]))


def text_digest(tokens: Sequence[str], salt: str) -> bytes:
    """The sha256 digest that places a text: of ``salt + "\\n" + "\\n".join(tokens)`` in UTF-8."""
    return hashlib.sha256((salt + SEPARATOR + SEPARATOR.join(tokens)).encode("utf-8")).digest()


def split_index(value: int, ratios: Sequence[float]) -> int:
    """The split of a text whose digest starts with ``value``: the first split with a ratio above 0 whose
    cumulative cut lies above ``value / 2**64`` (compared exactly), else the last split with a ratio above 0."""
    cut, last = 0.0, 0
    for i, ratio in enumerate(ratios):
        if ratio <= 0:
            continue
        cut += ratio
        last = i
        if value < cut * _SCALE:  # float * 2**64 is exact, and int < float compares exactly
            return i
    return last


def assign_split(tokens: Sequence[str], salt: str = DEFAULT_SALT,
                 ratios: Sequence[float] = DEFAULT_RATIOS) -> str:
    """``"train"``, ``"validation"`` or ``"test"`` for a text, by the hash rule of the module docstring (before
    any move that fills an empty split of a small export)."""
    value = int.from_bytes(text_digest(tokens, salt)[:8], "big")
    return SPLIT_NAMES[split_index(value, check_ratios(ratios))]


def interval(ratios: Sequence[float], i: int) -> tuple[float, float]:
    """Split ``i``'s interval ``[sum(ratios[:i]), sum(ratios[:i + 1]))`` of ``u``."""
    low = sum(ratios[:i])
    return low, low + ratios[i]


def distance(point: float, bounds: tuple[float, float]) -> float:
    """How far ``point`` lies from an interval (0 inside it): the key of the fill rule, before the digest."""
    low, high = bounds
    return low - point if point < low else point - high


def hash_ratios(ratios: tuple[float, float, float], fixed_test: bool) -> tuple[float, float, float]:
    """The ratios the hash uses: ``ratios``, or with a fixed test file ``(a / (a + b), b / (a + b), 0)``."""
    if not fixed_test:
        return ratios
    train_r, val_r, _ = ratios
    kept = train_r + val_r
    if kept <= 0:
        raise ConversionError("with a fixed test file the train and validation ratios must not both be 0",
                              hint="pass e.g. --ratios 0.9,0.1,0")
    return (train_r / kept, val_r / kept, 0.0)


def too_few_texts(texts: int, wanted: int) -> ConversionError:
    return ConversionError(f"{texts} distinct text(s) cannot fill {wanted} splits",
                           hint="annotate more tasks, or use ratios with zeros (--ratios 1,0,0, or "
                                "NERLOOP_SPLIT_RATIOS='[1,0,0]' for rounds)")


def filled_problem(tokens: Sequence[str], source: str, donor: int, filled: int, texts: int) -> Problem:
    """The ``split_filled`` problem of a text moved from split ``donor`` to split ``filled``."""
    return Problem("split_filled", f"{' '.join(tokens)[:60]!r} moved from {SPLIT_NAMES[donor]} to "
                                   f"{SPLIT_NAMES[filled]}: the hash left {SPLIT_NAMES[filled]} empty ({texts} "
                                   "distinct texts)", field=source or None)


def in_test_problem(sentence: Sentence) -> Problem:
    return Problem("in_test_set", f"{sentence.text[:60]!r} is in the fixed test set", field=sentence.source or None)


def report_json(report: ConversionReport, salt: str, ratios: Sequence[float]) -> str:
    """The text of ``conversion.json``: the report, with the salt and ratios under ``split``."""
    data = report.to_dict()
    # The rule's name in every conversion.json since the first one (the module was converters/split.py then):
    # kept as it is, so the files stay byte for byte what earlier conversions wrote.
    data["split"] = {"rule": "sha256 of the salt and the tokens (converters/split.py)", "salt": salt,
                     "ratios": list(ratios)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
