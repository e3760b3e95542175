"""What a round pays for running on Ray: the same MIT round locally and on a local Ray cluster, with /predict under
light load during each.

Inside a network namespace of its own with only loopback (root; Ray binds every address otherwise) the script
starts a Ray cluster with ``--num-cpus`` CPUs on this machine and a backend serving MiniLM, then runs
``nerloop round --export MIT`` twice, from the same export and settings, as projects 2 and 3 (so their hashed
splits differ slightly): first with ``NERLOOP_EXECUTOR=local``, then with ``ray``. Meanwhile
``--clients`` clients each post one MIT test sentence to ``/predict`` every ``--pause`` seconds, as annotators
opening tasks do. JSON on stdout: each round's wall time and manifest timings, the Ray round's dispatch and
transfer time (its wall time minus the local one's, and what its manifest records), and /predict latency
percentiles during each round.

    sudo .venv/bin/python bench/ray_round.py --out bench/results/ray-round-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.output import print_report  # noqa: E402
from bench.predict import TEST, Server, default_model, machine, percentiles  # noqa: E402
from converters.corpus import read_tsv  # noqa: E402
from converters.tasks import tasks_from_sentences  # noqa: E402
from labeling_config.config import render_config, restaurant_config  # noqa: E402
from nerloop.demo import MIT_DIR  # noqa: E402
from tests.e2e.ray_cluster import can_isolate, loopback_only, start_cluster  # noqa: E402


def annotators(url: str, clients: int, pause: float, stop: threading.Event) -> tuple[list[float], list[str]]:
    config = render_config(restaurant_config().labels)
    texts = [s.text for s in read_tsv(TEST)]
    latencies: list[float] = []
    errors: list[str] = []

    def one(offset: int) -> None:
        with httpx.Client(timeout=120) as http:
            i = offset
            while not stop.wait(pause):
                began = time.perf_counter()
                try:
                    response = http.post(f"{url}/predict", json={"tasks": [{"id": i, "data": {"text": texts[i]}}],
                                                                 "label_config": config, "project": "1.1"})
                    if response.status_code != 200:
                        errors.append(f"HTTP {response.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))
                latencies.append((time.perf_counter() - began) * 1000)
                i = (i + clients) % len(texts)

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    return latencies, errors


def run_round(env: dict[str, str], export: Path, project: str, server: Server, args: argparse.Namespace,
              log: Path) -> dict:
    stop = threading.Event()
    latencies, errors = annotators(server.url, args.clients, args.pause, stop)
    began = time.perf_counter()
    with log.open("wb") as out:
        code = subprocess.run([sys.executable, "-m", "nerloop", "round", "--export", str(export), "--project", project],
                              env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO).returncode
    wall = time.perf_counter() - began
    stop.set()
    if code != 0:
        raise SystemExit(f"the {project} round failed; see {log}")
    manifest = json.loads((Path(env["NERLOOP_MODELS_DIR"]) / f"project-{project}" / "round-0001" /
                           "manifest.json").read_text())
    return {"executor": env["NERLOOP_EXECUTOR"], "wall_s": round(wall, 1), "timings": manifest["timings"],
            "executor_record": manifest["executor"], "micro_f1": round(manifest["metrics"]["micro_f1"], 4),
            "predict_ms_during": percentiles(latencies), "predict_errors": len(errors)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=7660, help="MIT training sentences in the export")
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--num-cpus", type=int, default=2, help="the local cluster's CPUs (and the round's ask)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between a client's requests")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not can_isolate():
        raise SystemExit("run as root: the cluster needs a network namespace of its own")
    work = Path(tempfile.mkdtemp(prefix="nerloop-ray-bench-"))
    export = work / "export.json"
    sentences = read_tsv(MIT_DIR / "train.bio")[:args.sentences]
    export.write_text(json.dumps(tasks_from_sentences(sentences, restaurant_config(), as_="annotations")))
    report: dict = {"machine": machine(), "sentences": len(sentences), "epochs": args.epochs,
                    "cluster_cpus": args.num_cpus, "clients": args.clients, "pause_s": args.pause}
    (work / "models").mkdir()
    with loopback_only():
        cluster = start_cluster(num_cpus=args.num_cpus, hidden=[work / "models"], log=work / "cluster.log")
        try:
            env = {**os.environ, **cluster.env, "PYTHONPATH": str(REPO), "NERLOOP_MODELS_DIR": str(work / "models"),
                   "NERLOOP_WORK_DIR": str(work / "work"), "NERLOOP_TEST_FILE": str(TEST),
                   "NERLOOP_TRAIN__BASE_MODEL": "minilm", "NERLOOP_TRAIN__EPOCHS": str(args.epochs),
                   "NERLOOP_RAY__ADDRESS": cluster.address, "NERLOOP_RAY__NUM_CPUS": str(args.num_cpus),
                   "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
            with Server.start(default_model(work), work, {}) as server:
                for executor, project in (("local", "2"), ("ray", "3")):
                    report[executor] = run_round({**env, "NERLOOP_EXECUTOR": executor}, export, project, server,
                                                 args, work / f"round-{executor}.log")
        finally:
            cluster.stop()
    overhead = report["ray"]["wall_s"] - report["local"]["wall_s"]
    report["dispatch_and_transfer"] = {"seconds": round(overhead, 1),
                                       "share_of_local_round": round(overhead / report["local"]["wall_s"], 4),
                                       "recorded_dispatch_s": report["ray"]["executor_record"]["dispatch_s"]}
    print_report(report, args.out)


if __name__ == "__main__":
    main()
