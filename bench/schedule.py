"""Training-schedule benchmark: the full MIT round's training time and test F1 for schedule variants, over seeds.
Prints one JSON document.

Each run trains MiniLM on MIT train minus a 10 % validation split carved with the run's seed (as bench/active.py's
full-train reference does), for the training settings' defaults plus the variant's overrides, and scores the full
MIT test set. Runs are appended to ``--log`` as they finish (JSON lines), so a stopped benchmark resumes where it
stopped and ``--report-only`` summarises a log without training.

    .venv/bin/python bench/schedule.py --variant legacy --variant grouped --variant batch32 --seeds 1,2,3
    .venv/bin/python bench/schedule.py --variant grouped --seeds 1 --limit 600 --epochs 1      # smoke run

Variants: ``legacy`` (the settings' defaults: random batches of 16, every weight trained, bf16 where the CPU has
it), ``grouped`` (batches of texts of similar length, word embeddings frozen), ``batch32`` (that, 32 texts a step,
learning rate 1.5e-4), ``bf16`` and ``fp32`` (the defaults in that precision), ``bf16-grouped`` (bf16, batches of
similar length, every weight trained), or a JSON object of TrainSettings fields.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.output import load_average, machine, print_report, quiet_logs  # noqa: E402

VARIANTS: dict[str, dict] = {
    "legacy": {},
    "grouped": {"length_grouped": True, "freeze_word_embeddings": True},
    "batch32": {"length_grouped": True, "freeze_word_embeddings": True, "batch_size": 32, "learning_rate": 1.5e-4},
    "bf16": {"precision": "bf16"},
    "fp32": {"precision": "fp32"},
    "bf16-grouped": {"precision": "bf16", "length_grouped": True},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", default=None, help="a named variant or a JSON object")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--base-model", default="minilm")
    parser.add_argument("--limit", type=int, default=None, help="the first N MIT train sentences (smoke)")
    parser.add_argument("--log", type=Path, default=None, help="JSON lines of finished runs (resumed from)")
    parser.add_argument("--report-only", action="store_true", help="summarise --log without training")
    parser.add_argument("--served-int8", action="store_true",
                        help="also score each round as the backend serves it with NERLOOP_RUNTIME=onnx and "
                             "NERLOOP_ONNX_QUANTIZE=true (its /predict regions, 100 tasks a call)")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def overrides(variant: str) -> dict:
    return VARIANTS[variant] if variant in VARIANTS else json.loads(variant)


def train_once(variant: str, seed: int, args: argparse.Namespace) -> dict:
    from converters.corpus import read_tsv
    from labeling_config import restaurant_config
    from nerloop.demo import MIT_DIR
    from store.settings import TrainSettings
    from training.base_model import resolve_base_model
    from training.evaluate import evaluate_model
    from training.fine_tune import fine_tune
    from training.split_files import carve_validation

    config = restaurant_config()
    train, validation = carve_validation(read_tsv(MIT_DIR / "train.bio", tags=config.tags)[:args.limit], 0.1,
                                         seed=seed)
    test = read_tsv(MIT_DIR / "test.bio", tags=config.tags)
    settings = TrainSettings(**{"base_model": args.base_model, "epochs": args.epochs, "seed": seed,
                                **overrides(variant)})
    with tempfile.TemporaryDirectory(prefix="nerloop-schedule-") as work:
        result = fine_tune(train, validation, config=config, settings=settings, output_dir=work,
                           base_source=resolve_base_model(args.base_model))
        f1 = evaluate_model(result.model_dir, test, config).micro.f1
        f1_argmax = argmax_f1(result.model_dir, test, sorted(config.labels))
        served = {}
        if args.served_int8:
            served["f1_served_int8"] = round(served_int8_f1(result.model_dir, test, config), 4)
    return {"variant": variant, "seed": seed, "epochs": args.epochs, "limit": args.limit,
            "settings": settings.model_dump(include={"batch_size", "learning_rate", "length_grouped",
                                                     "freeze_word_embeddings", "precision"}),
            "device": result.device.describe(),
            "train_s": round(result.seconds, 1), "steps": result.steps, "f1": round(f1, 4),
            "f1_argmax": round(f1_argmax, 4), **served,
            "load_average": load_average()}


def argmax_f1(model_dir: Path, test: list, labels: list[str]) -> float:
    """Test F1 with each word's argmax tag, as nerloop decoded before the valid-IOB2 decoder (a comparison)."""
    from training.evaluate import load_model
    from training.metrics import score_predictions

    classifier = load_model(model_dir)
    scores = classifier.score([list(s.tokens) for s in test])
    tags = [[classifier.tags[i] if ok else "O" for i, ok in zip(s.probs.argmax(axis=1), s.scored, strict=True)]
            for s in scores]
    return score_predictions(test, tags, labels).micro.f1


def served_int8_f1(model_dir: Path, test: list, config) -> float:
    """Test F1 of the round's int8 ONNX model as ``/predict`` serves it: the backend's runtime options, tasks of
    the test tokens joined by spaces, 100 a call, regions mapped back onto the tokens. Dynamic int8 quantization
    scales activations per forward pass, so these tags depend on which windows share a pass."""
    from bench.peer import tags_from_regions
    from inference.loader import load_round
    from inference.predictions import predict_tasks
    from labeling_config import parse_config, render_config
    from store.settings import SharedSettings
    from training.metrics import score_predictions

    labels = sorted(config.labels)
    model = load_round(model_dir, "int8", **SharedSettings(runtime="onnx", onnx_quantize=True).runtime_options())
    label_config = parse_config(render_config(labels))
    tasks = [{"id": i, "data": {"text": " ".join(s.tokens)}} for i, s in enumerate(test)]
    results = [p["result"] for begin in range(0, len(tasks), 100)
               for p in predict_tasks(model, tasks[begin:begin + 100], label_config).predictions]
    tags = [tags_from_regions(sentence, result) for sentence, result in zip(test, results, strict=True)]
    return score_predictions(test, tags, labels).micro.f1


def summarise(runs: list[dict]) -> dict:
    by_variant: dict[str, list[dict]] = {}
    for run in runs:
        by_variant.setdefault(run["variant"], []).append(run)
    summary = {}
    for variant, rows in by_variant.items():
        summary[variant] = {"seeds": [r["seed"] for r in rows], "f1": [r["f1"] for r in rows],
                            "f1_mean": round(statistics.mean(r["f1"] for r in rows), 4),
                            "train_s": [r["train_s"] for r in rows],
                            "train_s_mean": round(statistics.mean(r["train_s"] for r in rows), 1)}
        if all("f1_argmax" in r for r in rows):  # runs from before the valid-IOB2 decoder have none
            summary[variant]["f1_argmax_mean"] = round(statistics.mean(r["f1_argmax"] for r in rows), 4)
        if all("f1_served_int8" in r for r in rows):
            summary[variant]["f1_served_int8"] = [r["f1_served_int8"] for r in rows]
            summary[variant]["f1_served_int8_mean"] = round(statistics.mean(r["f1_served_int8"] for r in rows), 4)
    return summary


def main(argv: list[str] | None = None) -> int:
    quiet_logs(transformers_errors_only=True)
    args = parse_args(argv)
    runs = [json.loads(line) for line in args.log.read_text().splitlines() if line.strip()] \
        if args.log and args.log.exists() else []
    if not args.report_only:
        done = {(r["variant"], r["seed"]) for r in runs}
        for variant in args.variant or ["legacy"]:
            for seed in (int(s) for s in args.seeds.split(",")):
                if (variant, seed) in done:
                    continue
                run = train_once(variant, seed, args)
                sys.stderr.write(json.dumps(run) + "\n")
                runs.append(run)
                if args.log:
                    with args.log.open("a", encoding="utf-8") as out:
                        out.write(json.dumps(run) + "\n")
    print_report({"summary": summarise(runs), "runs": runs, "machine": machine()}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
