"""A tiny randomly initialised BERT base model, built locally (no model hub): for tests, CI and dry runs.

The vocabulary is the lower-cased words of the given sentences plus WordPiece's special tokens, so every corpus
word is one sub-token and a few hundred optimizer steps are enough to learn real tag patterns.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_tiny_base_model(path: str | Path, words: Iterable[str], *, hidden: int = 64, layers: int = 2,
                          heads: int = 2, seed: int = 0) -> Path:
    """Save an untrained BERT (``hidden`` wide, ``layers`` deep) and its WordPiece tokenizer to ``path``.

    Usable anywhere a base model id is accepted (``--base-model PATH``).
    """
    import inspect

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = list(SPECIAL_TOKENS)
    seen = set(vocab)
    for word in words:
        for piece in (word.lower(), *word.lower()):  # whole words, and single characters as a fallback
            if piece not in seen:
                seen.add(piece)
                vocab.append(piece)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as ``vocab`` (and silently ignores ``vocab_file``: every word [UNK]).
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:
        source = {"vocab": {token: i for i, token in enumerate(vocab)}}
    else:
        source = {"vocab_file": str(path / "vocab.txt")}
    tokenizer = BertTokenizerFast(**source, do_lower_case=True, model_max_length=128)
    tokenizer.save_pretrained(path)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=hidden * 2, max_position_embeddings=128)
    BertModel(config).save_pretrained(path)  # safetensors
    return path
