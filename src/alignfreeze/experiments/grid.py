"""Grid configs: an experiment file in which any setting may be a list of values.

A grid file is an experiment file (:class:`ExperimentConfig`) where

* any field that normally holds one value -- ``task``, ``aligner``, ``realignment.steps``,
  ``training.learning_rate``, a method's ``freeze`` or ``aligner`` ... -- may hold a list:
  each list is an axis, and the grid is the cartesian product of all axes;
* a field that is a list already (``models``, ``methods``, ``seeds``, ``eval_languages``,
  ``realignment_pairs``, ...) keeps its meaning; give a list of lists to make it an axis
  (``eval_languages: [[fr, de], [zh]]``); inside a mapping such a field holds (a
  ``realignment_languages`` selection), lists are axes as anywhere
  (``realignment_languages: {select: most_distant, n: [10, 40]}``);
* ``resources: {num_cpus: 1, num_gpus: 0}`` is what each run asks of a Ray cluster;
* ``exclude`` lists partial matches: a run is dropped when every key of one entry equals
  the run's value (dotted keys reach nested fields: ``realignment.steps: 100``; a list
  value matches any of its items).

Runs that resolve to the same config (a baseline crossed with freeze specs, say) share a
run id and are kept once.
"""

from __future__ import annotations

import copy
import itertools
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.config import (
    ExperimentConfig,
    MethodSpec,
    RunConfig,
    models_from_model,
    read_config_mapping,
    validation_message,
)


def _is_list_type(annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin is list:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list_type(a) for a in typing.get_args(annotation) if a is not type(None))
    return False


def _model_type(annotation) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _axes(data: dict, schema: type[BaseModel], prefix: tuple = ()) -> list[tuple[tuple, list]]:
    """``[(path, values)]`` of every grid axis in ``data`` (see the module docstring)."""
    axes = []
    for key, value in data.items():
        field = schema.model_fields.get(key)
        if field is None:
            continue  # unknown keys are reported by the model's own validation
        path = (*prefix, key)
        nested = _model_type(field.annotation)
        if _is_list_type(field.annotation):
            if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
                axes.append((path, value))
            elif nested is not None and isinstance(value, dict):  # realignment_languages: {n: [10, 40]}
                axes.extend(_axes(value, nested, path))
        elif isinstance(value, list):
            axes.append((path, value))
        elif nested is not None and isinstance(value, dict):
            axes.extend(_axes(value, nested, path))
    return axes


def _set(data: dict, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _expand_methods(methods: list) -> list:
    """A method entry whose fields hold lists becomes one entry per combination."""
    out = []
    for entry in methods:
        if not isinstance(entry, dict):
            out.append(entry)
            continue
        keys = [k for k, v in entry.items() if isinstance(v, list) and k in MethodSpec.model_fields]
        for combo in itertools.product(*(entry[k] for k in keys)):
            out.append({**entry, **dict(zip(keys, combo))})
    return out


def _flat(run: RunConfig) -> dict:
    out: dict[str, Any] = {}

    def walk(value, prefix):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{prefix}.{k}" if prefix else k)
        else:
            out[prefix] = value

    walk(run.model_dump(mode="json"), "")
    out["aligner"] = run.aligner_name  # `aligner: eflomal` matches whatever its settings
    return out


def _matches(run_values: dict, pattern: dict) -> bool:
    for key, wanted in pattern.items():
        if key not in run_values:
            raise AlignfreezeError(
                f"exclude: {key!r} is not a run setting (e.g. model, task, method, freeze, aligner, "
                "seed, realignment.steps)"
            )
        options = wanted if isinstance(wanted, list) else [wanted]
        if run_values[key] not in options and str(run_values[key]) not in map(str, options):
            return False
    return True


def expand_grid(data: dict, source: str = "") -> list[RunConfig]:
    """The runs of a grid mapping, expanded, excluded and de-duplicated, in a stable order."""
    data = dict(data)
    exclude = data.pop("exclude", []) or []
    if not isinstance(exclude, list) or not all(isinstance(e, dict) for e in exclude):
        raise AlignfreezeError(f"invalid grid{f' in {source}' if source else ''}: exclude must be a list of mappings")
    try:
        data = models_from_model(data)  # before the axes are read: `model: [a, b]` is the models list
    except ValueError as exc:
        raise AlignfreezeError(f"invalid grid{f' in {source}' if source else ''}: {exc}") from None
    if isinstance(data.get("methods"), list):
        data["methods"] = _expand_methods(data["methods"])
    axes = _axes(data, ExperimentConfig)
    runs: dict[str, RunConfig] = {}
    for combo in itertools.product(*(values for _, values in axes)):
        cell = copy.deepcopy(data)
        for (path, _), value in zip(axes, combo):
            _set(cell, path, value)
        try:
            experiment = ExperimentConfig(**cell)
            cell_runs = experiment.runs()
        except ValidationError as exc:
            where = ", ".join(f"{'.'.join(p)}={v}" for (p, _), v in zip(axes, combo))
            raise AlignfreezeError(validation_message(exc, f"{source} ({where})" if where else source)) from None
        for run in cell_runs:
            if any(_matches(_flat(run), pattern) for pattern in exclude):
                continue
            runs.setdefault(run.run_id, run)
    if not runs:
        raise AlignfreezeError(f"the grid{f' in {source}' if source else ''} has no run left after exclude")
    return list(runs.values())


def load_grid(path: str | Path, overrides: list[str] | None = None):
    """A grid (or plain experiment) file as ``(name, runs, resources)``: every setting that is
    a list is an axis, and the runs are the cartesian product minus the ``exclude`` patterns.
    ``resources`` (``num_cpus``, ``num_gpus`` per run) places runs on a Ray cluster; it is not
    part of any run's identity.

    Example::

        name, runs, resources = af.load_grid("configs/grid-demo.yaml", ["seeds=[0]"])
        summary = af.run_grid(runs, f"runs/{name}", resources=resources)
    """
    from alignfreeze.experiments.grid_runner import Resources

    data = read_config_mapping(path, overrides)
    resources = Resources.parse(data.pop("resources", None))
    return str(data.get("name", Path(path).stem)), expand_grid(data, str(path)), resources
