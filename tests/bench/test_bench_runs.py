"""The serving-layout and quantization benchmarks run end to end on a tiny random round (their figures are
meaningless here; that they produce every row is what is checked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import passes, quantization
from converters.corpus import read_tsv
from labeling_config import restaurant_config
from nerloop.demo import MIT_DIR


@pytest.fixture(scope="module")
def tiny_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from training.tiny import build_tiny_base_model

    config = restaurant_config()
    work = tmp_path_factory.mktemp("bench-round")
    words = [w for s in read_tsv(MIT_DIR / "train.bio", tags=config.tags)[:300] for w in s.tokens]
    base = build_tiny_base_model(work / "base", words)
    torch.manual_seed(1)
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=len(config.tags),
                                                            id2label=config.id2tag, label2id=config.tag2id)
    model.save_pretrained(work / "round" / "model")
    AutoTokenizer.from_pretrained(base).save_pretrained(work / "round" / "model")
    return work / "round"


def test_passes_times_every_layout_of_every_runtime(tiny_round: Path) -> None:
    args = passes.parse_args(["--round", str(tiny_round), "--runtimes", "torch-fp32,onnx-int8",
                              "--layouts", "1x1x16,1x2x16", "--repeat", "1"])
    report = passes.run(args)
    assert {runtime: sorted(layouts) for runtime, layouts in report["runtimes"].items()} == {
        "torch-fp32": ["1x1x16", "1x2x16"], "onnx-int8": ["1x1x16", "1x2x16"]}
    assert all(row["median"] > 0 for layouts in report["runtimes"].values() for row in layouts.values())


def test_quantization_scores_and_times_each_variant(tiny_round: Path) -> None:
    args = quantization.parse_args(["--round", str(tiny_round), "--variants",
                                    "dynamic-int8,weight-only-int8,static-int8-minmax", "--calibration", "32",
                                    "--repeat", "1", "--f1-pass-sizes", "4,32"])
    report = quantization.run(args)
    assert sorted(report["variants"]) == ["dynamic-int8", "static-int8-minmax", "weight-only-int8"]
    for row in report["variants"].values():
        assert 0 <= row["f1_micro"] <= 1 and row["sentences_per_s_median"] > 0 and row["megabytes"] > 0
        assert sorted(row["f1_by_pass_size"]) == [4, 16, 32] and row["f1_micro"] == row["f1_by_pass_size"][16]
