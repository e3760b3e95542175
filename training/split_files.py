"""Reading a round's split files: ``Splits``, the one type of train/validation/test sentences in the project, read
from a folder of split files (as ``converters.split_writer`` writes them) or explicit files, a seeded validation
carve-out when there is none, and a content hash that identifies exactly what a round learned from."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from converters.corpus import Sentence, read_tsv
from core.errors import TrainingError
from labeling_config.config import LabelConfig

SPLIT_NAMES = ("train", "validation", "test")
SplitsSource = str | Path | Mapping[str, str | Path | None]


@dataclass(frozen=True)
class Splits:
    train: tuple[Sentence, ...]
    validation: tuple[Sentence, ...]
    test: tuple[Sentence, ...]  # may be empty: then the round is gated on validation
    files: dict[str, str]  # split -> file it came from ("carved from train" for a carved validation)

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def carve_validation(sentences: Sequence[Sentence], fraction: float = 0.1, *,
                     seed: int = 42) -> tuple[list[Sentence], list[Sentence]]:
    """Split off a seeded random ``fraction`` (at least one sentence) as validation: (train, validation).

    Copies of one text (the same tokens) stay on one side of the cut, so validation never scores a text the model
    was trained on; the fraction is then met as closely as whole groups of copies allow."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, sentence in enumerate(sentences):
        groups.setdefault(tuple(sentence.tokens), []).append(index)
    if len(groups) < 2:
        raise TrainingError(f"cannot carve a validation split from {len(sentences)} sentence(s) with "
                            f"{len(groups)} distinct text(s)",
                            hint="label at least two different sentences, or pass --validation")
    order = list(groups.values())
    random.Random(seed).shuffle(order)
    cut = max(1, round(len(sentences) * fraction))
    held: set[int] = set()
    for group in order[:-1]:  # the last group always stays in train
        if len(held) >= cut:
            break
        held.update(group)
    return ([s for i, s in enumerate(sentences) if i not in held], [sentences[i] for i in sorted(held)])


def _paths(source: SplitsSource) -> dict[str, Path]:
    if isinstance(source, Mapping):
        unknown = set(source) - set(SPLIT_NAMES)
        if unknown:
            raise TrainingError(f"unknown split name(s) {sorted(unknown)}; expected {', '.join(SPLIT_NAMES)}")
        return {name: Path(path) for name, path in source.items() if path is not None}
    folder = Path(source)
    if not folder.is_dir():
        raise TrainingError("is not a folder of splits", where=str(folder),
                            hint="pass a folder with train.tsv (validation.tsv, test.tsv optional) or the files")
    return {name: folder / f"{name}.tsv" for name in SPLIT_NAMES if (folder / f"{name}.tsv").is_file()}


def load_splits(source: SplitsSource, config: LabelConfig, *, seed: int = 42) -> Splits:
    """Read the splits (tags checked against the config); no validation file → 10% of train, seeded."""
    paths = _paths(source)
    if "train" not in paths:
        raise TrainingError("no training split", where=str(source), hint="pass --train FILE or a folder with train.tsv")
    data = {name: read_tsv(path, tags=config.tags) for name, path in paths.items()}
    files = {name: str(path) for name, path in paths.items()}
    train, validation = data["train"], data.get("validation")
    if not validation:
        train, validation = carve_validation(train, seed=seed)
        files["validation"] = f"10% of {paths['train']} (seed {seed})"
    return Splits(tuple(train), tuple(validation), tuple(data.get("test", ())), files)


def hash_sentences(*groups: Sequence[Sentence]) -> str:
    """sha256 over tokens and tags of each group in order (sources ignored): equal data, equal hash."""
    digest = hashlib.sha256()
    for group in groups:
        for sentence in group:
            for token, tag in zip(sentence.tokens, sentence.tags, strict=True):
                digest.update(f"{tag}\t{token}\n".encode())
            digest.update(b"\n")
        digest.update(b"\x00")
    return digest.hexdigest()
