"""nerloop against its peer, spaCy's efficiency NER pipeline (what a Prodigy user trains), in one run on one
machine: the same MIT Restaurant split, the same test tokens, the same seqeval, and throughput on the same
sentences. Prints one JSON document and a Markdown table (stderr).

    .venv/bin/python bench/peer.py                      # trains both (about 15 minutes on 2 cores)
    .venv/bin/python bench/peer.py --round DIR          # a trained nerloop model (a round or model folder)
    .venv/bin/python bench/peer.py --limit 300 --test-limit 200 --epochs 1 --spacy-epochs 1   # smoke run

spaCy (``pip install 'spacy>=3.8,<3.9'``, no vectors, nothing downloaded): ``init config -l en -p ner -o
efficiency``, trained on the seeded 90/10 split of MIT train that nerloop trains on, ``--spacy-epochs`` (20) with
patience 800 steps and batch 256, the best model on the validation split kept; its speed is ``nlp.pipe`` over the
pre-tokenized test sentences (no HTTP). nerloop: MiniLM fine-tuned by ``bench/accuracy.py`` (the training
settings' defaults), scored by the inference core; each runtime is served by a real uvicorn process and timed
through ``/predict`` over HTTP, ``--per-request`` tasks a request; its F1 is that of ``/predict``'s regions on the
test tokens. Every F1 comes with a 95 % bootstrap interval over test sentences.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import accuracy  # noqa: E402
from bench.output import load_average, print_report, quiet_logs  # noqa: E402
from bench.predict import Server, machine, model_folder  # noqa: E402
from converters.corpus import Entity, Sentence, encode_tags, read_tsv  # noqa: E402
from labeling_config import render_config, restaurant_config  # noqa: E402
from nerloop.demo import MIT_DIR  # noqa: E402
from store.settings import SharedSettings  # noqa: E402
from training.metrics import score_predictions  # noqa: E402
from training.split_files import carve_validation  # noqa: E402

RUNTIMES = {"torch": {}, "torch-bf16": {"NERLOOP_PRECISION": "bf16"}, "onnx": {"NERLOOP_RUNTIME": "onnx"},
            "onnx-int8": {"NERLOOP_RUNTIME": "onnx", "NERLOOP_ONNX_QUANTIZE": "true"}}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round", type=Path, default=None, help="a trained nerloop round or model folder")
    parser.add_argument("--epochs", type=float, default=3, help="nerloop training epochs")
    parser.add_argument("--spacy-epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--limit", type=int, default=None, help="the first N MIT train sentences (smoke)")
    parser.add_argument("--test-limit", type=int, default=None, help="the first N MIT test sentences")
    parser.add_argument("--speed-sentences", type=int, default=1000, help="test sentences timed")
    parser.add_argument("--per-request", type=int, default=100, help="tasks per /predict request")
    parser.add_argument("--batch-size", type=int, default=SharedSettings.model_fields["batch_size"].default,
                        help="model inputs per forward pass (NERLOOP_BATCH_SIZE)")
    parser.add_argument("--runtimes", default="torch,torch-bf16,onnx-int8",
                        help=f"served runtimes, of {', '.join(RUNTIMES)}")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes; the fastest counts")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    return parser.parse_args(argv)


def phase(text: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} {text}\n")
    sys.stderr.flush()


def scored(sentences: list[Sentence], predicted: list[list[str]], labels: list[str]) -> dict:
    """Micro F1 with its bootstrap interval, and macro F1."""
    evaluation = score_predictions(sentences, predicted, labels)
    low, high = evaluation.micro_f1_interval
    return {"f1_micro": round(evaluation.micro.f1, 4), "f1_interval": [round(low, 4), round(high, 4)],
            "f1_macro": round(evaluation.macro.f1, 4)}


def tags_from_entities(doc_ents: list[tuple[int, int, str]], length: int) -> list[str]:
    """spaCy's entities (token start, end, label) → IOB2 tags (``converters.corpus.encode_tags``)."""
    return list(encode_tags(length, (Entity(label, start, end) for start, end, label in doc_ents)))


def train_spacy(train: list[Sentence], validation: list[Sentence], args: argparse.Namespace, work: Path) -> dict:
    import spacy
    from spacy.cli.init_config import init_config
    from spacy.cli.train import train as spacy_train
    from spacy.tokens import Doc, DocBin

    blank = spacy.blank("en")
    for name, sentences in (("train", train), ("dev", validation)):
        docs = [Doc(blank.vocab, words=list(s.tokens), ents=list(s.tags)) for s in sentences]
        DocBin(docs=docs).to_disk(work / f"{name}.spacy")
    init_config(lang="en", pipeline=["ner"], optimize="efficiency", gpu=False).to_disk(work / "config.cfg")
    overrides = {"paths.train": str(work / "train.spacy"), "paths.dev": str(work / "dev.spacy"),
                 "training.max_epochs": args.spacy_epochs, "training.patience": 800, "nlp.batch_size": 256,
                 "training.seed": args.seed, "system.seed": args.seed}
    phase(f"training spaCy on {len(train)} sentences")
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # spaCy prints its training table to stdout
        spacy_train(work / "config.cfg", work / "spacy", overrides=overrides, use_gpu=-1)
    return {"train_s": round(time.perf_counter() - started, 1), "model": work / "spacy" / "model-best",
            "spacy": spacy.__version__}


def evaluate_spacy(model: Path, test: list[Sentence], speed: list[Sentence], args: argparse.Namespace,
                   labels: list[str]) -> dict:
    import spacy
    from spacy.tokens import Doc

    nlp = spacy.load(model)
    docs = nlp.pipe(Doc(nlp.vocab, words=list(s.tokens)) for s in test)
    predicted = [tags_from_entities([(e.start, e.end, e.label_) for e in doc.ents], len(doc)) for doc in docs]
    timed = [Doc(nlp.vocab, words=list(s.tokens)) for s in speed]
    list(nlp.pipe(timed[:100]))  # warm up
    best = float("inf")
    for _ in range(args.repeat):
        fresh = [Doc(nlp.vocab, words=[t.text for t in d]) for d in timed]
        started = time.perf_counter()
        list(nlp.pipe(fresh))
        best = min(best, time.perf_counter() - started)
    return {**scored(test, predicted, labels), "sentences_per_s": round(len(timed) / best, 1)}


def tags_from_regions(sentence: Sentence, result: list[dict]) -> list[str]:
    """Regions (character offsets into the tokens joined by spaces) → one tag per token: a token inside a region
    gets its label, ``B-`` where the region starts."""
    starts, position = [], 0
    for token in sentence.tokens:
        starts.append(position)
        position += len(token) + 1
    tags = ["O"] * len(sentence.tokens)
    for region in result:
        value = region["value"]
        inside = [i for i, s in enumerate(starts) if value["start"] <= s < value["end"]]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + value["labels"][0]
    return tags


def serve_and_score(model_dir: Path, name: str, test: list[Sentence], speed: list[Sentence],
                    args: argparse.Namespace, labels: list[str], work: Path) -> dict:
    config = render_config(labels)
    env = {**RUNTIMES[name], "NERLOOP_BATCH_SIZE": str(args.batch_size)}
    (work / name).mkdir()
    phase(f"serving nerloop ({name})")
    with Server.start(model_dir, work / name, env) as server:
        def tasks(sentences: list[Sentence]) -> list[dict]:
            return [{"id": i, "data": {"text": " ".join(s.tokens)}} for i, s in enumerate(sentences)]

        def predict_all(batch: list[dict]) -> list[dict]:
            return [r for i in range(0, len(batch), args.per_request)
                    for r in server.predict(batch[i:i + args.per_request], config)]

        predicted = [tags_from_regions(s, r["result"]) for s, r in zip(test, predict_all(tasks(test)), strict=True)]
        timed = tasks(speed)
        predict_all(timed[:args.per_request])  # warm up
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            predict_all(timed)
            best = min(best, time.perf_counter() - started)
    return {**scored(test, predicted, labels), "sentences_per_s": round(len(timed) / best, 1)}


def run(args: argparse.Namespace) -> dict:
    config = restaurant_config()
    labels = sorted(config.labels)
    sentences = read_tsv(MIT_DIR / "train.bio", tags=config.tags)[:args.limit]
    test = read_tsv(MIT_DIR / "test.bio", tags=config.tags)[:args.test_limit]
    speed = test[:args.speed_sentences]
    train, validation = carve_validation(sentences, 0.1, seed=args.seed)
    report: dict = {"machine": machine(), "sentences": {"train": len(train), "validation": len(validation),
                                                        "test": len(test), "timed": len(speed)},
                    "per_request": args.per_request, "batch_size": args.batch_size}
    with tempfile.TemporaryDirectory(prefix="nerloop-peer-") as work_name:
        work = Path(work_name)
        spacy_run = train_spacy(train, validation, args, work)
        phase("scoring spaCy")
        report["spacy"] = {**evaluate_spacy(spacy_run.pop("model"), test, speed, args, labels), **spacy_run}
        model_dir = args.round
        if model_dir is None:
            model_dir = work / "nerloop-model"
            phase(f"training nerloop (MiniLM, {args.epochs:g} epochs) on {len(train)} sentences")
            trained = accuracy.run(accuracy.parse_args(
                ["--epochs", str(args.epochs), "--seed", str(args.seed), "--save-model", str(model_dir)]
                + (["--limit", str(args.limit)] if args.limit else [])
                + (["--test-limit", str(args.test_limit)] if args.test_limit else [])))
            report["nerloop_training"] = {key: trained[key] for key in ("base_model", "epochs", "learning_rate",
                                                                        "batch_size", "train_steps", "f1_micro")}
            report["nerloop_training"]["train_s"] = trained["wall_seconds"]["train"]
        else:
            model_dir = model_folder(model_dir)
        report["model"] = str(args.round or "trained here")
        for name in args.runtimes.split(","):
            report[f"nerloop_{name}"] = serve_and_score(model_dir, name, test, speed, args, labels, work)
    report["machine"]["load_average_at_end"] = load_average()
    report["goals"] = goals(report)
    return report


def goals(report: dict) -> dict:
    """F1 ≥ 0.80 and at least the peer's sentences/s, met by one runtime (the same row)."""
    peer = report["spacy"]["sentences_per_s"]
    return {name: {"f1 >= 0.80": row["f1_micro"] >= 0.80, "sentences/s >= spaCy": row["sentences_per_s"] >= peer}
            for name, row in served(report).items()}


def served(report: dict) -> dict[str, dict]:
    """The runtimes served and timed, by name."""
    return {k.removeprefix("nerloop_"): v for k, v in report.items() if k.startswith("nerloop_")
            and "sentences_per_s" in v}


def table(report: dict) -> str:
    lines = ["| | F1 (95 % interval) | macro F1 | sentences/s | full training |", "|---|---|---|---|---|"]
    train_s = report.get("nerloop_training", {}).get("train_s")
    for key, title in [(f"nerloop_{name}", f"nerloop MiniLM, {name} `/predict`") for name in served(report)] + [
            ("spacy", "spaCy efficiency NER")]:
        row = report[key]
        low, high = row["f1_interval"]
        seconds = row.get("train_s") if key == "spacy" else train_s
        lines.append(f"| {title} | {row['f1_micro']:.4f} ({low:.4f}–{high:.4f}) | {row['f1_macro']:.4f} | "
                     f"{row['sentences_per_s']:,.1f} | {f'{seconds:.0f} s' if seconds else ''} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    quiet_logs()
    args = parse_args(argv)
    report = run(args)
    sys.stderr.write(table(report) + "\n")
    print_report(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
