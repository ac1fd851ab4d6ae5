"""``alignfreeze import-reference``: the AlignFreeze paper's released result CSVs, converted
to our long format so that published numbers and new runs share one report.

Input: one row per run, with ``seed, model, task, method`` and metric columns
``eval_<lang>_<metric>`` and ``final_eval_<lang>_<metric>`` (``<lang>`` a two-letter code,
``same`` for English in-language, ``avg`` for the run's average; xquad has ``eval_``
columns only). Other columns (steps, learning rates...) are ignored.

* ``final_eval_`` is preferred and ``eval_`` is the fallback, per language and metric.
* ``same`` becomes ``en`` (unless the row also has ``en``, which then wins); ``avg`` is
  dropped: it is not a language, and the report computes its own average.
* Tasks: ``udpos`` -> ``pos``, ``wikiann``/``panx`` -> ``ner``, ``xnli`` -> ``nli``,
  ``xquad`` -> ``qa``; methods: see :data:`METHODS` and :func:`map_method`.
* Values must be fractions (0..1); anything else is refused with the file, line and column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Sequence

from alignfreeze.errors import AlignfreezeError, DataFormatError

TASKS = {"udpos": "pos", "pos": "pos", "wikiann": "ner", "panx": "ner", "pan-x": "ner", "ner": "ner", "xnli": "nli",
         "nli": "nli", "xquad": "qa", "qa": "qa"}  # fmt: skip
ALIGNERS = {"dico": "dictionary", "fastalign": "fastalign", "awesome": "awesome"}
COLUMN = re.compile(r"^(?P<prefix>final_eval|eval)_(?P<lang>[a-z]{2}|same|avg)_(?P<metric>[a-z_]+)$")
METRICS = ("accuracy", "f1", "precision", "recall", "exact_match")


def map_method(name: str) -> tuple[str, str, str]:
    """Reference method name -> ``(method, freeze, aligner)``.

    ``baseline``; ``before_<aligner>`` (dico, fastalign, awesome); ``during_<aligner>``;
    ``freeze_realign_unfreeze_<aligner>`` = before with ``front``;
    ``freeze_realign_unfreeze_last_half_<aligner>`` or ``..._last_<n>_<aligner>`` = before
    with ``back``."""
    if name == "baseline":
        return "baseline", "none", "none"
    found = re.fullmatch(r"(before|during|freeze_realign_unfreeze(?P<back>_last_half|_last_\d+)?)_(?P<aligner>[a-z]+)", name)
    if not found or found.group("aligner") not in ALIGNERS:
        raise AlignfreezeError(f"unknown reference method {name!r} (known: baseline, before_<aligner>, during_<aligner>, "
                               "freeze_realign_unfreeze[_last_half|_last_N]_<aligner>; aligners: dico, fastalign, awesome)")  # fmt: skip
    aligner = ALIGNERS[found.group("aligner")]
    if name.startswith("before"):
        return "before", "none", aligner
    if name.startswith("during"):
        return "during", "none", aligner
    return "before", "back" if found.group("back") else "front", aligner


def convert(path: str | Path) -> list[dict]:
    """Long-format rows (``alignfreeze.experiments.results.COLUMNS``) of one reference CSV."""
    from alignfreeze.data.textfile import read_text

    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    required = {"seed", "model", "task", "method"}
    missing = required - set(reader.fieldnames or [])
    if missing:
        raise DataFormatError(path, 1, f"missing column(s) {', '.join(sorted(missing))} (a reference results CSV has "
                                       "seed, model, task, method and eval_/final_eval_ columns)")  # fmt: skip
    metric_columns = {}
    for name in reader.fieldnames or []:
        found = COLUMN.match(name)
        if found and found.group("metric") in METRICS:
            metric_columns[name] = (found.group("prefix"), found.group("lang"), found.group("metric"))
    if not metric_columns:
        raise DataFormatError(path, 1, "no eval_<lang>_<metric> or final_eval_<lang>_<metric> column")
    rows = []
    for line, record in enumerate(reader, start=2):
        task_name = (record["task"] or "").strip().lower()
        if task_name not in TASKS:
            raise DataFormatError(path, line, f"unknown task {record['task']!r} (known: {', '.join(sorted(TASKS))})")
        task = TASKS[task_name]
        try:
            method, freeze, aligner = map_method(record["method"].strip())
            seed = int(float(record["seed"]))
        except (AlignfreezeError, ValueError) as exc:
            raise DataFormatError(path, line, str(exc)) from None
        values: dict[tuple[str, str], tuple[str, float]] = {}  # (lang, metric) -> (prefix, value)
        for column, (prefix, lang, metric) in metric_columns.items():
            raw = (record.get(column) or "").strip()
            if not raw or lang == "avg":
                continue
            try:
                value = float(raw)
            except ValueError:
                raise DataFormatError(path, line, f"column {column}: {raw!r} is not a number") from None
            if not 0.0 <= value <= 1.0:
                raise DataFormatError(path, line, f"column {column}: {value} is not a fraction in 0..1")
            key = (lang, metric)
            if key not in values or (prefix == "final_eval" and values[key][0] == "eval"):
                values[key] = (prefix, value)
        model = record["model"].strip()
        run_id = "ref-" + hashlib.sha256(f"{Path(path).name}:{line}:{model}:{task}:{record['method']}:{seed}".encode()).hexdigest()[:10]
        for (lang, metric), (_, value) in sorted(values.items()):
            if lang == "same":
                if (("en", metric) in values):
                    continue
                lang = "en"
            rows.append({"run_id": run_id, "model": model, "task": task, "method": method, "aligner": aligner,
                         "freeze": freeze, "seed": seed, "language": lang, "stage": "finetuned", "metric": metric,
                         "value": value})  # fmt: skip
    if not rows:
        raise DataFormatError(path, None, "no result values in the file")
    return rows


def import_reference(paths: Sequence[str | Path], out: str | Path) -> list[dict]:
    """Convert every file and write one results CSV (atomically)."""
    from alignfreeze.experiments.results import rows_to_csv
    from alignfreeze.fileio import atomic_write_text

    rows = [row for path in paths for row in convert(path)]
    atomic_write_text(out, rows_to_csv(rows, header=True))
    return rows
