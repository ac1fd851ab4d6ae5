"""Experiments: typed run configs, the resumable runner, long-format results.

The configs load without torch; the runner loads on first use (:mod:`alignfreeze.lazy`)."""

from typing import TYPE_CHECKING

from alignfreeze.experiments.config import ExperimentConfig, RunConfig, load_experiment
from alignfreeze.experiments.results import reconcile
from alignfreeze.lazy import lazy_names
from alignfreeze.schema import COLUMNS

if TYPE_CHECKING:
    from alignfreeze.experiments.runner import execute_run, run_experiment

__all__ = ["COLUMNS", "ExperimentConfig", "RunConfig", "execute_run", "load_experiment", "reconcile", "run_experiment"]

__getattr__ = lazy_names(__name__, {"alignfreeze.experiments.runner": ["execute_run", "run_experiment"]})
