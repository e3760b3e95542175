"""Words as Label Studio's CONLL2003 export splits them, with character offsets.

Label Studio builds its CONLL2003 export with NLTK's Treebank tokenizer after replacing the tokenizer's
punctuation table (``label_studio_sdk.converter.utils``). We use the same table on a subclass instead of patching
NLTK for the whole process, so the JSON route, the CONLL2003 route and the backend all see the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from nltk.tokenize.treebank import TreebankWordTokenizer


class StudioTokenizer(TreebankWordTokenizer):
    """Treebank with Label Studio's punctuation table (copied from label-studio-sdk 2.1.2)."""

    PUNCTUATION = [  # noqa: RUF012 - overrides the class attribute NLTK reads
        (re.compile(r"([:,])([^\d])"), r" \1 \2"),
        (re.compile(r"([:,])$"), r" \1 "),
        (re.compile(r"\.\.\."), r" ... "),
        (re.compile(r"[;@#$/%&]"), r" \g<0> "),
        (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),  # the final period
        (re.compile(r"[?!]"), r" \g<0> "),
        (re.compile(r"([^'])' "), r"\1 ' "),
    ]


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # character offset into the original text
    end: int  # exclusive


@lru_cache(maxsize=1)
def _tokenizer() -> StudioTokenizer:
    return StudioTokenizer()


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into words exactly as Label Studio's CONLL2003 export does, keeping character offsets."""
    return [Token(text[start:end], start, end) for start, end in _tokenizer().span_tokenize(text)]
