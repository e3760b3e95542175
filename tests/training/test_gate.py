from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import RegistryError
from labeling_config import LabelConfig
from store import registry
from store.settings import TrainSettings
from training.gate import decide_promotion
from training.round_builder import starting_weights, train_round


def test_decisions_and_reasons() -> None:
    first = decide_promotion(0.61, None, tolerance=0.005)
    assert (first.promoted, first.reason) == (True, "first promoted round (micro F1 0.6100 on test)")
    within = decide_promotion(0.797, 0.800, tolerance=0.005, current_name="round-0001")
    assert within.promoted
    assert within.reason == ("micro F1 0.7970 vs 0.8000 for round-0001 on test (-0.0030): within tolerance 0.005")
    worse = decide_promotion(0.79, 0.80, tolerance=0.005, current_name="round-0001")
    assert (worse.promoted, worse.reason) == (False, "micro F1 0.7900 vs 0.8000 for round-0001 on test (-0.0100): "
                                                     "worse by more than tolerance 0.005; current stays round-0001")
    forced = decide_promotion(0.79, 0.80, tolerance=0.005, force=True, current_name="round-0001")
    assert (forced.promoted, forced.reason) == (True, "forced: micro F1 0.7900 vs 0.8000 for round-0001 on test "
                                                      "(-0.0100), worse by more than tolerance 0.005")
    better = decide_promotion(0.81, 0.80, tolerance=0.005, current_name="round-0001")
    assert better.promoted and better.reason.endswith("(+0.0100): not worse")
    edge = decide_promotion(0.795, 0.800, tolerance=0.005, current_name="round-0001")  # 0.795 - 0.8 < -0.005 in floats
    assert (edge.promoted, edge.reason) == (True, "micro F1 0.7950 vs 0.8000 for round-0001 on test (-0.0050): "
                                                  "within tolerance 0.005")


def _pretend_current_scored(models_dir: Path, micro_f1: float) -> None:
    """Make the current round's stored test score look better than any tiny model can do."""
    report_path = registry.current_round(models_dir).path / "report.json"  # type: ignore[union-attr]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report["evaluation"]["micro"]["f1"] = micro_f1
    report_path.write_text(json.dumps(report), encoding="utf-8")


def test_rounds_promote_reject_and_force(tmp_path: Path, splits_dir: Path, config: LabelConfig,
                                         fast_settings: TrainSettings) -> None:
    models = tmp_path / "models"
    first = train_round(splits_dir, config=config, models_dir=models, settings=fast_settings,
                        extra_manifest={"project": 7})
    assert (first.name, first.promoted, first.previous) == ("round-0001", True, None)
    assert first.reason.startswith("first promoted round (micro F1 ")
    manifest = json.loads((models / "round-0001" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["promoted"] is True and manifest["gate"]["reason"] == first.reason
    assert manifest["data"]["counts"] == {"train": 40, "validation": 10, "test": 10}
    assert manifest["extra"] == {"project": 7} and manifest["seed"] == 42
    assert manifest["device"]["kind"] == "cpu" and len(manifest["base_model"]["weights_sha256"]) == 64
    assert set(manifest["timings"]) == {"prepare_s", "train_s", "evaluate_s", "total_s"}
    assert manifest["tags"] == list(config.tags)
    # the window is stored once, beside the model: the manifest says how the texts fitted it and where it is
    assert set(manifest["training"]["windows"]) == {"texts", "windowed", "windows", "window_file"}
    window = json.loads((models / "round-0001" / manifest["training"]["windows"]["window_file"]).read_text())
    assert window == {"max_length": fast_settings.max_length, "stride": fast_settings.stride}

    _pretend_current_scored(models, 0.99)
    second = train_round(splits_dir, config=config, models_dir=models, settings=fast_settings)
    assert (second.name, second.promoted, second.previous) == ("round-0002", False, "round-0001")
    assert second.reason.endswith("worse by more than tolerance 0.005; current stays round-0001")
    assert registry.current_name(models) == "round-0001"
    assert "**Not promoted**" in (models / "round-0002" / "report.md").read_text(encoding="utf-8")

    cold = fast_settings.model_copy(update={"init_from": "base"})
    third = train_round(splits_dir, config=config, models_dir=models, settings=cold, force=True)
    assert (third.name, third.promoted) == ("round-0003", True)
    assert third.reason.startswith("forced: micro F1 ")
    assert registry.current_name(models) == "round-0003"
    report = json.loads(third.report_paths["json"].read_text(encoding="utf-8"))
    assert (report["previous"]["round"], report["previous"]["micro_f1"]) == ("round-0001", 0.99)
    assert report["delta"]["micro_f1"] == third.metrics["micro_f1"] - 0.99
    assert [p.name for p in models.iterdir() if p.name.startswith(".staging")] == []
    assert list(models.glob(f"round-*/{registry.PROMOTING}")) == []  # every promotion completed
    assert report["training"]["started_from"] == fast_settings.base_model and report["training"]["sentences"] == 50
    assert "on 50 annotated sentences, starting from the base model base." in third.report_paths["md"].read_text()

    warm = train_round(splits_dir, config=config, models_dir=models, settings=fast_settings, force=True)
    report = json.loads(warm.report_paths["json"].read_text(encoding="utf-8"))
    assert report["training"]["started_from"] == "round-0003"  # by default, the served round's weights
    assert ("on 50 annotated sentences, starting from round-0003's weights (warm start)."
            in warm.report_paths["md"].read_text())


def test_a_warm_start_needs_the_served_rounds_labels_and_base_model(
        tmp_path: Path, splits_dir: Path, config: LabelConfig, fast_settings: TrainSettings,
        caplog: pytest.LogCaptureFixture) -> None:
    models = tmp_path / "models"
    train_round(splits_dir, config=config, models_dir=models, settings=fast_settings)
    current = registry.current_round(models)
    assert starting_weights(fast_settings, current, config) == str(current.model_dir)
    other_base = fast_settings.model_copy(update={"base_model": "bert-base-uncased"})
    assert starting_weights(other_base, current, config) == "bert-base-uncased"
    assert ("not starting from round-0001: it was trained from base model "
            f"{fast_settings.base_model!r}, not 'bert-base-uncased'; using the base model") in caplog.text
    other_labels = LabelConfig(labels=("Dish",), from_name=config.from_name, to_name=config.to_name,
                               data_key=config.data_key)
    assert starting_weights(fast_settings, current, other_labels) == fast_settings.base_model
    assert starting_weights(fast_settings.model_copy(update={"init_from": "base"}), current, config) == \
        fast_settings.base_model


def test_a_round_waits_for_no_one_but_respects_the_lock(tmp_path: Path, splits_dir: Path, config: LabelConfig,
                                                        fast_settings: TrainSettings) -> None:
    models = tmp_path / "models"
    with registry.round_lock(models):
        with pytest.raises(RegistryError, match="a round is already running"):
            train_round(splits_dir, config=config, models_dir=models, settings=fast_settings)
        result = train_round(splits_dir, config=config, models_dir=models, settings=fast_settings, lock=False)
    assert (result.name, result.promoted) == ("round-0001", True)
    assert sorted(result.report_paths) == ["html", "json", "md"]
