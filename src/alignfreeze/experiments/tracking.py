"""Experiment trackers for runs (``tracking: tensorboard | wandb | mlflow``), through
accelerate's tracker classes, so that a run shows up where the researcher already looks.

Each run is one tracker run named by its run id (a grid on Ray logs each run under its
own id, from the worker that runs it). What is logged:

* the resolved run config, flattened (``realignment.temperature``...), at the start;
* ``realign/loss`` and ``realign/learning_rate`` per realignment step, then
  ``finetune/loss`` and ``finetune/learning_rate`` per fine-tuning optimiser step;
* ``score/<language>/<metric>`` per evaluated language (step 0);
* ``alignment/<stage>/<language>/<metric>`` when alignment is measured, with the layer as
  the step, so that each curve is a line over layers.

``tensorboard`` writes event files under ``<out>/tracking/<run_id>/``; ``wandb`` and
``mlflow`` follow their own settings (``WANDB_PROJECT``, ``MLFLOW_TRACKING_URI``...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alignfreeze.errors import AlignfreezeError
from alignfreeze.metric_names import alignment_series, parse_alignment_metric

#: Each tracker needs the package of the same name.
TRACKERS = ("tensorboard", "wandb", "mlflow")
#: The x axis of each section's curves, as a key logged with them on wandb.
_WANDB_AXES = {
    "realign": "realign/step",
    "finetune": "finetune/step",
    "alignment": "alignment/layer",
    "language_weights": "language_weights/batch",
}


def flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"a.b": value}`` with scalar values (lists become text): what
    trackers accept as hyperparameters."""
    if isinstance(values, dict):
        out: dict[str, Any] = {}
        for key, value in values.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    key = prefix.rstrip(".")
    if values is None or isinstance(values, (bool, int, float, str)):
        return {key: values if values is not None else "none"}
    return {key: str(values)}


class RunTracker:
    """One run's tracker: ``log_config``, ``log_losses``, ``log_scores``, ``log_alignment``,
    then ``finish``. ``kind="none"`` makes every call a no-op."""

    def __init__(self, kind: str, run_id: str, out_dir: str | Path, experiment: str = "alignfreeze"):
        self.kind = kind
        self.tracker = None
        if kind == "none":
            return
        if kind not in TRACKERS:
            raise AlignfreezeError(f"unknown tracker {kind!r} (allowed: none, {', '.join(TRACKERS)})")
        import importlib.util

        if importlib.util.find_spec(kind) is None:
            raise AlignfreezeError(f"tracking: {kind} needs the {kind!r} package (pip install {kind})")
        from accelerate import PartialState
        from accelerate.tracking import MLflowTracker, TensorBoardTracker, WandBTracker

        # accelerate's trackers log through its logger, which refuses to run before the process
        # state exists; wandb's (run on every process) does not create it, and a run's tracker
        # starts before the run makes its Accelerator.
        PartialState()

        if kind == "tensorboard":
            self.tracker = TensorBoardTracker(run_id, Path(out_dir) / "tracking")
        elif kind == "wandb":
            self.tracker = WandBTracker(experiment, name=run_id)
        else:
            self.tracker = MLflowTracker(experiment_name=experiment, run_name=run_id)
        if hasattr(self.tracker, "start"):  # accelerate >= 1.x starts lazily; older versions in __init__
            self.tracker.start()
        if kind == "wandb":
            # wandb's own step only increases, and it drops a row logged at an earlier one; a run
            # logs realignment steps, then fine-tuning steps from 1 again, then layers. So each
            # section carries its own step key, declared as the x axis of the section's curves.
            for section, axis in _WANDB_AXES.items():
                self.tracker.run.define_metric(axis, hidden=True)
                self.tracker.run.define_metric(f"{section}/*", step_metric=axis)

    def _log(self, values: dict[str, float], step: int, axis: str | None) -> None:
        """``values`` at ``step``; ``axis``: the key under which wandb records the step
        (one of ``_WANDB_AXES``, or None for values logged once)."""
        if self.kind == "wandb":
            self.tracker.log({**values, axis: step} if axis else values)
        else:
            self.tracker.log(values, step=step)

    def log_config(self, config: dict) -> None:
        if self.tracker is not None:
            self.tracker.store_init_configuration(flatten(config))

    def log_losses(self, stage: str, first_step: int, losses: list[float], rates: list[float]) -> None:
        """Per-step ``<stage>/loss`` and ``<stage>/learning_rate`` (``realign``, ``finetune``)."""
        if self.tracker is None:
            return
        for offset, (loss, rate) in enumerate(zip(losses, rates)):
            self._log({f"{stage}/loss": loss, f"{stage}/learning_rate": rate}, first_step + offset, f"{stage}/step")

    def log_language_weights(self, records: list[dict]) -> None:
        """The language weighting's probabilities over time, ``language_weights/<pair>`` at
        each record's batch (``realignment.language_weighting``)."""
        if self.tracker is None:
            return
        for record in records:
            values = {f"language_weights/{pair}": p for pair, p in record["probabilities"].items()}
            self._log(values, int(record["batch"]), _WANDB_AXES["language_weights"])

    def log_rows(self, rows: list[dict]) -> None:
        """Result rows (long format): task scores as ``score/<language>/<metric>``, alignment
        as ``alignment/<stage>/<language>/<metric>`` over the layer."""
        if self.tracker is None:
            return
        scores: dict[str, float] = {}
        curves: dict[int, dict[str, float]] = {}
        for row in rows:
            alignment = parse_alignment_metric(row["metric"])
            if alignment:  # one curve per mode and direction, over the layers
                mode, direction, layer = alignment
                key = f"alignment/{row['stage']}/{row['language']}/{alignment_series(mode, direction)}"
                curves.setdefault(layer, {})[key] = float(row["value"])
            elif row["stage"] == "finetuned":
                scores[f"score/{row['language']}/{row['metric']}"] = float(row["value"])
            elif row["stage"] == "run":
                scores[f"run/{row['metric']}"] = float(row["value"])
        if scores:
            self._log(scores, 0, None)
        for layer, values in sorted(curves.items()):
            self._log(values, layer, _WANDB_AXES["alignment"])

    def finish(self) -> None:
        if self.tracker is not None:
            self.tracker.finish()
            self.tracker = None
