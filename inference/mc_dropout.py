"""Monte Carlo dropout on the classification layer only: one encoder pass per batch, then ``draws`` dropout masks
on the hidden states the classification head reads, each giving a set of per-word label probabilities.

This is what the ``bald`` strategy (``inference.uncertainty``) needs, at the cost of a few small matrix products
per batch instead of ``draws`` full forward passes (Shelmanov et al., EACL 2021). It runs on a PyTorch
``TokenClassifier`` (``TorchRunner``) and reads each word's first sub-token, as ``TokenClassifier.score`` does; a
text longer than one window is scored on its first window (words past it get no samples). The dropout
probability is the model's own (``config.hidden_dropout_prob`` or ``config.dropout``, else 0.1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference.classifier import TokenClassifier


def dropout_samples(classifier: TokenClassifier, texts: Sequence[Sequence[str]], *, draws: int = 10,
                    seed: int = 0, rate: float | None = None) -> list[np.ndarray]:
    """For each text (a word list), an array (draws, scored words, labels) of label probabilities; ``rate`` is the
    dropout probability (None: the model's own)."""
    import torch

    model = getattr(classifier.runner, "model", None)
    head = getattr(model, "classifier", None)
    if model is None or not isinstance(head, torch.nn.Module):
        raise ValueError("Monte Carlo dropout needs a PyTorch token-classification model with a 'classifier' head")
    if rate is None:
        rate = float(getattr(model.config, "hidden_dropout_prob", None) or getattr(model.config, "dropout", 0.1)
                     or 0.1)
    generator = torch.Generator().manual_seed(seed)
    captured: list[torch.Tensor] = []
    hook = head.register_forward_pre_hook(lambda _module, args: captured.append(args[0]))
    out: list[np.ndarray] = []
    try:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: dict[int, np.ndarray] = {}
        for begin in range(0, len(order), classifier.batch_size):
            chosen = order[begin:begin + classifier.batch_size]
            results.update(zip(chosen, _batch(classifier, model, head, [texts[i] for i in chosen], draws, rate,
                                              generator, captured), strict=True))
        out = [results[i] for i in range(len(texts))]
    finally:
        hook.remove()
    return out


def _batch(classifier: TokenClassifier, model, head, texts: list[Sequence[str]], draws: int, rate: float,
           generator, captured: list) -> list[np.ndarray]:
    import torch

    labels = len(classifier.tags)
    empty = np.zeros((draws, 0, labels), np.float32)
    live = [i for i, words in enumerate(texts) if words]
    found: list[np.ndarray] = [empty] * len(texts)
    if not live:
        return found
    encoding = classifier.tokenizer([list(texts[i]) for i in live], is_split_into_words=True, truncation=True,
                                    max_length=classifier.max_length, padding=True, return_tensors="pt")
    captured.clear()
    device = classifier.runner.device
    with torch.inference_mode():
        model(input_ids=encoding["input_ids"].to(device), attention_mask=encoding["attention_mask"].to(device))
        hidden = captured[-1].float().cpu()  # (batch, length, width): what the head reads, dropout off
        masks = torch.bernoulli(torch.full((draws, *hidden.shape), 1.0 - rate), generator=generator) / (1.0 - rate)
        probs = torch.softmax(head.cpu()(hidden.unsqueeze(0) * masks), dim=-1).numpy()  # (draws, batch, len, labels)
    head.to(device)
    for row, index in enumerate(live):
        positions, seen = [], set()
        for position, word in enumerate(encoding.word_ids(row)):
            if word is not None and word not in seen:
                seen.add(word)
                positions.append(position)
        found[index] = probs[:, row, positions, :]
    return found
