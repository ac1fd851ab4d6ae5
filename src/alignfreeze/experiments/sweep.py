"""The downstream side of a freeze sweep (:mod:`alignfreeze.analysis.sweep`): the same
``bottom:k`` freezes run as ``before`` realignment + fine-tuning, and each one's mean
zero-shot score."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Sequence

from alignfreeze.analysis.sweep import freeze_for
from alignfreeze.experiments.config import ExperimentConfig, MethodSpec
from alignfreeze.finetune.tasks import PRIMARY_METRICS


def downstream_experiment(experiment: ExperimentConfig, ks: Sequence[int], with_embeddings: bool) -> ExperimentConfig:
    """The experiment with its methods replaced by baseline + ``before`` at each ``bottom:k``."""
    methods = [MethodSpec(method="baseline")] + [
        MethodSpec(method="before", freeze=freeze_for(k, with_embeddings)) for k in ks
    ]
    return experiment.model_copy(update={"methods": methods})


def downstream_scores(
    rows: Sequence[dict], ks: Sequence[int], with_embeddings: bool, source_language: str
) -> dict[int, float]:
    """Mean zero-shot primary score x100 (over target languages and seeds) per ``k``."""
    by_freeze: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["method"] == "before" and r["language"] != source_language and r["metric"] == PRIMARY_METRICS[r["task"]]:
            by_freeze[r["freeze"]].append(100 * float(r["value"]))
    return {k: sum(v) / len(v) for k in ks if (v := by_freeze.get(freeze_for(k, with_embeddings)))}


def sweep_downstream(
    experiment: ExperimentConfig, ks: Sequence[int], with_embeddings: bool, out_dir: str | Path, data_dir=None
) -> dict[int, float]:
    """The downstream side of a freeze sweep: run, or resume, ``experiment`` with baseline +
    ``before`` realignment at every ``bottom:k`` freeze into ``out_dir``, and return the mean
    zero-shot score (x100, primary metric, over target languages and seeds) of each ``k``.

    Example::

        scores = af.sweep_downstream(af.load_experiment("configs/demo.yaml"), [0, 6, 12], False, "sweep/downstream")
    """
    from alignfreeze.experiments.runner import run_experiment

    outcomes = run_experiment(downstream_experiment(experiment, ks, with_embeddings), out_dir, data_dir)
    rows = [row for outcome in outcomes for row in outcome.rows]
    return downstream_scores(rows, ks, with_embeddings, experiment.train[0].language)
