"""Accuracy benchmark: fine-tune on MIT Restaurant train (seeded 10% held out for validation) and evaluate on the
full MIT test set (1,521 sentences, seqeval strict IOB2). Prints one JSON document.

    python bench/accuracy.py                            # MiniLM, 3 epochs (10-20 minutes on 2 CPU cores)
    python bench/accuracy.py --limit 300 --epochs 1     # smoke run
    python bench/accuracy.py --base-model distilbert-base-uncased --out bench-distilbert.json
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from converters.corpus import read_tsv
from labeling_config import restaurant_config
from nerloop.demo import MIT_DIR
from store.settings import MINILM_ALIAS, TrainSettings
from training.base_model import resolve_base_model
from training.evaluate import evaluate_model
from training.fine_tune import fine_tune
from training.split_files import carve_validation

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for bench.output when run as ``python bench/<name>.py``
from bench.output import print_report, quiet_logs  # noqa: E402

MIT = MIT_DIR


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-model", default=MINILM_ALIAS, help="hub id, local folder, or 'minilm'")
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--learning-rate", type=float, default=None, help="default: 1e-4 for minilm, else 5e-5")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all usable cores)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training sentences (smoke)")
    parser.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test sentences")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--save-model", type=Path, default=None,
                        help="keep the trained model in this folder (e.g. for bench/predict.py --round)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    import torch

    config = restaurant_config()
    train = read_tsv(MIT / "train.bio", tags=config.tags)[: args.limit]
    test = read_tsv(MIT / "test.bio", tags=config.tags)[: args.test_limit]
    train, validation = carve_validation(train, 0.1, seed=args.seed)
    settings = TrainSettings(base_model=args.base_model, epochs=args.epochs, learning_rate=args.learning_rate,
                             batch_size=args.batch_size, seed=args.seed, device=args.device,
                             num_threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="nerloop-bench-") as work:
        result = fine_tune(train, validation, config=config, settings=settings, output_dir=work,
                           base_source=resolve_base_model(args.base_model))
        started = time.perf_counter()
        evaluation = evaluate_model(result.model_dir, test, config)
        eval_seconds = time.perf_counter() - started
        if args.save_model:
            shutil.copytree(result.model_dir, args.save_model, dirs_exist_ok=True)
    return {
        "base_model": args.base_model, "epochs": args.epochs, "learning_rate": settings.resolved_learning_rate,
        "batch_size": args.batch_size, "seed": args.seed,
        "sentences": {"train": len(train), "validation": len(validation), "test": len(test)},
        "f1_micro": round(evaluation.micro.f1, 4), "f1_macro": round(evaluation.macro.f1, 4),
        "f1_interval": [round(x, 4) for x in evaluation.micro_f1_interval or ()],
        "precision_micro": round(evaluation.micro.precision, 4), "recall_micro": round(evaluation.micro.recall, 4),
        "token_accuracy": round(evaluation.token_accuracy, 4),
        "f1_by_entity": {label: round(f1, 4) for label, f1 in evaluation.f1_by_label().items()},
        "best_validation_f1": result.best_f1, "train_steps": result.steps,
        "wall_seconds": {"train": round(result.seconds, 1), "eval": round(eval_seconds, 1)},
        "test_sentences_per_second": round(len(test) / eval_seconds, 1),
        "device": result.device.describe(), "torch_threads": torch.get_num_threads(),
        "machine": {"cpu_count": os.cpu_count(), "usable_cpus": result.device.threads if result.device.kind == "cpu"
                    else None, "platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__,
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
    }


def main(argv: list[str] | None = None) -> int:
    quiet_logs()
    args = parse_args(argv)
    print_report(run(args), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
