"""Round folders whose model output we control: a 0-layer BERT whose tag for each word is set by hand.

The embedding of a word that should get tag k is +1 on dimension k and -1 on dimension k + n_tags; after the
embedding LayerNorm only those two dimensions are non-zero, and the classifier reads dimension k into tag k. Words
listed under two tags score 0.5/0.5 (a known uncertain word); unknown words ([UNK]) fall back to ``O``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LABELS = ("Cuisine", "Dish", "Location")


def tags_for(labels=LABELS) -> tuple[str, ...]:
    return ("O", *(f"{p}-{label}" for label in sorted(labels) for p in ("B", "I")))


def make_round(models_dir: str | Path, name: str, word_tags: dict[str, str | tuple[str, str]], *,
               labels=LABELS, promote: bool = True) -> Path:
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from store.registry import set_current
    from training.tiny import build_tiny_base_model

    models_dir = Path(models_dir)
    tags = tags_for(labels)
    n = len(tags)
    model_dir = models_dir / name / "model"
    build_tiny_base_model(model_dir, [*word_tags, "filler"])
    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    config = BertConfig(vocab_size=len(vocab), hidden_size=2 * n, num_hidden_layers=0, num_attention_heads=1,
                        intermediate_size=4, max_position_embeddings=512, id2label=dict(enumerate(tags)),
                        label2id={t: i for i, t in enumerate(tags)})
    model = BertForTokenClassification(config).eval()
    with torch.no_grad():
        emb = model.bert.embeddings
        emb.word_embeddings.weight.zero_()
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        emb.LayerNorm.weight.fill_(1.0)
        emb.LayerNorm.bias.zero_()
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[0] = 8.0
        for k in range(n):
            model.classifier.weight[k, k] = 10.0
        index = {token: i for i, token in enumerate(vocab)}
        for word, tag in word_tags.items():
            for t in (tag,) if isinstance(tag, str) else tag:
                k = tags.index(t)
                emb.word_embeddings.weight[index[word.lower()], k] = 1.0
                emb.word_embeddings.weight[index[word.lower()], k + n] = -1.0
    model.save_pretrained(model_dir)
    (models_dir / name / "manifest.json").write_text(json.dumps({"labels": list(labels)}), encoding="utf-8")
    if promote:
        set_current(models_dir, name)
    return models_dir / name


if __name__ == "__main__":  # used as a round command: copy the newest round to the next number and promote it
    import os
    import shutil
    import time

    from store.registry import list_rounds, set_current

    project = sys.argv[sys.argv.index("--project") + 1]
    models = Path(os.environ["NERLOOP_MODELS_DIR"]) / f"project-{project}"
    record = Path(os.environ["TINY_ROUND_RECORD"]) if os.environ.get("TINY_ROUND_RECORD") else None
    if record:
        with record.open("a") as out:
            out.write(json.dumps({"argv": sys.argv[1:], "key": os.environ.get("NERLOOP_STUDIO_API_KEY"),
                                  "url": os.environ.get("NERLOOP_STUDIO_URL")}) + "\n")
    time.sleep(float(os.environ.get("TINY_ROUND_SLEEP", "0")))
    if os.environ.get("TINY_ROUND_FAIL"):
        print("failing on purpose", flush=True)
        sys.exit(3)
    newest = list_rounds(models)[-1]
    name = f"round-{newest.number + 1:04d}"
    shutil.copytree(newest.path, models / f".staging-{name}")
    os.replace(models / f".staging-{name}", models / name)
    set_current(models, name)
    print(f"promoted {name}", flush=True)
