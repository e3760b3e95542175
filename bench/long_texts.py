"""Long-text benchmark: MIT Restaurant sentences joined into documents (30 sentences, about 270 words: the length of
a restaurant review), so every document is longer than the model window (64 sub-tokens by default, or 128). Prints
one JSON document.

(1) for each training size, a model trained on the train documents, scored on the test documents, against a model
    trained on the same sentences one by one and scored on the test sentences (the gap in F1 points);
(2) (largest size) the sentence-trained model scored on the test documents (windowed, as served), and with the
    truncation evaluation used before (words past the first window tagged ``O``), for reference;
(3) whether evaluation (``training.evaluate``) and ``/predict`` give the same entities on the documents;
(4) ``/predict`` throughput in words per second on the test documents vs the same words as sentences.

    python bench/long_texts.py                               # MiniLM, 2 epochs, 2,000 and 3,000 train sentences
    python bench/long_texts.py --train-sentences 300 --test-sentences 150 --epochs 1   # smoke run

Both models see every labelled word once per epoch. The documents are trained ``--document-batch-size`` windows
a step (default: 256 sub-tokens' worth, 4 windows of 64 or 2 of 128), the sentences ``--batch-size`` (16, about 210
sub-tokens) a step, so both get about the same sub-tokens per step.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from converters.corpus import Sentence, decode_entities, read_tsv
from converters.tokens import tokenize
from labeling_config import render_config, restaurant_config
from nerloop.demo import MIT_DIR
from store.settings import MINILM_ALIAS, TrainSettings
from training.base_model import resolve_base_model
from training.evaluate import evaluate_model, load_model, predict_tags
from training.fine_tune import fine_tune
from training.metrics import score_predictions
from training.split_files import carve_validation

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for bench.output when run as ``python bench/<name>.py``
from bench.output import load_average, machine, print_report, quiet_logs  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-model", default=MINILM_ALIAS, help="hub id, local folder, or 'minilm'")
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--train-sentences", default="2000,3000",
                        help="the first N MIT train sentences; several sizes, comma-separated, give one comparison "
                             "each (parts 2-4 use the largest)")
    parser.add_argument("--test-sentences", type=int, default=None, help="the first N MIT test sentences (all)")
    parser.add_argument("--per-document", type=int, default=30, help="sentences joined into one document")
    parser.add_argument("--separator", default="", help="a token (tagged O) put between the joined sentences, e.g. "
                                                        "'.' as a review's sentences end; default: none")
    parser.add_argument("--batch-size", type=int, default=16, help="sentences per step (sentence model)")
    parser.add_argument("--document-batch-size", type=int, default=None,
                        help="windows per step (document model; default 256 sub-tokens' worth)")
    parser.add_argument("--document-max-length", type=int, default=None,
                        help="the document model's window in sub-tokens (default: the settings' 64)")
    parser.add_argument("--no-serving", action="store_true", help="skip parts 3 and 4 (the served document model)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None, help="default: bench/results/long-texts-<model>-<device>")
    return parser.parse_args(argv)


def join_documents(sentences: list[Sentence], per_document: int, separator: str = "") -> list[Sentence]:
    """Consecutive sentences joined into documents of ``per_document`` sentences (the last may be shorter), with
    ``separator`` (tagged O) after each sentence but the last when given."""
    groups = [sentences[i:i + per_document] for i in range(0, len(sentences), per_document)]
    end = ((separator,), ("O",)) if separator else ((), ())
    documents = []
    for n, group in enumerate(groups):
        words = [w for i, s in enumerate(group) for w in s.tokens + (end[0] if i < len(group) - 1 else ())]
        tags = [t for i, s in enumerate(group) for t in s.tags + (end[1] if i < len(group) - 1 else ())]
        documents.append(Sentence(tuple(words), tuple(tags), f"document {n}"))
    return documents


def phase(text: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} {text}\n")
    sys.stderr.flush()


def train(train_set: list[Sentence], validation: list[Sentence], settings: TrainSettings, folder: Path,
          config) -> tuple[Path, dict]:
    phase(f"training on {len(train_set)} texts ({folder.name})")
    result = fine_tune(train_set, validation, config=config, settings=settings, output_dir=folder,
                       base_source=resolve_base_model(settings.base_model))
    return result.model_dir, {"train_s": round(result.seconds, 1), "steps": result.steps,
                              "best_validation_f1": result.best_f1, "batch_size": settings.batch_size,
                              "windows": result.windows.as_dict() if result.windows else None}


def f1(model_dir: Path, sentences: list[Sentence], config) -> dict:
    phase(f"evaluating {model_dir.parent.name} on {len(sentences)} texts")
    started = time.perf_counter()
    evaluation = evaluate_model(model_dir, sentences, config)
    return {"f1_micro": round(evaluation.micro.f1, 4), "f1_by_entity": {k: round(v, 4) for k, v in
                                                                      evaluation.f1_by_label().items()},
            "eval_s": round(time.perf_counter() - started, 1)}


def truncated_f1(model_dir: Path, sentences: list[Sentence], config) -> float:
    """The evaluation before windows: only the words inside the first window are tagged, the rest ``O``."""
    classifier = load_model(model_dir)
    room = classifier.room
    cut = []
    for sentence in sentences:
        word_ids = classifier.tokenizer(list(sentence.tokens), is_split_into_words=True,
                                        add_special_tokens=False).word_ids()
        cut.append(len({w for w in word_ids[:room] if w is not None}))
    tags = classifier.tag([list(s.tokens[:n]) for s, n in zip(sentences, cut, strict=True)])
    padded = [t + ("O",) * (len(s.tokens) - len(t)) for s, t in zip(sentences, tags, strict=True)]
    return round(score_predictions(sentences, padded, sorted(config.labels)).micro.f1, 4)


class Served:
    """``model_dir`` served as project 1's round by a real backend process (bench/predict.py's ``Server``)."""

    def __init__(self, model_dir: Path, work: Path) -> None:
        from bench.predict import Server

        (work / "served").mkdir()
        self.server = Server.start(model_dir, work / "served", {})
        self.config = render_config(sorted(restaurant_config().labels))

    def predict(self, texts: list[str]) -> list[dict]:
        return self.server.predict([{"id": i, "data": {"text": t}} for i, t in enumerate(texts)], self.config)

    def close(self) -> None:
        self.server.stop()


def agreement(served: Served, model_dir: Path, texts: list[str]) -> dict:
    """Entities from /predict against entities decoded from evaluation's tags, on the backend's own word split."""
    words = [tokenize(text) for text in texts]
    sentences = [Sentence(tuple(w.text for w in ws), ("O",) * len(ws)) for ws in words]
    tags = predict_tags(load_model(model_dir), sentences)
    expected = [[(ws[e.start].start, ws[e.end - 1].end, e.label) for e in decode_entities(t)]
                for ws, t in zip(words, tags, strict=True)]
    results = [r for i in range(0, len(texts), 10) for r in served.predict(texts[i:i + 10])]
    found = [[(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in result["result"]]
             for result in results]
    return {"texts": len(texts), "texts_identical": sum(a == b for a, b in zip(expected, found, strict=True)),
            "entities_predict": sum(map(len, found)), "entities_evaluation": sum(map(len, expected))}


def throughput(served: Served, texts: list[str], per_request: int, repeat: int = 2) -> dict:
    words = sum(len(t.split()) for t in texts)
    served.predict(texts[:per_request])  # warm up
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for i in range(0, len(texts), per_request):
            served.predict(texts[i:i + per_request])
        best = min(best, time.perf_counter() - started)
    return {"texts": len(texts), "words": words, "per_request": per_request, "seconds": round(best, 2),
            "words_per_s": round(words / best, 1)}


def run(args: argparse.Namespace) -> dict:
    config = restaurant_config()
    load_at_start = load_average()
    sizes = sorted(int(n) for n in str(args.train_sentences).split(","))
    everything = read_tsv(MIT_DIR / "train.bio", tags=config.tags)
    test = read_tsv(MIT_DIR / "test.bio", tags=config.tags)[:args.test_sentences]
    test_docs = join_documents(test, args.per_document, args.separator)
    base = {"base_model": args.base_model, "epochs": args.epochs, "seed": args.seed, "device": args.device}
    report: dict = {**base, "per_document": args.per_document, "separator": args.separator,
                    "test": {"sentences": len(test), "documents": len(test_docs), "mean_document_words":
                             round(sum(len(d.tokens) for d in test_docs) / len(test_docs), 1)},
                    "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="nerloop-long-") as work_name:
        work = Path(work_name)
        for size in sizes:
            train_sentences, validation_sentences = carve_validation(everything[:size], 0.1, seed=args.seed)
            train_docs = join_documents(train_sentences, args.per_document, args.separator)
            validation_docs = join_documents(validation_sentences, args.per_document, args.separator)
            part: dict = {"data": {"train_sentences": len(train_sentences),
                                   "validation_sentences": len(validation_sentences),
                                   "train_documents": len(train_docs)}}
            docs_model, part["document_model"] = train(
                train_docs, validation_docs, TrainSettings(**base, batch_size=document_batch_size(args),
                                                           max_length=document_max_length(args)),
                work / f"documents-{size}", config)
            sents_model, part["sentence_model"] = train(
                train_sentences, validation_sentences, TrainSettings(**base, batch_size=args.batch_size),
                work / f"sentences-{size}", config)
            part["1_documents_model_on_test_documents"] = f1(docs_model, test_docs, config)
            part["1_sentence_model_on_test_sentences"] = f1(sents_model, test, config)
            part["1_gap_points"] = round(100 * (part["1_sentence_model_on_test_sentences"]["f1_micro"]
                                                - part["1_documents_model_on_test_documents"]["f1_micro"]), 2)
            report["sizes"][str(size)] = part
            phase(f"{size} sentences: gap {part['1_gap_points']} points")
        part["2_sentence_model_on_test_documents"] = f1(sents_model, test_docs, config)
        part["2_sentence_model_on_test_documents_truncated_f1"] = truncated_f1(sents_model, test_docs, config)
        report["gaps_points"] = {size: each["1_gap_points"] for size, each in report["sizes"].items()}
        if args.no_serving:
            return {**report, "machine": finished_machine(load_at_start)}
        doc_texts, sentence_texts = [" ".join(d.tokens) for d in test_docs], [" ".join(s.tokens) for s in test]
        phase("serving the document model")
        served = Served(docs_model.resolve(), work)
        try:
            part["3_evaluation_vs_predict_documents"] = agreement(served, docs_model, doc_texts)
            part["4_predict_documents"] = throughput(served, doc_texts, per_request=5)
            part["4_predict_sentences"] = throughput(served, sentence_texts, per_request=150)
        finally:
            served.close()
    report["machine"] = finished_machine(load_at_start)
    return report


def document_max_length(args: argparse.Namespace) -> int:
    return args.document_max_length or TrainSettings().max_length


def document_batch_size(args: argparse.Namespace) -> int:
    """Windows a step: as asked, or as many as make 256 sub-tokens (2 windows of 128, 4 of 64)."""
    return args.document_batch_size or max(1, 256 // document_max_length(args))


def finished_machine(load_at_start: list[float]) -> dict:
    return {**machine(load_at_start), "load_average_at_end": load_average()}


def main(argv: list[str] | None = None) -> int:
    quiet_logs()
    args = parse_args(argv)
    started = time.perf_counter()
    report = run(args)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    device = "cuda" if report["machine"]["gpu"] and args.device != "cpu" else "cpu"
    print_report(report, args.out or RESULTS / f"long-texts-{args.base_model.replace('/', '_')}-{device}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
