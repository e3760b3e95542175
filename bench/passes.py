"""How the served model uses the cores: forward passes side by side or one at a time, and windows a pass. Sentences
per second of the inference core (no HTTP) for each layout and runtime. Prints one JSON document.

    .venv/bin/python bench/passes.py --round DIR
    .venv/bin/python bench/passes.py --round DIR --runtimes onnx-int8 --layouts 2x1x32,1x2x16 --repeat 5

A layout is ``THREADSxPASSESxBATCH``: intra-op threads of one pass, passes at once, windows a pass. ``2x1x32`` is
the backend's layout before ``NERLOOP_PARALLEL_PASSES`` (one two-thread pass at a time, 32 windows), ``1x2x16`` its
default on 2 cores now. Each pass over the first 1,000 MIT test sentences is timed in calls of ``--per-call``
sentences (``/predict``'s request size); the layouts of a runtime take turns, ``--repeat`` times, so a slow minute
of the machine does not favour one of them, and the median counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.output import machine, print_report, quiet_logs  # noqa: E402
from bench.predict import model_folder  # noqa: E402
from converters.corpus import read_tsv  # noqa: E402
from labeling_config import restaurant_config  # noqa: E402
from nerloop.demo import MIT_DIR  # noqa: E402

RUNTIMES = {"onnx-int8": {"runtime": "onnx", "onnx_quantize": True}, "torch-bf16": {"precision": "bf16"},
            "torch-fp32": {}}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round", type=Path, required=True, help="a trained round (or its model/ folder)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    parser.add_argument("--layouts", default="2x1x32,2x1x16,1x2x32,1x2x16")
    parser.add_argument("--per-call", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    from inference.loader import load_round

    model_dir = model_folder(args.round)
    test = read_tsv(MIT_DIR / "test.bio", tags=restaurant_config().tags)[:1000]
    words = [list(s.tokens) for s in test]
    report: dict = {"machine": machine(), "round": str(model_dir), "per_call": args.per_call, "runtimes": {}}
    for runtime in args.runtimes.split(","):
        layouts = {}
        for layout in args.layouts.split(","):
            threads, passes, batch = (int(part) for part in layout.split("x"))
            layouts[layout] = load_round(model_dir, layout, threads=threads * passes, passes=passes,
                                         batch_size=batch, **RUNTIMES[runtime]).classifier
        rates = interleaved_rates(layouts, words, args.per_call, args.repeat)
        report["runtimes"][runtime] = {layout: {"median": round(statistics.median(r), 1), "min": round(min(r), 1),
                                                "max": round(max(r), 1)} for layout, r in rates.items()}
    return report


def interleaved_rates(classifiers: dict, words: list[list[str]], per_call: int, repeat: int) -> dict[str, list[float]]:
    """Sentences per second of each ``TokenClassifier`` scoring ``words`` in calls of ``per_call``, ``repeat``
    times, the classifiers taking turns so that a slow minute of the machine slows each of them, not one."""
    rates: dict[str, list[float]] = {name: [] for name in classifiers}
    for _ in range(repeat):
        for name, classifier in classifiers.items():
            began = time.perf_counter()
            for begin in range(0, len(words), per_call):
                classifier.score(words[begin:begin + per_call])
            rates[name].append(len(words) / (time.perf_counter() - began))
    return rates


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    quiet_logs()
    report = run(args)
    print_report(report, args.out)
    sys.stderr.write(json.dumps(report["runtimes"], indent=1) + "\n")


if __name__ == "__main__":
    main()
