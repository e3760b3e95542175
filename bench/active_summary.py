"""bench/active.py's figures from its rounds: the curves (mean and spread over seeds), the sentences and words
each strategy needs to reach the full-train F1 minus one point, the ratios against random, the area between each
strategy's curve and random's, and the plot."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Rows = Sequence[Mapping[str, Any]]


def summarize(done: Mapping[str, Rows], *, pool_size: int) -> dict[str, Any]:
    by_strategy: dict[str, dict[int, list[Mapping[str, Any]]]] = {}
    for rows in done.values():
        for row in rows:
            name = row["strategy"] + ("+warm" if "+warm" in row.get("job", "") else "")  # round 0 is cold
            by_strategy.setdefault(name, {}).setdefault(row["seed"], []).append(row)
    reference = [rows[0]["f1"] for rows in by_strategy.pop("reference", {}).values()]
    ref_f1 = statistics.fmean(reference) if reference else None
    target = None if ref_f1 is None else ref_f1 - 0.01
    curves = {name: curve(seeds) for name, seeds in by_strategy.items()}
    random_seeds = by_strategy.get("random", {})
    for name, found in curves.items():
        found["to_target"] = None if target is None else reach(found, target)
        found["area_over_random"] = area_over(by_strategy[name], random_seeds) if name != "random" else None
        found["area_over_random_by_words"] = (area_over(by_strategy[name], random_seeds, axis="words")
                                              if name != "random" else None)
    best = best_of(curves, "area_over_random")
    best_by_words = best_of(curves, "area_over_random_by_words")
    others = [name for name in curves if name != "random" and "+warm" not in name]
    job_seconds = sum(row["train_seconds"] + row["select_seconds"] for rows in done.values() for row in rows)
    return {"reference": {"f1_by_seed": reference, "f1_mean": ref_f1}, "target_f1": target, "curves": curves,
            "best": best, "best_by_words": best_by_words, "targets": targets(curves, best, pool_size),
            "targets_by_strategy": {name: targets(curves, name, pool_size) for name in others},
            "warm_start": warm_start(by_strategy), "job_seconds": round(job_seconds)}


def best_of(curves: Mapping[str, Any], key: str) -> str | None:
    """The strategy (not a warm-started run) with the largest mean area over random on ``key``."""
    ranked = sorted((n for n, c in curves.items() if c.get(key) is not None and "+warm" not in n),
                    key=lambda n: -curves[n][key]["mean"])
    return ranked[0] if ranked else None


def warm_start(by_strategy: Mapping[str, Mapping[int, Rows]]) -> dict[str, Any]:
    """Each warm-started strategy against its cold runs of the same seeds: F1 and training seconds per round (a
    warm round trains from the previous round's weights instead of the base model)."""
    out = {}
    for name, warm_seeds in by_strategy.items():
        cold_seeds = by_strategy.get(name.removesuffix("+warm"), {})
        seeds = sorted(set(warm_seeds) & set(cold_seeds))
        if not name.endswith("+warm") or not seeds:
            continue
        warm, cold = curve({k: warm_seeds[k] for k in seeds}), curve({k: cold_seeds[k] for k in seeds})
        pairs = list(zip(warm["points"], cold["points"], strict=False))
        out[name.removesuffix("+warm")] = {
            "seeds": seeds,
            "rounds": [{"sentences": w["sentences"], "f1_warm": w["f1_mean"], "f1_cold": c["f1_mean"],
                        "train_seconds_warm": w["train_seconds"], "train_seconds_cold": c["train_seconds"]}
                       for w, c in pairs],
            "f1_change_mean": round(statistics.fmean(w["f1_mean"] - c["f1_mean"] for w, c in pairs[1:]), 4)
            if len(pairs) > 1 else None}
    return out


def curve(seeds: Mapping[int, Rows]) -> dict[str, Any]:
    """Per labelled-set size: F1 mean/min/max over seeds, mean words, mean training and selection seconds."""
    sizes = sorted({row["sentences"] for rows in seeds.values() for row in rows})
    points = []
    for size in sizes:
        rows = [row for found in seeds.values() for row in found if row["sentences"] == size]
        f1 = [row["f1"] for row in rows]
        points.append({"sentences": size, "words": round(statistics.fmean(r["words"] for r in rows)),
                       "f1_mean": round(statistics.fmean(f1), 4), "f1_min": round(min(f1), 4),
                       "f1_max": round(max(f1), 4), "seeds": len(rows),
                       "train_seconds": round(statistics.fmean(r["train_seconds"] for r in rows), 1),
                       "select_seconds": round(statistics.fmean(r["select_seconds"] for r in rows), 1)})
    return {"points": points, "seeds": sorted(seeds)}


def reach(found: Mapping[str, Any], f1: float) -> dict[str, float] | None:
    """Sentences and words the mean curve needs to reach ``f1`` (linear between rounds), or None if it never does."""
    points = found["points"]
    for before, after in zip([None, *points], points, strict=False):
        if after["f1_mean"] >= f1:
            if before is None:
                return {"sentences": after["sentences"], "words": after["words"]}
            share = (f1 - before["f1_mean"]) / (after["f1_mean"] - before["f1_mean"])
            return {key: round(before[key] + share * (after[key] - before[key]), 1) for key in ("sentences", "words")}
    return None


def area_over(seeds: Mapping[int, Rows], random_seeds: Mapping[int, Rows], *,
              axis: str = "sentences") -> dict[str, float] | None:
    """The mean F1 gain over random across the labelled-set sizes (trapezoids, per seed): mean and spread. On the
    ``words`` axis random's F1 is interpolated at the strategy's word counts (the same seed), within random's range."""
    gains = []
    for seed, rows in seeds.items():
        ours = sorted(rows, key=lambda row: row["sentences"])
        theirs = sorted(random_seeds.get(seed, []), key=lambda row: row[axis])
        if axis == "sentences":
            other = {row["sentences"]: row["f1"] for row in theirs}
            pairs = [(row["sentences"], row["f1"] - other[row["sentences"]]) for row in ours
                     if row["sentences"] in other]
        else:
            xs, ys = [row[axis] for row in theirs], [row["f1"] for row in theirs]
            pairs = [(row[axis], row["f1"] - float(np.interp(row[axis], xs, ys))) for row in ours
                     if xs and xs[0] <= row[axis] <= xs[-1]]
        if len(pairs) < 2:
            continue
        total = sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in itertools.pairwise(pairs))
        gains.append(total / (pairs[-1][0] - pairs[0][0]))
    if not gains:
        return None
    return {"mean": round(statistics.fmean(gains), 4), "min": round(min(gains), 4), "max": round(max(gains), 4),
            "stdev": round(statistics.stdev(gains), 4) if len(gains) > 1 else 0.0, "seeds": len(gains)}


def targets(curves: Mapping[str, Any], best: str | None, pool_size: int) -> dict[str, Any]:
    """The issue's targets for the best strategy: target F1 within 30 % of the pool; random needing 1.5 times the
    sentences and 1.3 times the words (at the target F1, and at random's last F1)."""
    if best is None or "random" not in curves:
        return {}
    best_curve, random_curve = curves[best], curves["random"]
    best_reach, random_reach = best_curve["to_target"], random_curve["to_target"]
    out: dict[str, Any] = {"best": best, "best_to_target": best_reach, "random_to_target": random_reach,
                           "best_share_of_pool": None if best_reach is None
                           else round(best_reach["sentences"] / pool_size, 4)}
    if best_reach and random_reach:
        out["ratio_at_target"] = {k: round(random_reach[k] / best_reach[k], 2) for k in ("sentences", "words")}
    last = random_curve["points"][-1]
    matched = reach(best_curve, last["f1_mean"])
    if matched:
        out["ratio_at_random_final"] = {"f1": last["f1_mean"],
                                        **{k: round(last[k] / matched[k], 2) for k in ("sentences", "words")}}
    return out


def plot_curves(report: Mapping[str, Any], path: Path) -> None:
    """Two panels, F1 against sentences and against words annotated: mean per strategy, min-max band over seeds,
    the full-train reference and the target (reference minus one point) as dashed lines. The F1 axis starts just
    under the second round's lowest F1, where the strategies part (the random seed set's round sits below it); the
    loop's order (``inference.uncertainty.ORDER``) is drawn thicker."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from inference.uncertainty import ORDER

    curves = report["curves"]
    names = sorted(curves, key=lambda name: (name != "random", name))
    later = [p["f1_min"] for found in curves.values() for p in found["points"][1:]]
    bottom = max(0.0, math.floor(min(later, default=0.0) * 20) / 20 - 0.05)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), dpi=110, sharey=True)
    for ax, axis, label in ((axes[0], "sentences", "sentences annotated"), (axes[1], "words", "words annotated")):
        for name in names:
            points = curves[name]["points"]
            xs = [p[axis] for p in points]
            style: dict[str, Any] = {"linewidth": 2.6} if name == ORDER else {"linewidth": 1.2}
            if name == "random":
                style.update(color="black", linestyle="--")
            legend = f"{name} (nerloop's order)" if name == ORDER else name
            line = ax.plot(xs, [p["f1_mean"] for p in points], marker="o", markersize=3, label=legend, **style)[0]
            ax.fill_between(xs, [p["f1_min"] for p in points], [p["f1_max"] for p in points],
                            color=line.get_color(), alpha=0.12)
        if report.get("reference", {}).get("f1_mean") is not None:
            ax.axhline(report["reference"]["f1_mean"], color="grey", linestyle=":", linewidth=1,
                       label=f"full train ({report['pool']:,} sentences)")
            ax.axhline(report["target_f1"], color="grey", linestyle="-.", linewidth=1, label="full train - 1 point")
        ax.set_xlabel(label)
        ax.set_ylim(bottom=bottom)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test micro F1 (MIT Restaurant, 1,521 sentences)")
    axes[1].legend(loc="lower right", fontsize=8)
    seeds = sorted({len(found["seeds"]) for found in curves.values()})
    spread = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    first = curves[names[0]]["points"][0]
    below = (f"\n(the first round, {first['sentences']} random sentences, F1 {first['f1_mean']:.2f}, is below the axis)"
             if first["f1_mean"] < bottom else "")
    fig.suptitle(f"Active learning on MIT Restaurant with MiniLM: mean and min-max over {spread} seeds per strategy"
                 f"{below}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
