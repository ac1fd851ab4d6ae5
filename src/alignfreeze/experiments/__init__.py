"""Experiments: typed run configs, the resumable runner, long-format results."""

from alignfreeze.experiments.config import ExperimentConfig, RunConfig, load_experiment
from alignfreeze.experiments.results import reconcile
from alignfreeze.experiments.runner import execute_run, run_experiment
from alignfreeze.schema import COLUMNS

__all__ = ["COLUMNS", "ExperimentConfig", "RunConfig", "execute_run", "load_experiment", "reconcile", "run_experiment"]
