"""Soak: concurrent /predict clients against a real backend for ten minutes while two projects' rounds promote
over and over.

Two projects (1 and 2) each get a first real round (``nerloop round`` on ``--train`` MIT training sentences, the
offline MiniLM encoder, ``--epochs``), scored on ``--test`` MIT test sentences. Then ``--clients`` clients post
``--per-request`` sentences per request for ``--seconds``, half of them to each project, while a trigger presses
Train (the START_TRAINING webhook) for whichever project has no round running: every round is the real ``nerloop
round`` on the same export, promoted (the gate's tolerance is opened so each round is served), and the backend
swaps it in under load. Rounds of the two projects take turns on the training slot, as they do for users.

JSON on stdout: errors (target 0), latency percentiles overall and per project, rounds started/succeeded/failed,
the versions each project served, and the backend's resident memory (RSS) sampled every ``--sample-every``
seconds: after ``--warmup`` seconds, at the end, the largest, and end / after-warm-up (target within 10 %).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.load import client  # noqa: E402
from bench.predict import TEST, Server, machine, percentiles  # noqa: E402
from converters.corpus import read_tsv, write_tsv  # noqa: E402
from converters.tasks import tasks_from_sentences  # noqa: E402
from labeling_config.config import render_config, restaurant_config  # noqa: E402
from nerloop.demo import MIT_DIR  # noqa: E402

PROJECTS = ("1", "2")


def prepare(workdir: Path, train: int, test: int, epochs: float) -> tuple[dict[str, str], Path]:
    """The round environment and the export every round trains on; each project's first round is run here."""
    config = restaurant_config()
    tasks = tasks_from_sentences(read_tsv(MIT_DIR / "train.bio")[:train], config, as_="annotations")
    export = workdir / "export.json"
    export.write_text(json.dumps([{"id": i + 1, **t} for i, t in enumerate(tasks)]), encoding="utf-8")
    write_tsv(workdir / "test.tsv", read_tsv(TEST)[:test])
    env = {"NERLOOP_MODELS_DIR": str(workdir / "models"), "NERLOOP_WORK_DIR": str(workdir / "work"),
           "NERLOOP_TEST_FILE": str(workdir / "test.tsv"), "NERLOOP_TRAIN__BASE_MODEL": "minilm",
           "NERLOOP_TRAIN__EPOCHS": str(epochs), "NERLOOP_TRAIN__PROMOTE_TOLERANCE": "1.0",
           "NERLOOP_RETRAIN_EVERY": "0", "NERLOOP_LOG_DIR": str(workdir / "logs"), "HF_HUB_OFFLINE": "1",
           "NERLOOP_ROUND_COMMAND": json.dumps([sys.executable, "-m", "nerloop", "round", "--export", str(export)])}
    for project in PROJECTS:
        subprocess.run([sys.executable, "-m", "nerloop", "round", "--export", str(export), "--project", project],
                       env={**os.environ, "PYTHONPATH": str(REPO), **env}, cwd=REPO, check=True,
                       capture_output=True)
    return env, workdir / "models"


def press_train(url: str, stop: threading.Event, pressed: Counter) -> None:
    """Press Train for every project with no round running, every 2 s, until ``stop``."""
    with httpx.Client(timeout=30) as http:
        while not stop.wait(2):
            state = http.get(f"{url}/health").json()["projects"]
            for project in PROJECTS:
                if not state.get(project, {}).get("round_running"):
                    http.post(f"{url}/webhook", json={"action": "START_TRAINING", "project": {"id": int(project)}})
                    pressed[project] += 1


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def sample_rss(pid: int, every: float, stop: threading.Event, out: list[tuple[float, float]]) -> None:
    began = time.monotonic()
    while True:
        out.append((round(time.monotonic() - began, 1), round(rss_mb(pid), 1)))
        if stop.wait(every):
            return


def memory_summary(samples: list[tuple[float, float]], warmup: float) -> dict:
    after = next((mb for t, mb in samples if t >= warmup), samples[-1][1])
    end = samples[-1][1]
    return {"after_warmup_mb": after, "end_mb": end, "max_mb": max(mb for _, mb in samples),
            "end_over_after_warmup": round(end / after, 3), "warmup_s": warmup,
            "samples": samples[:: max(1, len(samples) // 40)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--warmup", type=float, default=60)
    parser.add_argument("--per-request", type=int, default=10)
    parser.add_argument("--train", type=int, default=200, help="MIT training sentences in each round's export")
    parser.add_argument("--test", type=int, default=100, help="MIT test sentences each round is scored on")
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--sample-every", type=float, default=5)
    args = parser.parse_args()
    host = machine()
    workdir = Path(tempfile.mkdtemp(prefix="nerloop-soak-"))
    try:
        began_prepare = time.monotonic()
        env, models = prepare(workdir, args.train, args.test, args.epochs)
        prepare_s = time.monotonic() - began_prepare
        config = render_config(restaurant_config().labels)
        tasks = [{"id": i, "data": {"text": " ".join(s.tokens)}} for i, s in enumerate(read_tsv(TEST))]
        errors: list[str] = []
        out = {p: {"per_request": args.per_request, "errors": errors, "latencies": [], "versions": set()}
               for p in PROJECTS}
        with Server.start(Path(), workdir, env, models=models) as server:
            stop, memory, pressed = threading.Event(), [], Counter()
            threads = [threading.Thread(target=client, args=(server.url, PROJECTS[k % 2], tasks[k * 37:], config,
                                                             stop, out[PROJECTS[k % 2]])) for k in range(args.clients)]
            threads.append(threading.Thread(target=press_train, args=(server.url, stop, pressed)))
            threads.append(threading.Thread(target=sample_rss, args=(server.process.pid, args.sample_every, stop,
                                                                     memory)))
            began = time.monotonic()
            for thread in threads:
                thread.start()
            time.sleep(args.seconds)
            stop.set()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - began
            metrics = server.http.get(f"{server.url}/metrics").text
        rounds = {name: sum(float(line.split()[-1]) for line in metrics.splitlines()
                            if line.startswith(f"nerloop_rounds_{name}_total"))
                  for name in ("started", "succeeded", "failed")}
        latencies = [ms for p in PROJECTS for ms in out[p]["latencies"]]
        report = {"machine": host, "clients": args.clients, "seconds": round(elapsed, 1), "prepare_s": round(prepare_s),
                  "per_request": args.per_request, "round_export_sentences": args.train,
                  "round_test_sentences": args.test, "epochs": args.epochs,
                  "requests": len(latencies), "tasks_per_s": round(len(latencies) * args.per_request / elapsed, 1),
                  "errors": len(errors), "error_samples": errors[:5],
                  "latency_ms": percentiles(latencies),
                  "latency_ms_by_project": {p: percentiles(out[p]["latencies"]) for p in PROJECTS},
                  "train_pressed": dict(pressed), "rounds": rounds,
                  "versions_served": {p: sorted(out[p]["versions"]) for p in PROJECTS},
                  "rss": memory_summary(memory, args.warmup)}
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
