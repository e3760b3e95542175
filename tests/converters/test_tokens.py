"""Label Studio's word split: the shortcut for texts no Treebank rule touches gives exactly Treebank's words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from converters.tokens import Token, tokenize, treebank_tokenize

# Letters (some that fold to ASCII under IGNORECASE), digits, every kind of whitespace str.split() knows, the
# characters Treebank's rules look at, and the contractions it splits without an apostrophe.
PIECES = st.one_of(
    st.sampled_from(list("aZ9é\u0131\u0130\u212a\u017f-_+*=|~\\")),
    st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u2003", "\x1c", "\x85", "\u3000"]),
    st.sampled_from(list("\"'`:,.;@#$/%&?![](){}<>")),
    st.sampled_from(["cannot", "GiMMe", "gonna", "gotta", "lemme", "wanna", "d'ye", "more'n", "'tis", "--", "n't",
                     "word", "24/7", "..."]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=12).map("".join))
def test_every_text_is_split_as_treebank_splits_it(text: str) -> None:
    assert tokenize(text) == treebank_tokenize(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["cheap", "Pizza", "24", "open", "late", " ", "\t", "\u00a0", "na", "can", "not"]),
                max_size=12).map("".join))
def test_plain_texts_are_split_as_treebank_splits_them(text: str) -> None:
    assert tokenize(text) == treebank_tokenize(text)


def test_plain_text_keeps_offsets() -> None:
    assert tokenize("  cheap\tpizza\u00a0near me ") == [Token("cheap", 2, 7), Token("pizza", 8, 13),
                                                      Token("near", 14, 18), Token("me", 19, 21)]


def test_texts_a_rule_touches_go_through_treebank() -> None:
    assert [t.text for t in tokenize("we gotta eat")] == ["we", "got", "ta", "eat"]
    assert [t.text for t in tokenize("I cannot wait")] == ["I", "can", "not", "wait"]
    assert [t.text for t in tokenize("open 24/7, right?")] == ["open", "24", "/", "7", ",", "right", "?"]
    assert [t.text for t in tokenize("don't")] == ["do", "n't"]
