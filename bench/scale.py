"""nerloop at scale, JSON on stdout and in bench/results/. One subcommand per part:

``convert``: synthetic exports in Label Studio 1.23.2's JSON shape with 10k, 100k and 1M tasks, made from the MIT
sentences (cycled; each text gets its task number appended as a last token, so texts are distinct, and every
100th task repeats the previous task's text, so the duplicate check has work), each converted in a fresh
subprocess so its peak RSS (VmHWM) is its own:

- ``iter``: ``iter_export`` consumed without keeping the sentences (the streaming reader alone);
- ``iter+stream``: ``iter_export`` + ``stream_splits`` (what ``nerloop convert export`` does: nothing held);
- ``round-data``: ``nerloop.round_data.split_round_export``, a round's (and the learning curve's) data stage: the
  export streamed into the split files, the test split kept in memory with each sentence's task; no training.

The saved results keep the rows of modes measured before the round streamed (``read+split+write``: ``read_export``
+ ``make_splits`` + ``write_splits``, all sentences held; ``old read+split+write``: the same with the reader before
streaming), whose code is gone.

    .venv/bin/python bench/scale.py convert                      # 10k, 100k, 1M (about 1 GB of JSON in --work-dir)
    .venv/bin/python bench/scale.py convert --tasks 10000 --no-save
    .venv/bin/python bench/scale.py convert --modes iter+stream  # only these modes: merged into the saved results

``predict``: ``nerloop predict`` against a real Label Studio holding 20,000 tasks (``--tasks``): tasks/s end to end
against the backend's own ``/predict`` on the same round, a second (idempotent) pass, predictions counted back
(details in ``bench/scale_predict.py``):

    nice -n 10 .venv/bin/python bench/scale.py predict             # MiniLM, 1 epoch on 1,000 sentences, 20k tasks
    .venv/bin/python bench/scale.py predict --tasks 500 --no-save  # a dry run
    .venv/bin/python bench/scale.py predict --round models/project-1/round-0003   # reuse a trained round
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from converters.corpus import Sentence, read_tsv  # noqa: E402
from labeling_config import restaurant_config  # noqa: E402
from nerloop.demo import MIT_DIR  # noqa: E402

MODES = ("iter", "iter+stream", "round-data")
RESULTS = REPO / "bench" / "results" / "scale-convert-cpu.json"

# Runs in a fresh interpreter with PYTHONPATH set to the tree under test; prints one JSON line.
CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024  # kB -> MiB

from converters.export import iter_export
from labeling_config import restaurant_config

mode, path = sys.argv[1], Path(sys.argv[2])
config = restaurant_config()
test_sentences = None
baseline = status("VmRSS")
start = time.perf_counter()
if mode == "iter":
    stream = iter_export(path, config)
    kept = sum(1 for _ in stream)
    report = stream.report
    read_s = time.perf_counter() - start
elif mode == "iter+stream":
    from converters.split_writer import stream_splits
    stream = iter_export(path, config)
    with tempfile.TemporaryDirectory() as out:
        paths = stream_splits(stream, Path(out), lambda: stream.report)
        kept = sum(json.loads(paths["report"].read_text())["splits"][name]["sentences"]
                   for name in ("train", "validation", "test"))
    report = stream.report
    read_s = None  # reading and splitting are one pass
else:  # round-data
    from converters.split_rule import DEFAULT_SALT
    from nerloop.round_data import split_round_export
    from nerloop.settings import Settings
    with tempfile.TemporaryDirectory() as out:
        data = split_round_export(Settings(test_file=None), salt=DEFAULT_SALT, export_file=path, config=config,
                                  split_dir=Path(out))
        report = data.report
        kept = sum(counts.sentences for counts in report.splits.values())
        test_sentences = len(data.test)
    read_s = None
total_s = time.perf_counter() - start
print(json.dumps({"sentences": kept, "tasks_read": report.tasks_read, "problems": len(report.problems),
                  "read_s": None if read_s is None else round(read_s, 2), "total_s": round(total_s, 2),
                  "rss_before_mib": round(baseline, 1), "peak_rss_mib": round(status("VmHWM"), 1),
                  **({} if test_sentences is None else {"test_sentences": test_sentences})}))
"""


def _task(i: int, sentence: Sentence, text: str) -> dict:
    starts, offset = [], 0
    for token in sentence.tokens:
        starts.append(offset)
        offset += len(token) + 1
    result = []
    for k, ent in enumerate(sentence.entities):
        start, end = starts[ent.start], starts[ent.end - 1] + len(sentence.tokens[ent.end - 1])
        result.append({"id": f"r{i}-{k}", "from_name": "label", "to_name": "text", "type": "labels",
                       "value": {"start": start, "end": end, "text": text[start:end], "labels": [ent.label]}})
    stamp = f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00.000000Z"
    return {"id": i, "data": {"text": text},
            "annotations": [{"id": 1_000_000 + i, "completed_by": 1, "was_cancelled": False, "ground_truth": False,
                             "created_at": stamp, "updated_at": stamp, "result": result}],
            "predictions": []}


def generate(path: Path, tasks: int) -> int:
    """Write a JSON export of ``tasks`` tasks, one at a time; returns its size in bytes."""
    sentences = read_tsv(MIT_DIR / "train.bio") + read_tsv(MIT_DIR / "test.bio")
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        text = ""
        for i in range(1, tasks + 1):
            sentence = sentences[(i - 1) % len(sentences)]
            if i % 100:  # every 100th task repeats the text before it
                text = f"{sentence.text} {i}"
            out.write(("," if i > 1 else "") + "\n" + json.dumps(_task(i, sentence, text), ensure_ascii=False))
        out.write("\n]\n")
    return path.stat().st_size


def measure(mode: str, path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], env=env, cwd=REPO, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"{mode} on {path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def convert(args: argparse.Namespace) -> None:
    restaurant_config()  # fail early if the config does not load
    info = machine()
    work = Path(tempfile.mkdtemp(prefix="nerloop-scale-", dir=args.work_dir))
    runs = []
    try:
        for tasks in args.tasks:
            path = work / f"export-{tasks}.json"
            start = time.perf_counter()
            size = generate(path, tasks)
            row = {"tasks": tasks, "file_mb": round(size / 1e6, 1),
                   "generate_s": round(time.perf_counter() - start, 1)}
            for mode in args.modes:
                row[mode] = measure(mode, path)
                print(json.dumps({"tasks": tasks, mode: row[mode]}), file=sys.stderr, flush=True)
            runs.append(row)
            path.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report = {"benchmark": "convert", "commit": _commit(), "runs": runs, "machine": info, "notes": NOTES}
    print(json.dumps(report, indent=2))
    if args.save:
        if set(args.modes) != set(MODES) and RESULTS.exists():
            report = merged(json.loads(RESULTS.read_text(encoding="utf-8")), report, args.modes)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


NOTES = ("iter: iter_export alone (sentences not kept); iter+stream: iter_export + stream_splits (nerloop convert "
         "export; read_s is null: one pass); round-data: nerloop.round_data.split_round_export, a round's data stage "
         "(one pass; test_sentences: the test split it keeps in memory); read+split+write (read_export, make_splits, "
         "write_splits: what rounds ran before they streamed) and old read+split+write (the same with the reader "
         "of commit bd36810) are earlier measurements, their code is gone; peak_rss_mib is the subprocess's VmHWM, "
         "rss_before_mib its RSS after imports; 'updates' lists runs of some modes only, merged into earlier rows")


def merged(saved: dict, new: dict, modes: list[str]) -> dict:
    """``saved`` with the rows of ``new`` for ``modes`` put in (by task count), and the run noted under
    ``updates``."""
    rows = {row["tasks"]: row for row in saved["runs"]}
    for row in new["runs"]:
        old = rows.setdefault(row["tasks"], {k: row[k] for k in ("tasks", "file_mb", "generate_s")})
        old.update({mode: row[mode] for mode in modes if mode in row})
    saved["runs"] = [rows[tasks] for tasks in sorted(rows)]
    saved["notes"] = NOTES
    saved.setdefault("updates", []).append({"modes": modes, "commit": new["commit"], "machine": new["machine"]})
    return saved


def predict(args: argparse.Namespace) -> None:
    from importlib.metadata import version

    from bench.scale_predict import RESULTS_DIR, run

    info = machine()
    info["torch"] = version("torch")
    report = run(args, info)
    report["commit"] = _commit()
    print(json.dumps(report, indent=2))
    if args.save:
        path = RESULTS_DIR / f"scale-predict-{args.name}.json"
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def _commit() -> str:
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parts = parser.add_subparsers(dest="part", required=True)
    conv = parts.add_parser("convert", help="conversion of synthetic JSON exports: wall time and peak RSS")
    conv.add_argument("--tasks", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000, 1_000_000],
                      help="comma-separated task counts (default 10000,100000,1000000)")
    conv.add_argument("--modes", type=lambda s: s.split(","), default=list(MODES),
                      help=f"comma-separated, of {', '.join(MODES)}")
    conv.add_argument("--work-dir", default=None, help="where the exports are written (default: the temp dir)")
    conv.add_argument("--no-save", dest="save", action="store_false", help=f"do not write {RESULTS.name}")
    conv.set_defaults(run=convert)
    pred = parts.add_parser("predict", help="nerloop predict against a real Label Studio: tasks/s, second pass")
    pred.add_argument("--tasks", type=int, default=20_000, help="tasks in the project (default 20000)")
    pred.add_argument("--round", type=Path, help="an already trained round folder to copy in (default: train one)")
    pred.add_argument("--epochs", type=int, default=1, help="epochs of the MiniLM round trained when no --round")
    pred.add_argument("--chunk", type=int, default=None, help="nerloop predict --chunk (default: its own)")
    pred.add_argument("--serve-tasks", type=int, default=2000, help="tasks posted to /predict for (a)")
    pred.add_argument("--per-request", type=int, default=100, help="tasks per /predict request for (a)")
    pred.add_argument("--repeat", type=int, default=2, help="runs of (a); the best is reported")
    pred.add_argument("--passes", type=int, default=1, help="(a)+(b) repeated with copies of the round (median)")
    pred.add_argument("--work-dir", default=None, help="where Label Studio's data and the models go (temp dir)")
    pred.add_argument("--keep", action="store_true", help="keep the work dir (Label Studio data, models, logs)")
    pred.add_argument("--name", default="minilm-cpu", help="results file: scale-predict-NAME.json")
    pred.add_argument("--no-save", dest="save", action="store_false", help="do not write the results file")
    pred.set_defaults(run=predict)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
