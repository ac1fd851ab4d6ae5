"""``alignfreeze import-reference``: the AlignFreeze paper's released result CSVs, converted
to our long format so that published numbers and new runs share one report.

The authors released one CSV per model and task (``scripts/2025_naacl/results/`` in
posos-tech/multilingual-alignment-and-transfer, 12 files, 435 runs): one row per run with
``seed, model, task, method``, four bookkeeping columns of realignment and fine-tuning
counts, three loss columns, and metric columns ``eval_<lang>_<metric>`` and
``final_eval_<lang>_<metric>``.

* **Metrics:** ``accuracy``, ``f1``, ``precision``, ``recall`` and ``em`` (our
  ``exact_match``). ``final_eval_`` (the final model) is preferred and ``eval_`` is the
  fallback, per language and metric; in the released files the two are identical wherever
  both exist, and :func:`convert` counts the cells where they differ.
* **Languages:** ``<lang>`` is an ISO code; ``same`` (the training language, English)
  becomes ``en`` unless the row also has ``en``; ``avg`` (the run's own unweighted average
  over its evaluation languages) is kept as language ``avg``, which the report never counts
  as a target language but shows as the released average.
* **Tasks:** ``udpos`` -> ``pos``, ``wikiann``/``panx`` -> ``ner``, ``xnli`` -> ``nli``,
  ``xquad`` -> ``qa``. **Methods:** :data:`METHOD_FORMS` (and :func:`reference_method`
  maps back).
* The bookkeeping and loss columns (:data:`BOOKKEEPING`) are not results and are not
  imported. Any other column, any unknown method, task or metric, and any value that is
  not a fraction stops the import with ``file:line:column``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Sequence

from alignfreeze.errors import DataFormatError

REFERENCE_TASKS = {
    "udpos": "pos",
    "pos": "pos",
    "wikiann": "ner",
    "panx": "ner",
    "pan-x": "ner",
    "ner": "ner",
    "xnli": "nli",
    "nli": "nli",
    "xquad": "qa",
    "qa": "qa",
}
#: Reference aligner names -> the aligner column of our results. FastAlign and AWESOME-align
#: keep their names: our eflomal and embedding aligners stand in for them but are not them.
ALIGNERS = {"dico": "dictionary", "fastalign": "fastalign", "awesome": "awesome"}
METRICS = {"accuracy": "accuracy", "f1": "f1", "precision": "precision", "recall": "recall", "em": "exact_match"}
COLUMN = re.compile(r"^(?P<prefix>final_eval|eval)_(?P<lang>[a-z]{2,3}|same|avg)_(?P<metric>[a-z0-9_]+)$")
#: Columns of the released files that are not results (counts and losses of the run).
BOOKKEEPING = (
    "finetuning_steps",
    "realignment_steps",
    "distinct_realignment_samples",
    "repeated_realignment_samples",
    "train_loss",
    "realignment_loss",
    "task_loss",
)
IDENTITY = ("seed", "model", "task", "method")
#: Released counts kept as run-level rows (stage ``run``): the sentence pairs realignment drew
#: in all, and before its stream first restarted (``multilingual_eval/training/states.py``
#: lines 60-66), alignfreeze's ``realignment_pairs_drawn`` and ``realignment_pairs_distinct``.
RUN_COUNTS = {
    "repeated_realignment_samples": "realignment_pairs_drawn",
    "distinct_realignment_samples": "realignment_pairs_distinct",
}

#: Every method name of the released files, as ``<form>_<aligner>``: form -> (method, freeze).
#: ``freeze_realign_unfreeze*`` realign before fine-tuning with half the layers frozen
#: (``multilingual_eval/training/training_loops.py`` lines 357-438: the lower half, or the
#: upper half -- ``last_half``, and ``last_6`` in the XLM-R PoS file, XLM-R's upper 6 of 12);
#: ``during_partial_freeze_{front,back}`` realign during fine-tuning with the realignment
#: gradient kept out of the lower/upper half (lines 720-762).
METHOD_FORMS: dict[str, tuple[str, str]] = {
    "before": ("before", "none"),
    "during": ("during", "none"),
    "freeze_realign_unfreeze": ("before", "front"),
    "freeze_realign_unfreeze_last_half": ("before", "back"),
    "freeze_realign_unfreeze_last_6": ("before", "back"),
    "during_partial_freeze_front": ("during", "front"),
    "during_partial_freeze_back": ("during", "back"),
}


def map_method(name: str) -> tuple[str, str, str]:
    """Reference method name -> ``(method, freeze, aligner)`` (see :data:`METHOD_FORMS`)."""
    if name == "baseline":
        return "baseline", "none", "none"
    form, _, aligner = name.rpartition("_")
    if form not in METHOD_FORMS or aligner not in ALIGNERS:
        known = ", ".join(f"{f}_<aligner>" for f in METHOD_FORMS)
        raise ValueError(
            f"unknown reference method {name!r} (known: baseline, {known}; aligners: {', '.join(ALIGNERS)})"
        )
    method, freeze = METHOD_FORMS[form]
    return method, freeze, ALIGNERS[aligner]


def reference_method(method: str, freeze: str, aligner: str) -> str | None:
    """Our ``(method, freeze, aligner)`` -> the reference's method name, or None when the
    reference has no such strategy (our eflomal and embedding aligners included)."""
    if method == "baseline":
        return "baseline"
    names = {v: k for k, v in ALIGNERS.items()}
    forms = {value: form for form, value in METHOD_FORMS.items() if form != "freeze_realign_unfreeze_last_6"}
    if aligner not in names or (method, freeze) not in forms:
        return None
    return f"{forms[(method, freeze)]}_{names[aligner]}"


class ImportSummary:
    """What :func:`convert` read: runs, rows, and the ``eval_``/``final_eval_`` cells."""

    def __init__(self) -> None:
        self.runs = 0
        self.rows = 0
        self.duplicated_cells = 0  # eval_ cells that also have a final_eval_ value
        self.differing_cells = 0  # ... whose values differ (final_eval_ is kept)


def convert(path: str | Path, summary: ImportSummary | None = None) -> list[dict]:
    """Long-format rows (``alignfreeze.experiments.results.COLUMNS``) of one reference CSV."""
    from alignfreeze.data.textfile import read_text

    summary = summary if summary is not None else ImportSummary()
    text = read_text(path)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise DataFormatError(path, None, "empty file")
    missing = [c for c in IDENTITY if c not in header]
    if missing:
        raise DataFormatError(
            path,
            1,
            f"missing column(s) {', '.join(missing)} (a reference results CSV has "
            "seed, model, task, method and eval_/final_eval_ columns)",
        )
    metric_columns: dict[int, tuple[str, str, str]] = {}
    for index, name in enumerate(header):
        if name in IDENTITY or name in BOOKKEEPING:
            continue
        found = COLUMN.match(name)
        if not found:
            raise DataFormatError(
                path,
                1,
                f"unknown column {name!r} (known: {', '.join(IDENTITY + BOOKKEEPING)}, "
                "eval_<lang>_<metric>, final_eval_<lang>_<metric>)",
                index + 1,
            )
        if found.group("metric") not in METRICS:
            raise DataFormatError(
                path,
                1,
                f"column {name!r}: unknown metric {found.group('metric')!r} (known: {', '.join(METRICS)})",
                index + 1,
            )
        metric_columns[index] = (found.group("prefix"), found.group("lang"), METRICS[found.group("metric")])
    if not metric_columns:
        raise DataFormatError(path, 1, "no eval_<lang>_<metric> or final_eval_<lang>_<metric> column")
    position = {name: header.index(name) for name in IDENTITY}
    rows = []
    for line, record in enumerate(reader, start=2):
        if not record:
            continue
        if len(record) != len(header):
            raise DataFormatError(path, line, f"{len(record)} fields where the header has {len(header)}")

        def field(name: str, record: list[str] = record) -> str:
            return record[position[name]].strip()

        task_name = field("task").lower()
        if task_name not in REFERENCE_TASKS:
            raise DataFormatError(
                path,
                line,
                f"unknown task {field('task')!r} (known: {', '.join(sorted(REFERENCE_TASKS))})",
                position["task"] + 1,
            )
        task = REFERENCE_TASKS[task_name]
        try:
            method, freeze, aligner = map_method(field("method"))
        except ValueError as exc:
            raise DataFormatError(path, line, str(exc), position["method"] + 1) from None
        try:
            seed = int(float(field("seed")))
        except ValueError:
            raise DataFormatError(path, line, f"seed {field('seed')!r} is not a number", position["seed"] + 1) from None
        values: dict[tuple[str, str], tuple[str, float]] = {}  # (lang, metric) -> (prefix, value)
        for index, (prefix, lang, metric) in metric_columns.items():
            raw = record[index].strip()
            if not raw:
                continue
            try:
                value = float(raw)
            except ValueError:
                raise DataFormatError(
                    path, line, f"column {header[index]}: {raw!r} is not a number", index + 1
                ) from None
            if not 0.0 <= value <= 1.0:
                raise DataFormatError(
                    path, line, f"column {header[index]}: {value} is not a fraction in 0..1", index + 1
                )
            key = (lang, metric)
            if key in values:
                summary.duplicated_cells += 1
                summary.differing_cells += values[key][1] != value
                if prefix == "final_eval":
                    values[key] = (prefix, value)
            else:
                values[key] = (prefix, value)
        model = field("model")
        run_id = (
            "ref-"
            + hashlib.sha256(f"{Path(path).name}:{line}:{model}:{task}:{field('method')}:{seed}".encode()).hexdigest()[
                :10
            ]
        )
        summary.runs += 1

        # The identity every row of this run carries.
        base = {
            "run_id": run_id,
            "model": model,
            "task": task,
            "method": method,
            "aligner": aligner,
            "freeze": freeze,
            "seed": seed,
        }
        for (lang, metric), (_, value) in sorted(values.items()):
            if lang == "same":
                if ("en", metric) in values:
                    continue
                lang = "en"
            rows.append({**base, "language": lang, "stage": "finetuned", "metric": metric, "value": value})
        if method != "baseline":  # what realignment drew (stage "run"), to compare with ours
            for column, metric in RUN_COUNTS.items():
                if column not in header or not record[header.index(column)].strip():
                    continue
                raw = record[header.index(column)].strip()
                try:
                    count = float(raw)
                except ValueError:
                    raise DataFormatError(
                        path, line, f"column {column}: {raw!r} is not a number", header.index(column) + 1
                    ) from None
                rows.append({**base, "language": "all", "stage": "run", "metric": metric, "value": count})
    if not rows:
        raise DataFormatError(path, None, "no result values in the file")
    summary.rows += len(rows)
    return rows


def import_reference(paths: Sequence[str | Path], out: str | Path) -> tuple[list[dict], ImportSummary]:
    """Convert the result CSVs released with the AlignFreeze paper (one wide row per run) into
    alignfreeze's long-format results, written atomically to ``out``; method names, metrics
    and the released averages (language ``avg``) are mapped to ours.

    Returns:
        ``(rows, summary)``: the rows, and counts (runs, rows, duplicated and differing cells).

    Example::

        rows, summary = af.import_reference(sorted(Path("results").glob("*.csv")), "paper-results.csv")
    """
    from alignfreeze.experiments.results import rows_to_csv
    from alignfreeze.fileio import atomic_write_text

    summary = ImportSummary()
    rows = [row for path in paths for row in convert(path, summary)]
    atomic_write_text(out, rows_to_csv(rows, header=True))
    return rows, summary
