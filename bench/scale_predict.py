"""``bench/scale.py predict``: ``nerloop predict`` against a real Label Studio holding ``--tasks`` tasks.

A fresh Label Studio (pip package, SQLite, 127.0.0.1) gets a project of MIT sentences: the first 1,000 MIT train
sentences annotated (what the round trains on), the rest plain texts (MIT train + test, cycled with the task number
appended once they run out), imported 1,000 a request. A round is trained with ``nerloop round`` (MiniLM, 1 epoch by
default) or copied from ``--round DIR``. Then:

(a) the backend's own throughput: ``nerloop serve`` on that round, ``/predict`` with ``--per-request`` tasks a
    request over ``--serve-tasks`` of the project's texts, best of 2 (warmed up first; stopped before (b));
(b) ``nerloop predict --project ID`` in a subprocess: wall time (startup and model load included) and the time the
    CLI itself reports for paging, predicting and storing (``in X s``);
(c) the same command again: nothing to predict, every task skipped; its wall time over (b)'s;
(d) every task read back through the API: exactly one prediction, of the round.

``--passes N`` repeats (a), (b) and (c) N times with copies of the round named round-0001 ... round-000N (each a
real first pass for its version, each compared with the (a) measured just before it, so a slower or faster spell of
a shared machine hits both sides); the ratios' medians are what the targets are checked on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from converters.corpus import read_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import RESTAURANT_CONFIG, restaurant_config
from nerloop.demo import MIT_DIR
from stack.services import free_port, start_service, stop_process
from stack.studio_launcher import StudioLogin, start_studio
from store.studio import Studio

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ANNOTATED = 1000


def project_tasks(total: int) -> list[dict]:
    """``ANNOTATED`` annotated MIT train tasks, then plain MIT texts (suffixed with the task number once cycled)."""
    train, test = read_tsv(MIT_DIR / "train.bio"), read_tsv(MIT_DIR / "test.bio")
    annotated = min(ANNOTATED, total)
    tasks = tasks_from_sentences(train[:annotated], restaurant_config(), as_="annotations")
    pool = [s.text for s in train[annotated:] + test]
    for i in range(total - annotated):
        text = pool[i % len(pool)]
        tasks.append({"text": text if i < len(pool) else f"{text} {annotated + i + 1}"})
    return tasks


def nerloop_env(work: Path, url: str, token: str, epochs: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NERLOOP_", "LABEL_STUDIO_"))}
    env.update({"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "NERLOOP_MODELS_DIR": str(work / "models"),
                "NERLOOP_WORK_DIR": str(work / "work"), "NERLOOP_STUDIO_URL": url, "NERLOOP_STUDIO_API_KEY": token,
                "NERLOOP_TRAIN__BASE_MODEL": "minilm", "NERLOOP_TRAIN__EPOCHS": str(epochs),
                "NERLOOP_RETRAIN_EVERY": "0", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    return env


def nerloop(env: dict[str, str], *args: str, timeout: float = 7200) -> tuple[float, str]:
    """Run ``python -m nerloop ARGS``; (wall seconds, stdout + stderr)."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nerloop", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    wall = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"nerloop {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return wall, done.stdout + done.stderr


def install_round(source: Path, models: Path, project_id: int, name: str = "round-0001") -> str:
    """Copy an already trained round folder into the project's registry as ``name`` and make it current."""
    registry = models / f"project-{project_id}"
    registry.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, registry / name, symlinks=False)
    (registry / "current").write_text(f"{name}\n")
    return name


def serve_throughput(env: dict[str, str], work: Path, project_id: int, texts: list[str], per_request: int,
                     repeat: int) -> dict:
    """Tasks/s of the backend's own ``/predict`` on the project's round (best of ``repeat``)."""
    port = free_port()
    service = start_service("ML backend", [sys.executable, "-m", "nerloop", "serve", "--host", "127.0.0.1", "--port",
                                           str(port)], env=env, host="127.0.0.1", port=port, log=work / "serve.log",
                            timeout=300)
    config = RESTAURANT_CONFIG.read_text()
    tasks = [{"id": i + 1, "data": {"text": t}} for i, t in enumerate(texts)]
    try:
        with httpx.Client(timeout=600) as http:
            def post(batch: list[dict]) -> None:
                reply = http.post(f"{service.url}/predict", json={"tasks": batch, "label_config": config,
                                                                  "project": f"{project_id}.1"})
                reply.raise_for_status()
                results = reply.json()["results"]
                assert len(results) == len(batch) and results[0]["model_version"] != "no-model", results[:1]

            post(tasks[:per_request])  # loads the round, warms up
            rates = []
            for _ in range(repeat):
                began = time.perf_counter()
                for i in range(0, len(tasks), per_request):
                    post(tasks[i:i + per_request])
                rates.append(len(tasks) / (time.perf_counter() - began))
    finally:
        stop_process(service.pid)
    return {"tasks": len(tasks), "per_request": per_request, "runs_tasks_per_s": [round(r, 1) for r in rates],
            "tasks_per_s": round(max(rates), 1)}


def predict_pass(env: dict[str, str], project_id: int, chunk: int | None) -> dict:
    wall, output = nerloop(env, "predict", "--project", str(project_id), *(["--chunk", str(chunk)] if chunk else []))
    found = re.search(r"(\d+) task\(s\) predicted, (\d+) skipped .* in ([\d.]+) s", output)
    if not found:
        raise SystemExit(f"unexpected nerloop predict output:\n{output[-2000:]}")
    predicted, skipped, inner = int(found[1]), int(found[2]), float(found[3])
    return {"wall_s": round(wall, 1), "predict_project_s": inner, "startup_s": round(wall - inner, 1),
            "predicted": predicted, "skipped": skipped,
            "tasks_per_s_wall": round(predicted / wall, 1) if predicted else None,
            "tasks_per_s_without_startup": round(predicted / inner, 1) if predicted and inner else None}


def prediction_counts(studio: Studio, project_id: int) -> Counter:
    """How many tasks have each multiset of predictions (as a sorted tuple of model_versions)."""
    found: Counter = Counter()
    for task in studio.all_tasks(project_id, page_size=1000):
        versions = sorted(p["model_version"] for p in task.get("predictions") or [])
        found[",".join(versions) or "(none)"] += 1
    return found


def run(args, info: dict) -> dict:
    work = Path(tempfile.mkdtemp(prefix="nerloop-scale-predict-", dir=args.work_dir))
    login = StudioLogin.generate()
    report: dict = {"benchmark": "predict", "tasks": args.tasks, "annotated": min(ANNOTATED, args.tasks),
                    "chunk": args.chunk, "machine": info}
    service = None
    try:
        began = time.perf_counter()
        service = start_studio(work / "label-studio", login, port=free_port(), log=work / "label-studio.log",
                               timeout=600)
        report["studio_start_s"] = round(time.perf_counter() - began, 1)
        studio = Studio.connect(service.url, login.token)
        project_id, _ = studio.find_or_create_project("scale", RESTAURANT_CONFIG.read_text())
        tasks = project_tasks(args.tasks)
        began = time.perf_counter()
        studio.import_tasks(project_id, tasks, chunk=1000)
        report["import_s"] = round(time.perf_counter() - began, 1)
        print(json.dumps({"imported": len(tasks), "s": report["import_s"]}), file=sys.stderr, flush=True)

        env = nerloop_env(work, service.url, login.token, args.epochs)
        if args.round:
            report["model"] = {"round_from": str(args.round), "name": install_round(args.round, work / "models",
                                                                                      project_id)}
        else:
            wall, _ = nerloop(env, "round", "--project", str(project_id))
            report["model"] = {"trained": f"minilm, {args.epochs} epoch(s) on {report['annotated']} MIT train "
                                          "sentences", "round_s": round(wall, 1)}
        print(json.dumps(report["model"]), file=sys.stderr, flush=True)

        texts = [t["data"]["text"] if "data" in t else t["text"] for t in tasks][:args.serve_tasks]
        source = work / "models" / f"project-{project_id}" / report["model"].get("name", "round-0001")
        names = [source.name]
        passes: list[dict] = []
        for k in range(1, args.passes + 1):
            if k > 1:  # a copy of the same round under a new name: a genuine first pass for that version
                names.append(install_round(source, work / "models", project_id, f"round-{k:04d}"))
            a = serve_throughput(env, work, project_id, texts, args.per_request, args.repeat)
            b = predict_pass(env, project_id, args.chunk)
            c = predict_pass(env, project_id, args.chunk)
            passes.append({"round": names[-1], "a_serve": a, "b_first_pass": b, "c_second_pass": c,
                           "ratio_b_over_a_wall": round(b["tasks_per_s_wall"] / a["tasks_per_s"], 3),
                           "ratio_b_over_a_without_startup": round(b["tasks_per_s_without_startup"]
                                                                   / a["tasks_per_s"], 3),
                           "ratio_c_over_b_wall": round(c["wall_s"] / b["wall_s"], 4)})
            print(json.dumps(passes[-1]), file=sys.stderr, flush=True)
        report["passes"] = passes
        report["a_serve"], report["b_first_pass"] = passes[-1]["a_serve"], passes[-1]["b_first_pass"]
        report["c_second_pass"] = passes[-1]["c_second_pass"]
        counts = prediction_counts(studio, project_id)
        report["d_predictions_per_task"] = dict(counts)

        report["ratio_b_over_a_wall"] = statistics.median(p["ratio_b_over_a_wall"] for p in passes)
        report["ratio_b_over_a_without_startup"] = statistics.median(p["ratio_b_over_a_without_startup"]
                                                                     for p in passes)
        report["ratio_c_over_b_wall"] = statistics.median(p["ratio_c_over_b_wall"] for p in passes)
        report["targets"] = {
            "b >= 0.8 a (wall, median of the passes)": report["ratio_b_over_a_wall"] >= 0.8,
            "c < 5 % of b (wall, median of the passes)": report["ratio_c_over_b_wall"] < 0.05,
            "second pass predicts nothing": all(p["c_second_pass"]["predicted"] == 0
                                                and p["c_second_pass"]["skipped"] == args.tasks for p in passes),
            "every task has one prediction of each round": counts == Counter({",".join(names): args.tasks}),
        }
    finally:
        if service is not None:
            stop_process(service.pid)
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return report
