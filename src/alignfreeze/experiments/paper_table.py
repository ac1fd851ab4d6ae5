"""The AlignFreeze paper table, computed from long-format results.

One row per (model, task, method), on each task's metric (PoS, NER and NLI accuracy, QA F1
by default):

* **Average**: the mean over target languages of the per-language mean over seeds, x100.
* **#↓ / #↑** (AlignFreeze's rule): per language, the mean and the population standard
  deviation (ddof=0) over seeds, x100, each rounded to 0.1; a language counts ↓ when the
  method's rounded mean is strictly below the rounded baseline mean minus the rounded
  baseline standard deviation, and ↑ when strictly above the mean plus the deviation.
  Rounding follows the authors' table notebook (``scripts/2025_naacl/analysis/tables.ipynb``
  at commit 471e84d, deleted later; cells 0 and 4): ``np.mean`` and ``np.std`` of the
  fractions, times 100, printed with ``.1f`` and read back. ``.1f`` rounds the binary value
  half to even, so 77.25 becomes 77.2 and 77.05 (stored as 77.04999...) 77.0;
  ``rounding="half_up"`` rounds the decimal half up instead (77.3, 77.1).
  The source language (English, ``en``), in-language rows (``same``) and per-run average
  rows (``avg``) are not target languages. (The notebook also left Russian out of its XNLI
  counts: pass ``source_languages=("en", "ru")`` to reproduce them.)
* **Released average**: when the results hold ``avg`` rows (imported reference results),
  the mean over seeds of each run's own average, x100, beside ours.
* **Totals**: #↓/#↑ of each method summed over models, per task and over all tasks.
* **Significance** (beyond the paper): per language, Welch's t-test of the method's seeds
  against the baseline's, Holm-corrected across the languages of the row; significant
  (adjusted p < 0.05) ups and downs are counted. Languages with fewer than two seeds on
  either side are never significant.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.reference import reference_method
from alignfreeze.finetune.tasks import PRIMARY_METRICS
from alignfreeze.schema import method_label

NOT_TARGETS = {"avg", "same"}
TASK_ORDER = ("pos", "ner", "nli", "qa")


ROUNDINGS = ("format", "half_up")


def round1(value: float, rounding: str = "format") -> float:
    """One decimal. ``format``: ``float(f"{value:.1f}")``, the notebook's (half to even on
    the binary value); ``half_up``: the decimal ``repr`` rounded half away from zero."""
    if rounding == "format":
        return float(f"{value:.1f}")
    if rounding != "half_up":
        raise AlignfreezeError(f"unknown rounding {rounding!r} (allowed: {', '.join(ROUNDINGS)})")
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and is not counted)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


@dataclass
class LanguageCell:
    fractions: list[float]  # one per seed, as stored (0..1)

    @property
    def values(self) -> list[float]:
        return [100 * v for v in self.fractions]

    @property
    def mean(self) -> float:
        """x100, computed as the notebook does: the mean of the fractions, times 100."""
        return float(np.mean(self.fractions)) * 100

    @property
    def std(self) -> float:
        return float(np.std(self.fractions, ddof=0)) * 100


@dataclass
class TableRow:
    model: str
    task: str
    method: str
    freeze: str
    aligner: str
    metric: str
    mean: float  # Average, x100 (unrounded)
    std: float  # population std over seeds of the per-seed average over languages, x100
    n_languages: int
    n_seeds: int
    n_down: int | None = None
    n_up: int | None = None
    sig_down: int | None = None
    sig_up: int | None = None
    languages: dict[str, LanguageCell] = field(default_factory=dict)
    released_mean: float | None = None  # x100: mean over seeds of the runs' own "avg" rows, when present
    #: Mean over seeds of the distinct sentence pairs realignment drew (stage "run" rows), when recorded.
    distinct_pairs: float | None = None

    @property
    def label(self) -> str:
        return method_label(vars(self))


@dataclass
class Total:
    task: str  # a task, or "all"
    method: str
    n_down: int
    n_up: int


def _metric_rows(rows: Sequence[dict], metrics: dict[str, str]) -> list[dict]:
    out = []
    for r in rows:
        if r.get("stage", "finetuned") != "finetuned":
            continue
        if r["metric"] == metrics.get(r["task"], PRIMARY_METRICS.get(r["task"])):
            out.append(r)
    return out


def paper_table(
    rows: Sequence[dict],
    baseline: str = "baseline",
    metrics: dict[str, str] | None = None,
    source_languages: Sequence[str] = ("en",),
    alpha: float = 0.05,
    rounding: str = "format",
) -> tuple[list[TableRow], list[Total]]:
    """The AlignFreeze paper's results table (Bakos, Gaschi et al., NAACL 2025) for results
    rows, as the authors' notebook computes it: per model, task and method, the average over
    target languages, and the number of languages where the method's mean over seeds is more
    than one baseline standard deviation below (#down) or above (#up) the baseline's; totals
    per method, and Welch t-tests with Holm correction (see the module docstring).

    Args:
        rows: long-format results.
        baseline: the method label compared against.
        metrics: task -> metric, over each task's primary metric.
        source_languages: languages left out of the averages and counts.
        alpha: the significance level.
        rounding: ``format`` (the notebook's ``.1f``) or ``half_up``.

    Returns:
        ``(rows of the table, totals)``.

    Example::

        table, totals = af.paper_table(af.read_results(["paper-results.csv"]))
        [(r.label, r.average, r.down, r.up) for r in table if r.task == "pos"]
    """
    from scipy.stats import ttest_ind

    round1(0.0, rounding)  # an unknown rounding fails before any work
    metrics = {**PRIMARY_METRICS, **(metrics or {})}
    skip = set(source_languages) | NOT_TARGETS
    cells: dict[tuple, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    identity: dict[tuple, dict] = {}
    per_seed: dict[tuple, dict[int, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    released: dict[tuple, list[float]] = defaultdict(list)
    distinct: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        if r.get("stage") == "run" and r["metric"] == "realignment_pairs_distinct":
            distinct[(r["model"], r["task"], method_label(r))].append(float(r["value"]))
    for r in _metric_rows(rows, metrics):
        key = (r["model"], r["task"], method_label(r))
        if r["language"] == "avg":
            released[key].append(float(r["value"]))
        if r["language"] in skip:
            continue
        seed = int(r["seed"])
        if seed in cells[key][r["language"]]:
            raise AlignfreezeError(
                f"two values for {key[0]}, {key[1]}, {key[2]}, {r['language']}, seed {seed} "
                "(the same run in two results files?)"
            )
        value = float(r["value"])
        cells[key][r["language"]][seed] = value
        per_seed[key][seed][r["language"]] = 100 * value
        identity[key] = {"method": r["method"], "freeze": r["freeze"], "aligner": r["aligner"], "metric": r["metric"]}
    if not cells:
        raise AlignfreezeError(
            "no result rows with the tasks' metrics on a target language "
            f"(metrics: {', '.join(f'{t}={m}' for t, m in metrics.items())})"
        )
    table = []
    for key in sorted(
        cells, key=lambda k: (k[0], TASK_ORDER.index(k[1]) if k[1] in TASK_ORDER else 9, k[2] != baseline, k[2])
    ):
        model, task, label = key
        languages = {
            lang: LanguageCell([v for _, v in sorted(seeds.items())]) for lang, seeds in sorted(cells[key].items())
        }
        seed_averages = [np.mean(list(values.values())) for _, values in sorted(per_seed[key].items())]
        row = TableRow(
            model,
            task,
            identity[key]["method"],
            identity[key]["freeze"],
            identity[key]["aligner"],
            identity[key]["metric"],
            float(np.mean([c.mean for c in languages.values()])),
            float(np.std(seed_averages, ddof=0)),
            len(languages),
            max(len(c.values) for c in languages.values()),
            languages=languages,
            released_mean=float(np.mean(released[key])) * 100 if released.get(key) else None,
            distinct_pairs=float(np.mean(distinct[key])) if distinct.get(key) else None,
        )
        base = cells.get((model, task, baseline))
        if base is not None and label != baseline:
            down = up = 0
            p_values, signs = [], []
            for lang, cell in languages.items():
                if lang not in base:
                    continue
                ref = LanguageCell(list(base[lang].values()))
                m, bm, bs = round1(cell.mean, rounding), round1(ref.mean, rounding), round1(ref.std, rounding)
                down += m < bm - bs
                up += m > bm + bs
                if (
                    len(cell.values) >= 2
                    and len(ref.values) >= 2
                    and (np.ptp(cell.values) > 0 or np.ptp(ref.values) > 0)
                ):
                    with warnings.catch_warnings():  # seeds with identical scores on one side are expected
                        warnings.simplefilter("ignore", RuntimeWarning)
                        p_values.append(float(ttest_ind(cell.values, ref.values, equal_var=False).pvalue))
                else:
                    p_values.append(math.nan)
                signs.append(cell.mean - ref.mean)
            adjusted = holm(p_values)
            row.n_down, row.n_up = int(down), int(up)
            row.sig_down = sum(1 for p, s in zip(adjusted, signs) if not math.isnan(p) and p < alpha and s < 0)
            row.sig_up = sum(1 for p, s in zip(adjusted, signs) if not math.isnan(p) and p < alpha and s > 0)
        table.append(row)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in table:
        if row.n_down is None:
            continue
        for task in (row.task, "all"):
            totals[(task, row.label)][0] += row.n_down
            totals[(task, row.label)][1] += row.n_up
    total_rows = [
        Total(task, label, d, u)
        for (task, label), (d, u) in sorted(
            totals.items(),
            key=lambda kv: (kv[0][0] == "all", TASK_ORDER.index(kv[0][0]) if kv[0][0] in TASK_ORDER else 9, kv[0][1]),
        )
    ]
    return table, total_rows


def table_json(table: Sequence[TableRow], totals: Sequence[Total]) -> list[dict]:
    """``{model, task, method, freeze, aligner, metric, mean, std, n_down, n_up, n_languages,
    n_seeds}`` per row (plus the significance counts), then the totals with ``model: "total"``."""
    out = []
    for r in table:
        out.append(
            {
                "model": r.model,
                "task": r.task,
                "method": r.method,
                "freeze": r.freeze,
                "aligner": r.aligner,
                "metric": r.metric,
                "mean": round(r.mean, 4),
                "std": round(r.std, 4),
                "n_down": r.n_down,
                "n_up": r.n_up,
                "n_languages": r.n_languages,
                "n_seeds": r.n_seeds,
                "n_significant_down": r.sig_down,
                "n_significant_up": r.sig_up,
                "released_mean": None if r.released_mean is None else round(r.released_mean, 4),
                "distinct_pairs": None if r.distinct_pairs is None else round(r.distinct_pairs, 1),
                "reference_method": reference_method(r.method, r.freeze, r.aligner),
                "languages": {
                    lang: {"mean": round(c.mean, 4), "std": round(c.std, 4), "n": len(c.values)}
                    for lang, c in r.languages.items()
                },
            }
        )
    for t in totals:
        method, freeze, aligner = (
            (t.method.split("/") + ["", ""])[:3] if t.method != "baseline" else ("baseline", "none", "none")
        )
        out.append(
            {
                "model": "total",
                "task": t.task,
                "method": method,
                "freeze": freeze,
                "aligner": aligner,
                "metric": None,
                "mean": None,
                "std": None,
                "n_down": t.n_down,
                "n_up": t.n_up,
                "n_languages": None,
                "n_seeds": None,
            }
        )
    return out
