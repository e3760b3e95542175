"""Active-learning benchmark: does labelling in nerloop's order pay? A simulated annotator (the gold labels of MIT
Restaurant train, the pool) labels a seeded random seed set, then batches chosen by each strategy
(``inference.uncertainty``); every round is trained as a real round (MiniLM, the round's settings) and scored on
the full MIT test set. The full-train reference (the whole pool) is trained per seed in the same run.

    python bench/active.py --out bench/results/active-cpu.json --plot docs/active-learning.png   # 1-2 h, 2 cores
    python bench/active.py --limit 400 --test-limit 200 --seed-size 40 --batch 60 --until 0.4 --epochs 1 \
        --seeds 1 --strategies random,mnlp                                                         # smoke, minutes

Jobs (one strategy and seed, or a reference) run ``--workers`` at a time, one torch thread each; each finished
round is appended to ``<out>.rounds.jsonl``, and a rerun with the same arguments skips the jobs already there.
``--then-per-token`` adds the per-token-cost variant of the strategy with the largest mean area over random, once
every strategy has finished seed 1. Prints one JSON document (the curves, the targets, the area between the best
and random).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for bench.* when run as ``python bench/<name>.py``
from bench.active_summary import plot_curves, summarize  # noqa: E402
from bench.output import print_report, quiet_logs  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default="random,least_confidence,mnlp,entropy,bald")
    parser.add_argument("--then-per-token", action="store_true",
                        help="once seed 1 is done, add the best strategy's per-token variant")
    parser.add_argument("--per-token-seeds", type=int, default=3, help="seeds of the per-token variant")
    parser.add_argument("--reference-seeds", type=int, default=3, help="seeds of the full-train reference")
    parser.add_argument("--seed-limits", default="", help="fewer seeds for some strategies, e.g. entropy=2,bald=2")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed-size", type=int, default=150, help="sentences labelled at random first")
    parser.add_argument("--batch", type=int, default=250, help="sentences each round adds")
    parser.add_argument("--until", type=float, default=0.35, help="stop once this fraction of the pool is labelled")
    parser.add_argument("--candidates", type=int, default=2000, help="unlabelled sentences scored per round")
    parser.add_argument("--draws", type=int, default=10, help="dropout draws for bald")
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--base-model", default="minilm")
    parser.add_argument("--warm-start", default="", help="also run these strategies with warm starts")
    parser.add_argument("--no-reference", action="store_true", help="skip the full-train reference")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pool sentences (smoke)")
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2, help="jobs at once (1: in this process)")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here (rounds go to <out>.rounds.jsonl)")
    parser.add_argument("--plot", type=Path, default=None, help="write the PNG plot here")
    parser.add_argument("--report-only", action="store_true",
                        help="summarise the jobs already in <out>.rounds.jsonl; run none")
    return parser.parse_args(argv)


def corpus(args: argparse.Namespace):
    from converters.corpus import read_tsv
    from labeling_config import restaurant_config
    from nerloop.demo import MIT_DIR

    config = restaurant_config()
    pool = read_tsv(MIT_DIR / "train.bio", tags=config.tags)[: args.limit]
    test = read_tsv(MIT_DIR / "test.bio", tags=config.tags)[: args.test_limit]
    return config, pool, test


def run_job(args: argparse.Namespace, job: dict[str, Any], log_path: Path | None) -> list[dict[str, Any]]:
    """One job in a worker process: a strategy's simulation for one seed, or the reference for one seed."""
    quiet_logs(transformers_errors_only=True)
    from nerloop.active_learning import label_sizes, simulate
    from store.settings import TrainSettings
    from training.base_model import resolve_base_model
    from training.evaluate import evaluate_model
    from training.fine_tune import fine_tune
    from training.split_files import carve_validation

    config, pool, test = corpus(args)
    settings = TrainSettings(base_model=args.base_model, epochs=args.epochs, seed=job["seed"], num_threads=1)
    source = resolve_base_model(args.base_model)
    rows: list[dict[str, Any]] = []

    def keep(row: dict[str, Any]) -> None:
        row = {**row, "job": job["name"]}
        rows.append(row)
        if log_path is not None:
            with log_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row) + "\n")

    if job["strategy"] == "reference":
        import tempfile

        train, validation = carve_validation(pool, 0.1, seed=job["seed"])
        with tempfile.TemporaryDirectory(prefix="nerloop-active-ref-") as scratch:
            started = time.perf_counter()
            result = fine_tune(train, validation, config=config, settings=settings, output_dir=scratch,
                               base_source=source)
            seconds = time.perf_counter() - started
            score = evaluate_model(result.model_dir, test, config).micro
        keep({"strategy": "reference", "seed": job["seed"], "round": 0, "sentences": len(pool),
              "words": sum(len(s.tokens) for s in pool), "f1": score.f1, "precision": score.precision,
              "recall": score.recall, "train_seconds": round(seconds, 1), "select_seconds": 0.0,
              "warm_start": False})
        return rows
    sizes = label_sizes(len(pool), seed_size=args.seed_size, batch=args.batch, until=args.until)
    simulate(pool, test, config=config, settings=settings, base_source=source, strategy=job["strategy"],
             seed=job["seed"], sizes=sizes, candidates=args.candidates, draws=args.draws,
             warm_start=job["warm"], on_round=lambda r: keep(asdict(r)))
    return rows


def jobs_for(strategies: list[str], args: argparse.Namespace, *, warm: list[str] = ()) -> list[dict[str, Any]]:
    """Seed by seed, so a run stopped early still has whole seeds; the references first of each seed."""
    jobs = []
    for seed in range(1, args.seeds + 1):
        limits = {name: int(n) for name, n in (part.split("=") for part in args.seed_limits.split(",") if part)}
        reference = "reference" in strategies and not args.no_reference and seed <= args.reference_seeds
        names = (["reference"] if reference else []) + [s for s in strategies
                                                        if s != "reference" and seed <= limits.get(s, seed)]
        jobs += [{"name": f"{s}/{seed}", "strategy": s, "seed": seed, "warm": False} for s in names]
        jobs += [{"name": f"{s}+warm/{seed}", "strategy": s, "seed": seed, "warm": True} for s in warm]
    return jobs


def run_jobs(args: argparse.Namespace, jobs: list[dict[str, Any]], log_path: Path | None,
             done: dict[str, list[dict[str, Any]]], *, pool_size: int) -> None:
    """Run the jobs not done yet; with ``--then-per-token``, once every strategy has finished seed 1, the best one's
    per-token variant joins the queue for the first ``--per-token-seeds`` seeds."""
    pending: dict[Future, dict[str, Any]] = {}
    added = not args.then_per_token
    # Spawned, not forked: a worker must not inherit a CUDA context, and each sets its own torch threads.
    spawn = multiprocessing.get_context("spawn")
    with (ProcessPoolExecutor(max_workers=args.workers, mp_context=spawn) if args.workers > 1
          else _InProcess()) as workers:
        def submit(batch: list[dict[str, Any]]) -> None:
            for job in batch:
                if job["name"] not in done:
                    pending[workers.submit(run_job, args, job, log_path)] = job

        def variant() -> list[dict[str, Any]]:
            """The best strategy's per-token variant, once every strategy has finished seed 1."""
            best = summarize(done, pool_size=pool_size)["best"]
            if not best or best.endswith("_per_token"):
                return []
            print(f"best after seed 1: {best}; adding {best}_per_token", file=sys.stderr, flush=True)
            return [job for job in jobs_for([f"{best}_per_token"], args) if job["seed"] <= args.per_token_seeds]

        if not added and all(job["name"] in done for job in jobs if job["seed"] == 1):  # a rerun: seed by seed
            added = True
            jobs = sorted([*jobs, *variant()], key=lambda job: job["seed"])
        submit(jobs)
        while True:
            if not added and all(job["name"] in done for job in jobs if job["seed"] == 1):
                added = True
                submit(variant())
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                job = pending.pop(future)
                done[job["name"]] = future.result()
                last = done[job["name"]][-1]
                print(f"{job['name']}: F1 {last['f1']:.4f} at {last['sentences']} sentences", file=sys.stderr,
                      flush=True)


class _InProcess:
    """``--workers 1``: the jobs run here, one after another (an executor with ``submit`` and done futures)."""

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, function: Any, *args: Any) -> Future:
        future: Future = Future()
        future.set_result(function(*args))
        return future


def finished_jobs(log_path: Path | None, expected_rounds: int) -> dict[str, list[dict[str, Any]]]:
    """Jobs whose rounds are all in the log (an interrupted job is run again)."""
    if log_path is None or not log_path.is_file():
        return {}
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for line in log_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.setdefault(row["job"], {})[row["round"]] = row  # a job run again: its newest rounds count
    return {name: [found[r] for r in sorted(found)] for name, found in rows.items()
            if next(iter(found.values()))["strategy"] == "reference" or len(found) >= expected_rounds}


def machine() -> dict[str, Any]:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "gpu": gpu}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    from inference.uncertainty import strategy_names
    from nerloop.active_learning import label_sizes

    strategies = ["reference", *strategy_names(args.strategies)]
    warm = strategy_names(args.warm_start) if args.warm_start else []
    _config, pool, test = corpus(args)
    sizes = label_sizes(len(pool), seed_size=args.seed_size, batch=args.batch, until=args.until)
    log_path = args.out.with_suffix(".rounds.jsonl") if args.out else None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    done = finished_jobs(log_path, len(sizes))
    started = time.perf_counter()
    if not args.report_only:
        run_jobs(args, jobs_for(strategies, args, warm=warm), log_path, done, pool_size=len(pool))
    report = summarize(done, pool_size=len(pool))
    report.update({
        "pool": len(pool), "test_sentences": len(test), "sizes": sizes, "seeds": args.seeds,
        "candidates": args.candidates, "draws": args.draws, "epochs": args.epochs, "base_model": args.base_model,
        "wall_seconds": round(time.perf_counter() - started, 1), "workers": args.workers,
        "machine": machine(),
    })
    if args.report_only and args.out is not None and args.out.is_file():  # keep the run's own wall time
        report["wall_seconds"] = json.loads(args.out.read_text(encoding="utf-8")).get("wall_seconds")
    if args.plot is not None:
        plot_curves(report, args.plot)
    return report


if __name__ == "__main__":
    result = main()
    print_report(result, parse_args().out)
