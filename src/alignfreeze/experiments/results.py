"""The long-format results file and its crash safety.

``results.csv`` has one row per (run, language, stage, metric) with the columns
:data:`COLUMNS`; values are fractions in 0..1. ``stage`` says which state of the model a
value was measured on: ``finetuned`` for task scores, and ``initial`` / ``realigned`` /
``finetuned`` for the alignment measured during a run (``alignment_*`` metrics). Files
written before the column existed are read with ``stage = finetuned``. A run is *complete* when its
``runs/<run_id>/metrics.json`` exists (it is written atomically, by rename). Its rows are
then appended to ``results.csv`` in a single write. A ``kill -9`` can interrupt the
sequence anywhere; :func:`reconcile` (run at every start) repairs ``results.csv`` from the
completed runs: a torn last line is dropped, rows of runs without ``metrics.json`` are
dropped, a complete run whose rows are missing or partial gets them rewritten from its
``metrics.json``, and duplicates are removed. So after a resume every row is present exactly
once.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Iterable

from alignfreeze.fileio import atomic_write_text
from alignfreeze.schema import COLUMNS, normalise_row


def rows_to_csv(rows: Iterable[dict], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        row = normalise_row(row)
        writer.writerow({k: row[k] for k in COLUMNS})
    return buffer.getvalue()


def append_rows(results: Path, rows: list[dict]) -> None:
    """Append a run's rows in one ``write`` (the header first if the file is new)."""
    data = rows_to_csv(rows, header=not results.exists() or results.stat().st_size == 0).encode()
    fd = os.open(results, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


def completed_runs(out_dir: Path) -> dict[str, list[dict]]:
    """``run_id -> rows`` for every run whose metrics.json exists."""
    done = {}
    for metrics in sorted((out_dir / "runs").glob("*/metrics.json")):
        try:
            done[metrics.parent.name] = [normalise_row(r) for r in json.loads(metrics.read_text())["rows"]]
        except (ValueError, KeyError):
            continue  # unreadable: treated as not completed, so the run is redone
    return done


def read_rows(results: Path) -> tuple[list[dict], bool]:
    """The complete rows of ``results``, and whether its last line was torn (dropped)."""
    if not results.exists():
        return [], False
    text = results.read_text(encoding="utf-8")
    torn = bool(text) and not text.endswith("\n")
    if torn:
        text = text[: text.rfind("\n") + 1]
    return [normalise_row(r) for r in csv.DictReader(io.StringIO(text))], torn


def reconcile(out_dir: Path) -> dict[str, list[dict]]:
    """Make ``results.csv`` hold exactly the rows of the completed runs; return those runs."""
    results = out_dir / "results.csv"
    done = completed_runs(out_dir)
    existing, torn = read_rows(results)
    by_run: dict[str, list[dict]] = {}
    for row in existing:
        by_run.setdefault(row["run_id"], []).append(row)

    def key(row: dict) -> tuple:
        return tuple(str(row[k]) for k in COLUMNS)

    wanted: list[dict] = []
    for run_id, rows in done.items():
        expected = {key(r) for r in rows}
        have = [key(r) for r in by_run.get(run_id, [])]
        if sorted(have) == sorted(expected) and len(have) == len(rows):
            wanted.extend(by_run[run_id])
        else:
            wanted.extend(rows)
    # Keep the file's order for runs already in it, new ones after.
    old_header = False
    if results.exists():
        with results.open(encoding="utf-8") as f:
            old_header = f.readline().strip() != ",".join(COLUMNS)
    if torn or old_header or [key(r) for r in existing] != [key(r) for r in wanted]:
        order = {run_id: i for i, run_id in enumerate(dict.fromkeys(r["run_id"] for r in existing))}
        wanted.sort(key=lambda r: order.get(r["run_id"], len(order)))
        if wanted or results.exists():
            atomic_write_text(results, rows_to_csv(wanted, header=True))
    return done


def read_results(paths) -> list[dict]:
    """The rows of results files (``results.csv``, or output folders holding one), checked
    to be results files; files written before the ``stage`` column are read as ``finetuned``.

    Example::

        rows = af.read_results(["runs/demo", "paper-results.csv"])
    """
    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.schema import COLUMNS

    rows: list[dict] = []
    for path in map(Path, paths):
        path = path / "results.csv" if path.is_dir() else path
        if not path.is_file():
            raise AlignfreezeError(f"{path}: no such results file")
        file_rows, _ = read_rows(path)
        missing = set(COLUMNS) - {"stage"} - set(file_rows[0] if file_rows else {})
        if not file_rows or missing:
            raise AlignfreezeError(
                f"{path}: not a results file"
                + (f" (missing columns {', '.join(sorted(missing))})" if missing else " (empty)")
            )
        rows.extend(normalise_row(r) for r in file_rows)
    return rows


def alignment_rows_of_saved_models(paths, results: list[dict]) -> list[dict]:
    """Result rows (long format) from alignment measured after the runs, on the models they
    saved (``save_model: final``): ``alignment.csv`` files (or the folders of
    ``measure-alignment --model runs/<run_id>/model --out ...``). Each is matched to its run
    by the model's folder (``runs/<run_id>/model`` is the ``finetuned`` stage,
    ``runs/<run_id>/realigned`` the ``realigned`` one) and takes that run's columns from
    ``results``; ``report`` then draws it with the alignment measured during runs.

    Example::

        rows = af.read_results(["runs/demo"])
        rows += af.alignment_rows_of_saved_models(["alignment/run-model"], rows)
    """
    from alignfreeze.errors import AlignfreezeError

    stages = {"model": "finetuned", "realigned": "realigned"}
    runs = {r["run_id"]: r for r in results}
    out: list[dict] = []
    for path in map(Path, paths):
        csv_path = path / "alignment.csv" if path.is_dir() else path
        meta_path = csv_path.with_name("alignment.json")
        if not csv_path.is_file() or not meta_path.is_file():
            raise AlignfreezeError(f"{path}: no alignment.csv with its alignment.json (from measure-alignment)")
        model = Path(json.loads(meta_path.read_text())["model"])
        run_id, stage = model.parent.name, stages.get(model.name)
        if stage is None or model.parent.parent.name != "runs" or run_id not in runs:
            raise AlignfreezeError(
                f"{csv_path}: measured on {model}, which is not the model or realigned folder of a run in the "
                "results (runs/<run_id>/model or runs/<run_id>/realigned)"
            )
        measured, _ = read_rows(csv_path)
        scorings = {(r["scoring"], r["centred"]) for r in measured}
        if len(scorings) > 1:
            raise AlignfreezeError(f"{csv_path}: several scorings {sorted(scorings)}; measure with one")
        run = runs[run_id]
        for r in measured:
            metric = f"alignment_{r['mode']}_{r['direction']}_L{r['layer']}"
            row = {**{c: run[c] for c in COLUMNS}, "language": r["language"], "stage": stage}
            out.append({**row, "metric": metric, "value": float(r["accuracy"])})
    return out
