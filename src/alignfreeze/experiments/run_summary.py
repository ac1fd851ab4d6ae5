"""The per-language summary `alignfreeze run` prints: each method's mean over seeds and its
difference to the baseline (the full report, `alignfreeze report`, is :mod:`alignfreeze.experiments.full_report`)."""

from __future__ import annotations

from collections import defaultdict
from statistics import mean

from alignfreeze.finetune.tasks import PRIMARY_METRICS
from alignfreeze.schema import method_label


def summary_by_language(rows: list[dict], metric_by_task: dict[str, str] | None = None):
    """``(languages, methods, {(language, method): (mean x100, delta to baseline or None)})``
    on each task's primary metric (PoS/NER/NLI accuracy, QA F1), averaged over seeds: the
    table ``alignfreeze run`` prints.

    Example::

        languages, methods, cells = af.summary_by_language(af.read_results(["runs/demo"]))
        cells[("fr", "before/front/dictionary")]
    """
    metric_by_task = {**PRIMARY_METRICS, **(metric_by_task or {})}
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in rows:
        if row["metric"] == metric_by_task.get(row["task"]) and row.get("stage", "finetuned") == "finetuned":
            values[(row["language"], method_label(row))].append(float(row["value"]) * 100)
    languages = sorted({lang for lang, _ in values}, key=lambda lang: (lang != "en", lang))
    methods = sorted({m for _, m in values}, key=lambda m: (m != "baseline", m))
    cells = {}
    for (language, method), vals in values.items():
        m = mean(vals)
        base = values.get((language, "baseline"))
        delta = None if method == "baseline" or not base else m - mean(base)
        cells[(language, method)] = (m, delta)
    return languages, methods, cells
