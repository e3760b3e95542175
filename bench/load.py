"""Load while training: concurrent /predict clients against a real uvicorn process while a round runs.

16 clients (``--clients``) post ``--per-request`` MIT test sentences per request for ``--seconds`` (30); after
``--trigger-after`` seconds a START_TRAINING webhook starts a round. The default round command is this script in
``--as-round`` mode: it trains a tiny BERT on the MIT training set for ``--round-seconds`` (real CPU work competing
with inference), then copies the served round to the next number and promotes it, so a hot swap happens under load
too. ``--round-command '["cmd", "arg"]'`` runs your own (e.g. the real ``python -m nerloop round``). JSON on stdout:
errors (target 0), latency percentiles, requests/s, /health latency under that load (Label Studio allows 1 s), the
webhook's reply time, rounds started/succeeded and the model versions seen.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.predict import PROJECT, TEST, Server, default_model, machine, model_folder, percentiles  # noqa: E402
from converters.corpus import read_tsv  # noqa: E402
from labeling_config.config import render_config, restaurant_config  # noqa: E402


def as_round(seconds: float, project: str) -> None:
    """A stand-in round for ``project``: CPU-bound tiny-model training, then promote a copy of its newest round."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from store.projects import project_dir
    from store.registry import list_rounds, set_current
    from training.tiny import build_tiny_base_model

    cfg = restaurant_config()
    sentences = read_tsv(TEST, tags=cfg.tags)
    work = Path(tempfile.mkdtemp(prefix="nerloop-load-round-"))
    base = build_tiny_base_model(work / "base", [w for s in sentences for w in s.tokens])
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    config = BertConfig.from_pretrained(base, num_labels=len(cfg.tags))
    model = BertForTokenClassification(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    began, steps = time.monotonic(), 0
    while time.monotonic() - began < seconds:
        batch = sentences[(steps * 16) % len(sentences):][:16]
        enc = tokenizer([list(s.tokens) for s in batch], is_split_into_words=True, padding=True, return_tensors="pt")
        labels = torch.zeros_like(enc["input_ids"])
        loss = model(**enc, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        steps += 1
    models = project_dir(os.environ["NERLOOP_MODELS_DIR"], project)
    newest = list_rounds(models)[-1]
    name = f"round-{newest.number + 1:04d}"
    shutil.copytree(newest.path, models / f".staging-{name}", symlinks=True)
    os.replace(models / f".staging-{name}", models / name)
    set_current(models, name)
    print(f"trained {steps} steps in {seconds:.0f} s; promoted {name}", flush=True)
    shutil.rmtree(work, ignore_errors=True)


def client(url: str, project: int | str, tasks: list[dict], config: str, stop: threading.Event, out: dict) -> None:
    """Post ``out["per_request"]`` tasks a request to ``project`` until ``stop``; latencies, errors and the model
    versions seen go into ``out``."""
    with httpx.Client(timeout=120) as http:
        i = 0
        while not stop.is_set():
            batch = tasks[i % len(tasks):][:out["per_request"]] or tasks[:out["per_request"]]
            i += len(batch)
            began = time.perf_counter()
            try:
                response = http.post(f"{url}/predict", json={"tasks": batch, "label_config": config,
                                                             "project": f"{project}.1"})
                ok = response.status_code == 200 and len(response.json()["results"]) == len(batch)
                if ok:
                    out["versions"].update(r["model_version"] for r in response.json()["results"])
                else:
                    out["errors"].append(f"{response.status_code}: {response.text[:200]}")
            except httpx.HTTPError as exc:
                out["errors"].append(repr(exc))
            out["latencies"].append((time.perf_counter() - began) * 1000)


def probe_health(server: Server, stop: threading.Event, out: list[float], failures: list[str]) -> None:
    """What Label Studio's 1 s health check sees while /predict is saturated (failures are counted, not hidden)."""
    with httpx.Client(timeout=30) as http:
        while not stop.wait(0.25):
            began = time.perf_counter()
            try:
                response = http.get(f"{server.url}/health")
            except httpx.HTTPError as exc:
                failures.append(repr(exc))
                continue
            if response.status_code != 200:
                failures.append(f"HTTP {response.status_code}")
                continue
            out.append((time.perf_counter() - began) * 1000)


def metric(server: Server, name: str) -> float:
    for line in server.http.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--per-request", type=int, default=10)
    parser.add_argument("--trigger-after", type=float, default=2)
    parser.add_argument("--model", type=Path, help="a saved token classifier or round folder (default MiniLM)")
    parser.add_argument("--round-command", help="JSON list; default: this script --as-round")
    parser.add_argument("--round-seconds", type=float, default=15)
    parser.add_argument("--as-round", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_round:
        as_round(args.round_seconds, args.project)
        return
    host = machine()  # before the load: its load average shows whether the machine was idle
    workdir = Path(tempfile.mkdtemp(prefix="nerloop-load-"))
    try:
        source = args.model
        model_dir = model_folder(source) if source else default_model(workdir)
        command = json.loads(args.round_command) if args.round_command else [
            sys.executable, str(Path(__file__).resolve()), "--as-round", "--round-seconds", str(args.round_seconds)]
        config = render_config(restaurant_config().labels)
        tasks = [{"id": i, "data": {"text": " ".join(s.tokens)}} for i, s in enumerate(read_tsv(TEST))]
        env = {"NERLOOP_ROUND_COMMAND": json.dumps(command), "NERLOOP_RETRAIN_EVERY": "0",
               "NERLOOP_LOG_DIR": str(workdir / "logs")}
        out: dict = {"per_request": args.per_request, "errors": [], "latencies": [], "versions": set()}
        with Server.start(model_dir, workdir, env) as server:
            stop = threading.Event()
            threads = [threading.Thread(target=client, args=(server.url, PROJECT, tasks[k * 37:], config, stop, out))
                       for k in range(args.clients)]
            health: list[float] = []
            health_failures: list[str] = []
            threads.append(threading.Thread(target=probe_health, args=(server, stop, health, health_failures)))
            began = time.monotonic()
            for thread in threads:
                thread.start()
            time.sleep(args.trigger_after)
            hook_began = time.perf_counter()
            hook = server.http.post(f"{server.url}/webhook",
                                    json={"action": "START_TRAINING", "project": {"id": PROJECT}})
            hook_ms = (time.perf_counter() - hook_began) * 1000
            time.sleep(max(0.0, args.seconds - args.trigger_after))
            stop.set()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - began
            rounds = {name: metric(server, f"nerloop_rounds_{name}_total") for name in ("started", "succeeded",
                                                                                          "failed")}
        logs = sorted((workdir / "logs").glob("*.log"))
        report = {"machine": host, "clients": args.clients, "seconds": round(elapsed, 1),
                  "per_request": args.per_request,
                  "requests": len(out["latencies"]), "requests_per_s": round(len(out["latencies"]) / elapsed, 1),
                  "tasks_per_s": round(len(out["latencies"]) * args.per_request / elapsed, 1),
                  "errors": len(out["errors"]), "error_samples": out["errors"][:5],
                  "latency_ms": percentiles(out["latencies"]), "health_latency_ms": percentiles(health),
                  "health_failures": len(health_failures),
                  "webhook": hook.json(), "webhook_ms": round(hook_ms, 1), "rounds": rounds,
                  "round_log_tail": logs[-1].read_text()[-300:] if logs else None,
                  "model_versions_seen": sorted(out["versions"])}
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
