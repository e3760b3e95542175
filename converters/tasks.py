"""The other direction: sentences (a BIO/TSV corpus) as Label Studio task JSON, with annotations or predictions.

A task's text is the tokens joined with single spaces; each entity becomes a region (``converters.regions``) over
the characters of its tokens.

Label Studio re-tokenizes that text with its own tokenizer (``converters.tokens.tokenize``). When that would give
other tokens than the sentence has (NLTK splits ``gotta`` into ``got ta``, ``joe's`` into ``joe 's``, ``24/7`` into
``24 / 7``), the task is still written (its regions cover exactly the same characters, so no label is lost) and the
difference is reported as a ``retokenized`` problem: appended to ``problems`` when given, else logged as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from converters.conversion_report import Problem
from converters.corpus import Sentence
from converters.regions import word_regions
from converters.tokens import Token, tokenize
from core.errors import ConversionError
from labeling_config import LabelConfig

log = logging.getLogger(__name__)
KINDS = ("annotations", "predictions")


def retokenization_problem(sentence: Sentence) -> Problem | None:
    """A ``retokenized`` problem when Label Studio would split ``sentence.text`` into other tokens, else None."""
    studio = tuple(tok.text for tok in tokenize(sentence.text))
    if studio == sentence.tokens:
        return None
    first = next((i for i, (a, b) in enumerate(zip(sentence.tokens, studio, strict=False)) if a != b),
                 min(len(studio), len(sentence.tokens)))
    return Problem("retokenized", f"token {first} {sentence.tokens[first:first + 2]!r} becomes "
                   f"{studio[first:first + 3]!r} in Label Studio", field=sentence.source or None)


def regions(sentence: Sentence, config: LabelConfig) -> list[dict[str, Any]]:
    """The sentence's entities as Label Studio result regions over ``sentence.text``."""
    words, offset = [], 0
    for token in sentence.tokens:
        words.append(Token(token, offset, offset + len(token)))
        offset += len(token) + 1
    for ent in sentence.entities:
        if ent.label not in config.labels:
            raise ConversionError(f"label {ent.label!r} is not in the config (known: {', '.join(config.labels)})",
                                  where=sentence.source or None, hint="pass the --config that has this label")
    return word_regions(sentence.text, words, sentence.entities, config)


def tasks_from_sentences(sentences: Iterable[Sentence], config: LabelConfig, *, as_: str = "annotations",
                         model_version: str | None = None, score: float | None = None,
                         problems: list[Problem] | None = None,
                         progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Label Studio tasks ``{"data": {key: text}, "annotations"|"predictions": [{"result": [...]}]}``."""
    if as_ not in KINDS:
        raise ConversionError(f"unknown task kind {as_!r}; expected one of {', '.join(KINDS)}")
    tasks = []
    for done, sentence in enumerate(sentences, start=1):
        problem = retokenization_problem(sentence)
        if problem is not None:
            if problems is None:
                log.warning("%s", problem.render())
            else:
                problems.append(problem)
        entry: dict[str, Any] = {"result": regions(sentence, config)}
        if as_ == "predictions":
            entry = {"model_version": model_version or "imported", "score": 1.0 if score is None else score, **entry}
        tasks.append({"data": {config.data_key: sentence.text}, as_: [entry]})
        if progress:
            progress(done)
    return tasks
