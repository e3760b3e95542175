"""Label-error benchmark: plant seeded errors in MIT Restaurant train, run the finder (k-fold out-of-sample
probabilities + cleanlab), and measure precision and recall of its top N, N = the number of planted errors.

Planted errors (5 % of the sentences with an entity, seeded): an entity's type swapped for another label, an
entity deleted (its words set to O), or a multi-word entity cut short by its last word. The corpus's own real
errors compete for the top places, so precision at N is a floor. Prints one JSON document.

    python bench/label_errors.py --folds 2 --epochs 3              # about 6-10 minutes on 2 CPU cores
    python bench/label_errors.py --folds 5 --epochs 3 --out bench/results/label-errors-minilm-k5.json
    python bench/label_errors.py --corrupt 0 --top 20               # the real errors of the uncorrupted corpus
    python bench/label_errors.py --limit 300 --epochs 1 --folds 2   # smoke run

Several mixes of planted kinds and seeds in one run, with a table of precision at N for each:

    python bench/label_errors.py --mix uniform --mix swap=3,delete=1,cut=1 --mix swap=1,delete=3,cut=1 \
        --mix swap=1,delete=1,cut=3 --seed 0 --cache /tmp/label-errors
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

from converters.corpus import Entity, Sentence, encode_tags, read_tsv
from labeling_config import LabelConfig, restaurant_config
from nerloop.demo import MIT_DIR
from quality.folds import out_of_sample_probs
from quality.label_issues import rank_sentences
from store.settings import MINILM_ALIAS, TrainSettings

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for bench.output when run as ``python bench/<name>.py``
from bench.output import load_average, print_report, quiet_logs  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-model", default=MINILM_ALIAS)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--corrupt", type=float, default=0.05, help="fraction of sentences to corrupt")
    parser.add_argument("--seed", default="0", help="seed of the planted errors; several, comma-separated, run one "
                                                    "after another")
    parser.add_argument("--mix", action="append", default=None,
                        help="how planted errors are drawn: 'uniform' (each kind the target allows, equally; the "
                             "default), or weights such as 'swap=3,delete=1,cut=1'; repeat for several mixes")
    parser.add_argument("--limit", type=int, default=None, help="only the first N training sentences")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--top", type=int, default=10, help="findings to list in the output")
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder of pickled out-of-sample probabilities, one per mix and seed: written after "
                             "training, read if present (rescoring without retraining)")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


KINDS = ("swap", "delete", "cut")


def parse_mix(text: str) -> dict[str, float]:
    """``uniform`` or ``swap=3,delete=1,cut=1`` → a weight per kind (a kind left out weighs 0)."""
    if text == "uniform":
        return dict.fromkeys(KINDS, 1.0)
    weights = dict.fromkeys(KINDS, 0.0)
    for part in text.split(","):
        kind, _, value = part.partition("=")
        if kind.strip() not in weights:
            raise SystemExit(f"--mix {text!r}: unknown kind {kind!r}; expected {', '.join(KINDS)}")
        weights[kind.strip()] = float(value)
    return weights


def corrupt(sentences: list[Sentence], config: LabelConfig, fraction: float, seed: int,
            mix: dict[str, float] | None = None) -> tuple[list[Sentence], dict[int, str]]:
    """The sentences with ``fraction`` of them corrupted, and what was done to each corrupted index; each error's
    kind is drawn with the ``mix`` weights among the kinds its entity allows (a cut needs two words)."""
    mix = mix or dict.fromkeys(KINDS, 1.0)
    rng = random.Random(seed)
    candidates = [i for i, s in enumerate(sentences) if s.entities]
    chosen = sorted(rng.sample(candidates, round(fraction * len(sentences))))
    out, planted = list(sentences), {}
    for i in chosen:
        sentence = sentences[i]
        entities = list(sentence.entities)
        k = rng.randrange(len(entities))
        target = entities[k]
        kinds = [k for k in KINDS if mix[k] > 0 and (k != "cut" or target.end - target.start > 1)]
        kinds = kinds or [k for k in ("swap", "delete") if mix[k] > 0]
        weights = [mix[k] for k in kinds]
        # equal weights draw as the bench always has (rng.choice), so earlier figures stay reproducible
        kind = rng.choice(kinds) if len(set(weights)) == 1 else rng.choices(kinds, weights=weights)[0]
        if kind == "swap":
            other = rng.choice([label for label in config.labels if label != target.label])
            entities[k] = Entity(other, target.start, target.end)
        elif kind == "delete":
            del entities[k]
        else:
            entities[k] = Entity(target.label, target.start, target.end - 1)
        out[i] = Sentence(sentence.tokens, encode_tags(len(sentence.tokens), entities), sentence.source)
        planted[i] = f"{kind} {target.label} [{target.start},{target.end})"
    return out, planted


def cleanlab_plain(sentences: list[Sentence], probs: list[np.ndarray], config: LabelConfig) -> list[int]:
    """The plain baseline: cleanlab's defaults on IOB2 tags, the minimum over all words, no merging."""
    from cleanlab.token_classification.rank import get_label_quality_scores

    labels = [[config.tags.index(t) for t in s.tags] for s in sentences]
    scores, _ = get_label_quality_scores(labels, probs)
    return [int(i) for i in np.argsort(scores, kind="stable")]


def precision_recall(order: list[int], planted: dict[int, str]) -> dict:
    n = len(planted)
    top = set(order[:n])
    hits = sum(1 for i in top if i in planted)
    return {"precision_at_n": round(hits / n, 4) if n else 0.0, "recall_at_n": round(hits / n, 4) if n else 0.0,
            "hits": hits, "hits_by_kind": {kind: sum(1 for i, what in planted.items() if i in top
                                                     and what.startswith(kind)) for kind in ("swap", "delete", "cut")}}


def run(args: argparse.Namespace, mix: str, seed: int) -> dict:
    import torch

    config = restaurant_config()
    clean = read_tsv(MIT_DIR / "train.bio", tags=config.tags)[: args.limit]
    sentences, planted = corrupt(clean, config, args.corrupt, seed, parse_mix(mix))
    settings = TrainSettings(base_model=args.base_model, epochs=args.epochs, seed=42, num_threads=args.threads)
    cache = args.cache / f"{mix.replace(',', '_').replace('=', '')}-seed{seed}.pkl" if args.cache else None
    if cache and cache.exists():
        cached = pickle.loads(cache.read_bytes())
        probs, train_seconds, load = cached["probs"], cached["seconds"], cached.get("load_average")
    else:
        result = out_of_sample_probs(sentences, config, settings, folds=args.folds, seed=seed,
                                     say=lambda msg: print(msg, file=sys.stderr, flush=True))
        probs, train_seconds, load = list(result.probs), result.seconds, load_average()
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(pickle.dumps({"probs": probs, "seconds": train_seconds, "load_average": load}))
    started = time.perf_counter()
    ranked = rank_sentences(sentences, probs, config)
    rank_seconds = time.perf_counter() - started
    variants = {"fused (default)": [q.index for q in ranked],
                "rank fusion (before)": [q.index for q in rank_sentences(sentences, probs, config, scoring="ranks")],
                "entities (plain view, whole-entity means)": [
                    q.index for q in rank_sentences(sentences, probs, config, scoring="entities")],
                "all words": [q.index for q in rank_sentences(sentences, probs, config, scoring="all")],
                "plain cleanlab (IOB2 tags, all words)": cleanlab_plain(sentences, probs, config)}
    top = [{"sentence": q.index, "score": round(q.score, 4), "text": sentences[q.index].text,
            "planted": planted.get(q.index),
            "words": [f"{w.word}: {w.annotated} -> {w.predicted}" for w in q.words]} for q in ranked[: args.top]]
    return {
        "base_model": args.base_model, "folds": args.folds, "epochs": args.epochs, "seed": seed, "mix": mix,
        "sentences": len(sentences), "corrupted": len(planted),
        "planted_kinds": {k: sum(v.startswith(k) for v in planted.values()) for k in ("swap", "delete", "cut")},
        "scoring": {name: precision_recall(order, planted) for name, order in variants.items()} if planted else None,
        "flagged_by_cleanlab": sum(q.flagged for q in ranked),
        "wall_seconds": {"folds": round(train_seconds, 1), "ranking": round(rank_seconds, 1)},
        "top": top,
        "machine": {"cpu_count": os.cpu_count(), "load_average_after_training": load,
                    "platform": platform.platform(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(),
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
    }


def precision_table(runs: list[dict]) -> dict:
    """Precision at N of each scoring, by mix and seed, and its lowest over the runs."""
    rows = {f"{r['mix']} (seed {r['seed']}; {', '.join(f'{n} {k}' for k, n in r['planted_kinds'].items())})":
            {name: score["precision_at_n"] for name, score in r["scoring"].items()} for r in runs if r["scoring"]}
    names = next(iter(rows.values()), {})
    return {"by_run": rows, "lowest": {name: min(row[name] for row in rows.values()) for name in names}}


def main(argv: list[str] | None = None) -> int:
    quiet_logs(transformers_errors_only=True)
    args = parse_args(argv)
    runs = [run(args, mix, int(seed)) for mix in args.mix or ["uniform"] for seed in args.seed.split(",")]
    report = runs[0] if len(runs) == 1 else {"runs": runs, "precision_at_n": precision_table(runs)}
    print_report(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
