"""Does alignment predict cross-lingual transfer? (Gaschi et al., Findings of ACL 2023)

Each point is one model x language x seed of a results file:

* **x** -- the word-retrieval accuracy of that run at one hidden state
  (``alignment_{mode}_{direction}_L{k}`` rows, at one stage, by default after fine-tuning;
  ``direction = mean`` averages ``fwd`` and ``bwd``);
* **y** -- the relative transfer gap ``(score[target] - score[en]) / score[en]`` of the same
  run on the task's primary metric (0 = no loss against English).

Spearman's rho, its two-sided permutation p-value and a 95% percentile bootstrap
confidence interval (2,000 paired resamples of the points, seeded) are reported for all
points pooled and per model. Up to 8 points the p-value is exact (every pairing
enumerated): scipy's t approximation is badly wrong there -- with 5 perfectly ranked points it
reports p ~ 1e-24 where the exact answer is 2/5! = 0.017. Above 8 points it is scipy's.
"""

from __future__ import annotations

import inspect
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from alignfreeze.errors import AlignfreezeError
from alignfreeze.finetune.tasks import PRIMARY_METRICS
from alignfreeze.metric_names import parse_alignment_metric
from alignfreeze.schema import method_label

EXACT_P_MAX_POINTS = 8  # 8! = 40,320 pairings, enumerated in well under a second


@dataclass
class Correlation:
    group: str  # "pooled" or a model name
    n: int
    rho: float
    p_value: float
    ci_low: float
    ci_high: float


def _layer_for(available: set[int], layer: str | int) -> int:
    top = max(available)
    if layer == "last":
        return top
    if layer == "penultimate":
        return top - 1
    k = int(layer)
    if k not in available:
        raise AlignfreezeError(f"no alignment rows at hidden state {k} (found {min(available)}..{top})")
    return k


#: What :func:`correlation_points` selects by; their defaults are :func:`correlate`'s.
POINT_SELECTION = ("layer", "mode", "direction", "stage", "method", "metric")


def correlation_points(rows: Sequence[dict], task: str, source_language: str = "en", **selection) -> list[dict]:
    """``[{model, language, seed, x, y}]`` from long-format result rows (see the module
    docstring); ``selection`` holds any of :data:`POINT_SELECTION`, as :func:`correlate` takes
    them and with its defaults."""
    unknown = set(selection) - set(POINT_SELECTION)
    if unknown:
        raise TypeError(f"correlation_points: unknown selection {sorted(unknown)} (use {', '.join(POINT_SELECTION)})")
    defaults = inspect.signature(correlate).parameters
    layer, mode, direction, stage, method, metric = (
        selection.get(name, defaults[name].default) for name in POINT_SELECTION
    )
    metric = metric or PRIMARY_METRICS.get(task)
    rows = [r for r in rows if r["task"] == task]
    if not rows:
        raise AlignfreezeError(f"no {task} rows in the results")
    labels = sorted({method_label(r) for r in rows})
    rows = [r for r in rows if method_label(r) == method]
    if not rows:
        raise AlignfreezeError(f"no {task} rows of method {method!r} (found: {', '.join(labels)})")
    scores: dict[tuple, dict[str, float]] = defaultdict(dict)
    alignment: dict[tuple, dict[tuple[int, str], float]] = defaultdict(dict)
    for r in rows:
        key = (r["model"], int(r["seed"]), r["run_id"])
        found = parse_alignment_metric(r["metric"])
        if found:
            if found[0] == mode and r.get("stage", "finetuned") == stage:
                alignment[(*key, r["language"])][(found[2], found[1])] = float(r["value"])
        elif r["metric"] == metric:
            scores[key][r["language"]] = float(r["value"])
    if not alignment:
        raise AlignfreezeError(
            f"no {mode} alignment rows at stage {stage!r} for method {method!r}: run the experiment "
            "with analysis.alignment: true"
        )
    points, seen = [], set()
    for (model, seed, run_id, language), values in sorted(alignment.items()):
        if language == source_language:
            continue
        by_run = scores.get((model, seed, run_id), {})
        if source_language not in by_run or language not in by_run:
            continue
        k = _layer_for({layer_ for layer_, _ in values}, layer)
        directions = ("fwd", "bwd") if direction == "mean" else (direction,)
        if any((k, d) not in values for d in directions):
            continue
        x = float(np.mean([values[(k, d)] for d in directions]))
        base = by_run[source_language]
        if base == 0:
            raise AlignfreezeError(
                f"{model} seed {seed}: the {source_language} score is 0, the relative gap is undefined"
            )
        if (model, language, seed) in seen:
            raise AlignfreezeError(
                f"several runs of {model}, {language}, seed {seed} for method {method!r}; "
                "give one results file per experiment or a more specific --method"
            )
        seen.add((model, language, seed))
        points.append(
            {
                "model": model,
                "language": language,
                "seed": seed,
                "layer": k,
                "x": x,
                "y": (by_run[language] - base) / base,
            }
        )
    if not points:
        raise AlignfreezeError(
            f"no run has both alignment rows and {metric} on {source_language} and a target language"
        )
    return points


def spearman_with_ci(
    x: Sequence[float], y: Sequence[float], n_resamples: int = 2000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float, float, float]:
    """``(rho, p_value, ci_low, ci_high)``; the CI is the percentile interval of rho over
    paired bootstrap resamples (resamples where rho is undefined -- constant x or y -- are
    skipped)."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3:
        return math.nan, math.nan, math.nan, math.nan
    result = spearmanr(x, y)
    rng = np.random.default_rng(seed)
    exact = len(x) <= EXACT_P_MAX_POINTS and not math.isnan(result.statistic)
    p_value = spearman_exact_p(x, y) if exact else float(result.pvalue)
    draws = rng.integers(0, len(x), size=(n_resamples, len(x)))
    rhos = []
    for idx in draws:
        xs, ys = x[idx], y[idx]
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            continue
        rhos.append(spearmanr(xs, ys).statistic)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(rhos, [alpha, 1 - alpha]) if rhos else (math.nan, math.nan)
    return float(result.statistic), p_value, float(low), float(high)


def spearman_exact_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided p-value of Spearman's rho over all ``n!`` pairings of x and y."""
    from scipy.stats import permutation_test, rankdata

    rx, ry = rankdata(x), rankdata(y)
    rx = (rx - rx.mean()) / np.linalg.norm(rx - rx.mean())

    def rho(y_ranks, axis=-1):  # Pearson correlation of the ranks, over the last axis
        centred = y_ranks - y_ranks.mean(axis=axis, keepdims=True)
        return (centred * rx).sum(axis=axis) / np.linalg.norm(centred, axis=axis)

    n_pairings = math.factorial(len(ry))
    result = permutation_test((ry,), rho, permutation_type="pairings", vectorized=True, n_resamples=n_pairings)
    return float(result.pvalue)


def correlate_points(points: Sequence[dict], n_resamples: int = 2000, seed: int = 0) -> list[Correlation]:
    """Pooled, then one line per model (when there are several)."""
    groups = [("pooled", list(points))]
    models = sorted({p["model"] for p in points})
    if len(models) > 1:
        groups += [(m, [p for p in points if p["model"] == m]) for m in models]
    out = []
    for name, group in groups:
        rho, p, low, high = spearman_with_ci([q["x"] for q in group], [q["y"] for q in group], n_resamples, seed)
        out.append(Correlation(name, len(group), rho, p, low, high))
    return out


def correlation_tables(results: Sequence[Correlation]) -> dict[str, str]:
    """The same table as markdown and CSV."""
    fmt = lambda v: "" if math.isnan(v) else f"{v:.3f}"  # noqa: E731
    md = ["| group | points | Spearman ρ | p-value | 95% CI |", "|---|---:|---:|---:|---|"]
    csv_lines = ["group,n,rho,p_value,ci_low,ci_high"]
    for c in results:
        p = "" if math.isnan(c.p_value) else f"{c.p_value:.2g}"
        md.append(f"| {c.group} | {c.n} | {fmt(c.rho)} | {p} | [{fmt(c.ci_low)}, {fmt(c.ci_high)}] |")
        csv_lines.append(f"{c.group},{c.n},{c.rho!r},{c.p_value!r},{c.ci_low!r},{c.ci_high!r}")
    return {"md": "\n".join(md) + "\n", "csv": "\n".join(csv_lines) + "\n"}


def as_json(results: Sequence[Correlation], points: Sequence[dict], settings: dict) -> dict:
    clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
    return {
        "settings": settings,
        "correlations": [{k: clean(v) for k, v in asdict(c).items()} for c in results],
        "points": list(points),
    }


def correlate(
    rows: Sequence[dict],
    *,
    task: str,
    layer: str | int = "last",
    mode: str = "strong",
    direction: str = "mean",
    stage: str = "finetuned",
    method: str = "baseline",
    metric: str | None = None,
    resamples: int = 2000,
    seed: int = 0,
    out=None,
) -> tuple[list[Correlation], list[dict]]:
    """Spearman correlation between word-level alignment at one layer and cross-lingual
    transfer, as in Gaschi et al. (ACL Findings 2023): one point per model x language x seed
    of ``method``'s runs, x = retrieval accuracy (``mode``, ``direction``: fwd, bwd or the mean
    of both, measured at ``stage``), y = the relative transfer gap (target - source) / source
    on the task's metric. Pooled and per model, with a 95% paired-bootstrap interval
    (``resamples``) and an exact p-value up to 8 points.

    Args:
        rows: long-format results holding ``alignment_*`` rows (runs with ``analysis.alignment``).
        task: pos, ner, nli or qa.
        layer: ``last``, ``penultimate`` or a hidden-state index.
        out: a folder to write ``correlation.{md,csv,json,png}`` to (optional).

    Returns:
        ``(correlations, points)``: pooled first, then per model.

    Example::

        stats, points = af.correlate(af.read_results(["runs/demo"]), task="pos", out="correlation/")
        stats[0].rho, stats[0].p_value
    """
    import json
    from pathlib import Path

    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.fileio import atomic_write_text

    for name, value, allowed in (
        ("mode", mode, ("weak", "strong")),
        ("direction", direction, ("fwd", "bwd", "mean")),
        ("stage", stage, ("initial", "realigned", "finetuned")),
    ):
        if value not in allowed:
            raise AlignfreezeError(f"{name} {value!r}: use {', '.join(allowed[:-1])} or {allowed[-1]}")
    if str(layer) not in ("last", "penultimate") and not str(layer).isdigit():
        raise AlignfreezeError(f"layer {layer!r}: use last, penultimate or a hidden-state index (0, 1, ...)")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise AlignfreezeError(f"resamples {resamples!r}: use 1 or more bootstrap resamples")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise AlignfreezeError(f"seed {seed!r}: use a seed of 0 or more")
    points = correlation_points(
        rows, task, layer=layer, mode=mode, direction=direction, stage=stage, method=method, metric=metric
    )
    stats = correlate_points(points, resamples, seed)
    if out is not None:
        from alignfreeze.analysis.plots import plot_scatter

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        settings = {
            "task": task,
            "layer": layer,
            "mode": mode,
            "direction": direction,
            "stage": stage,
            "method": method,
            "metric": metric,
            "resamples": resamples,
            "seed": seed,
        }
        tables = correlation_tables(stats)
        atomic_write_text(out / "correlation.md", tables["md"])
        atomic_write_text(out / "correlation.csv", tables["csv"])
        atomic_write_text(out / "correlation.json", json.dumps(as_json(stats, points, settings), indent=2) + "\n")
        layers = sorted({p["layer"] for p in points})
        plot_scatter(
            points,
            out / "correlation.png",
            f"{mode} alignment ({direction}), hidden state {'/'.join(map(str, layers))}, {stage}",
            f"relative transfer gap ({task})",
            title=f"ρ = {stats[0].rho:.2f} (n = {stats[0].n})",
        )
    return stats, points
