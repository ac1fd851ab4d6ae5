"""The names every stage shares: the tasks, the methods, and the long-format results rows.

Tasks and methods are string enums: they compare equal to their names (``Method.BEFORE ==
"before"``), print as them, and are stored as them in configs and results files.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class _Name(str, Enum):
    """A string enum that prints and formats as its value."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class TaskName(_Name):
    """The four tasks of the AlignFreeze evaluation: ``pos`` (UD), ``ner`` (WikiANN / PAN-X),
    ``nli`` (XNLI) and ``qa`` (XQuAD).

    Example::

        [task.value for task in af.TaskName]      # ['pos', 'ner', 'nli', 'qa']
    """

    POS = "pos"  # part-of-speech tagging (UD)
    NER = "ner"  # named entities (WikiANN / PAN-X)
    NLI = "nli"  # natural-language inference (XNLI)
    QA = "qa"  # extractive question answering (SQuAD, XQuAD)


class Method(_Name):
    """When realignment happens relative to fine-tuning: ``baseline`` (never), ``before``,
    ``during`` (a joint loss) or ``before+during`` (Gaschi et al., 2023; Bakos, Gaschi et al.,
    2025). ``realigns_before`` / ``realigns_during`` say which stages a method has.

    Example::

        af.Method("before+during").realigns_during    # True
    """

    BASELINE = "baseline"  # fine-tuning only
    BEFORE = "before"  # realign, then fine-tune
    DURING = "during"  # add the realignment loss to fine-tuning
    BEFORE_DURING = "before+during"

    @property
    def realigns_before(self) -> bool:
        return self in (Method.BEFORE, Method.BEFORE_DURING)

    @property
    def realigns_during(self) -> bool:
        return self in (Method.DURING, Method.BEFORE_DURING)


#: Columns of ``results.csv`` (long format: one row per run, language, stage and metric).
COLUMNS = ("run_id", "model", "task", "method", "aligner", "freeze", "seed", "language", "stage", "metric", "value")
#: When a value was measured: on the pretrained model, after realignment, after fine-tuning;
#: ``run``: a count of the whole run, on language ``all`` (:data:`RUN_METRICS`).
STAGES = ("initial", "realigned", "finetuned", "run")
#: Run-level metrics (stage ``run``, language ``all``): sentence pairs realignment drew, and
#: how many of them were distinct (the released CSVs' ``repeated_realignment_samples`` and
#: ``distinct_realignment_samples``).
RUN_METRICS = ("realignment_pairs_drawn", "realignment_pairs_distinct")
#: Values of the columns that files written before them lack.
DEFAULTS = {"stage": "finetuned"}


def normalise_row(row: dict) -> dict:
    """Fill the columns older files lack (see :data:`DEFAULTS`)."""
    if all(k in row for k in DEFAULTS):
        return row
    return {**DEFAULTS, **row}


def method_label(row: dict) -> str:
    """A row's method as tables show it: ``baseline``, ``before/front/dictionary``, or for a
    baseline with layers frozen in fine-tuning ``baseline/front@finetuning``."""
    if row["method"] == "baseline":
        # A baseline's freeze matters only when held in fine-tuning, which its text then says
        # (``front@finetuning``); any other freeze a row names for a baseline never applied.
        freeze = str(row.get("freeze", ""))
        return f"baseline/{freeze}" if "@" in freeze else "baseline"
    return f"{row['method']}/{row['freeze']}/{row['aligner']}"


#: ``Field(..., json_schema_extra=NEUTRAL_AT_DEFAULT)`` marks a setting added after run ids
#: were published: at its default it stays out of a run's id (:func:`identity_values`), so
#: the runs written before it existed keep their ids; set to anything else, it is part of it.
NEUTRAL_AT_DEFAULT = {"neutral_at_default": True}


def added_setting(default: Any, **field: Any) -> Any:
    """``Field(default, **field)`` marked :data:`NEUTRAL_AT_DEFAULT`: a setting added after run
    ids were published (at its default, out of a run's id)."""
    from pydantic import Field

    return Field(default, json_schema_extra=NEUTRAL_AT_DEFAULT, **field)


def identity_values(model, values: dict) -> dict:
    """``values`` (``model.model_dump(mode="json")``) without the settings marked
    :data:`NEUTRAL_AT_DEFAULT` that are at their default, in ``model`` and every config
    nested in it."""
    from pydantic import BaseModel

    out = dict(values)
    for name, info in type(model).model_fields.items():
        if name not in out:
            continue
        value = getattr(model, name)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if (
            extra.get("neutral_at_default")
            and not info.is_required()
            and value == info.get_default(call_default_factory=True)
        ):
            del out[name]
        elif isinstance(value, BaseModel) and isinstance(out[name], dict):
            out[name] = identity_values(value, out[name])
        elif isinstance(value, list) and isinstance(out[name], list) and len(value) == len(out[name]):
            out[name] = [
                identity_values(v, o) if isinstance(v, BaseModel) and isinstance(o, dict) else o
                for v, o in zip(value, out[name])
            ]
    return out
