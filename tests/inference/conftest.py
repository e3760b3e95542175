"""A tiny random token classifier (untrained head: varied, position-dependent tags) saved as a round."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.windows import WindowSize, write_window_size
from labeling_config.config import parse_config, render_config
from nerloop.demo import MIT_DIR

CONFIG_XML = render_config(["Amenity", "Cuisine", "Dish", "Hours", "Location", "Price", "Rating", "Restaurant_Name"],
                           from_name="ents", to_name="review", data_key="review")
CONFIG = parse_config(CONFIG_XML)
WINDOW = WindowSize(max_length=16, stride=4)  # 14 sub-tokens of room: a 30-word text takes several windows


def mit_sentences(count: int):
    from converters.corpus import read_tsv

    return read_tsv(MIT_DIR / "test.bio")[:count]


@pytest.fixture(scope="session")
def random_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``models/project-1/round-0001`` (current): an untrained tiny BERT tagger whose window is ``WINDOW``;
    returns project 1's registry folder."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from store.registry import set_current
    from training.tiny import build_tiny_base_model

    models = tmp_path_factory.mktemp("inference") / "models"
    base = build_tiny_base_model(models.parent / "base", [w for s in mit_sentences(200) for w in s.tokens])
    torch.manual_seed(1)
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=len(CONFIG.tags),
                                                            id2label=CONFIG.id2tag, label2id=CONFIG.tag2id)
    with torch.no_grad():
        model.classifier.weight.normal_(0, 1.0)  # a loud random head: many words get an entity tag
    model_dir = models / "project-1" / "round-0001" / "model"
    model.save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(base).save_pretrained(model_dir)
    write_window_size(model_dir, WINDOW)
    set_current(models / "project-1", "round-0001")
    return models / "project-1"
