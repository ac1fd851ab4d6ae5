"""The long-format results file and its crash safety.

``results.csv`` has one row per (run, language, stage, metric) with the columns
:data:`COLUMNS`; values are fractions in 0..1. ``stage`` says which state of the model a
value was measured on: ``finetuned`` for task scores, and ``initial`` / ``realigned`` /
``finetuned`` for the alignment measured during a run (``alignment_*`` metrics). Files
written before the column existed are read with ``stage = finetuned``. A run is *complete* when its
``runs/<run_id>/metrics.json`` exists (it is written atomically, by rename). Its rows are
then appended to ``results.csv`` in a single write. A ``kill -9`` can interrupt the
sequence anywhere; :func:`reconcile` (run at every start) repairs ``results.csv`` from the
completed runs: a torn last line is dropped, rows of runs alignfreeze started
(``runs/<run_id>/config.yaml``) and did not finish are dropped, a complete run whose rows are
missing or partial gets them rewritten from its ``metrics.json``, and duplicates are removed.
So after a resume every row is present exactly once. Rows alignfreeze did not write (their
run id has no ``runs/<run_id>/`` folder, e.g. rows appended from ``import-reference``) are
kept as they are, in place; a file that is not a results file is refused, not rewritten.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Iterable

from alignfreeze.fileio import atomic_write_text
from alignfreeze.metric_names import alignment_metric
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


#: The headers ``results.csv`` may have: today's, and the one before the ``stage`` column.
HEADERS = (tuple(COLUMNS), tuple(c for c in COLUMNS if c != "stage"))


def is_results_file(path: Path) -> bool:
    """``path``'s first line is a header of alignfreeze's long-format results."""
    try:
        with Path(path).open(encoding="utf-8", newline="") as f:
            return tuple(next(csv.reader([f.readline()]), [])) in HEADERS
    except (OSError, UnicodeDecodeError):
        return False


def _run_state(out_dir: Path, run_id: str, done: dict) -> str:
    """``done``; ``started`` (alignfreeze wrote its ``runs/<id>/config.yaml`` and did not
    finish it); ``foreign`` (no ``runs/<id>/`` at all: rows alignfreeze did not write, e.g.
    from ``import-reference``); ``unknown`` (a folder without alignfreeze's config)."""
    if run_id in done:
        return "done"
    folder = out_dir / "runs" / run_id
    if run_id and (folder / "config.yaml").is_file():
        return "started"
    return "unknown" if run_id and folder.exists() else "foreign"


def _read_for_reconcile(results: Path, out_dir: Path, done: dict) -> tuple[list[dict], bool, bool]:
    """The rows of ``results`` (checked: a results file, every line complete), whether its
    last line was torn (a write cut short: dropped), and whether its header is an old one.
    A last line without its newline that is a complete row of no run of ``out_dir`` is a
    user's row, kept."""
    from alignfreeze.errors import AlignfreezeError

    if not results.exists():
        return [], False, False
    if not is_results_file(results):
        raise AlignfreezeError(
            f"{results} is not an alignfreeze results file (its first line is not the header "
            f"{','.join(COLUMNS)}); choose another --out or move it away"
        )
    text = results.read_text(encoding="utf-8")
    records = list(csv.reader(io.StringIO(text)))
    header, records = records[0], records[1:]
    torn = bool(text) and not text.endswith("\n")
    if torn and records:
        last = records[-1]
        if len(last) == len(header) and _run_state(out_dir, last[0], done) == "foreign":
            torn = False  # a user's complete row without a final newline
        else:
            records = records[:-1]
    rows = []
    for line, record in enumerate(records, start=2):
        if len(record) != len(header):
            raise AlignfreezeError(
                f"{results}:{line}: expected {len(header)} fields, found {len(record)}; fix or remove the line"
            )
        rows.append(normalise_row(dict(zip(header, record))))
    return rows, torn, tuple(header) != tuple(COLUMNS)


def reconcile(out_dir: Path) -> dict[str, list[dict]]:
    """Make ``results.csv`` hold exactly one copy of the rows of every completed run, and
    every row alignfreeze did not write (of a run id with no ``runs/<id>/``), in place; drop
    the rows of runs alignfreeze started and did not finish. Rows of a ``runs/<id>/`` folder
    alignfreeze cannot tell as its own are refused, named. Returns the completed runs."""
    from alignfreeze.errors import AlignfreezeError

    results = out_dir / "results.csv"
    done = completed_runs(out_dir)
    existing, torn, old_header = _read_for_reconcile(results, out_dir, done)
    by_run: dict[str, list[dict]] = {}
    for row in existing:
        by_run.setdefault(row["run_id"], []).append(row)
    states = {run_id: _run_state(out_dir, run_id, done) for run_id in by_run}
    unknown = sorted(run_id for run_id, state in states.items() if state == "unknown")
    if unknown:
        count = sum(len(by_run[r]) for r in unknown)
        raise AlignfreezeError(
            f"{results}: {count} row(s) of run(s) {', '.join(unknown[:3])}{' ...' if len(unknown) > 3 else ''} "
            f"have a folder in {out_dir / 'runs'} that alignfreeze did not write (no config.yaml); "
            "move the rows or the folders away"
        )

    def key(row: dict) -> tuple:
        return tuple(str(row[k]) for k in COLUMNS)

    def rows_of(run_id: str) -> list[dict]:
        rows = done[run_id]
        have = [key(r) for r in by_run.get(run_id, [])]
        if sorted(have) == sorted(key(r) for r in rows) and len(have) == len(rows):
            return by_run[run_id]
        return rows

    # In the file's order: foreign rows where they are, each completed run at its first row,
    # the completed runs the file lacks after them.
    wanted: list[dict] = []
    placed: set[str] = set()
    for row in existing:
        run_id = row["run_id"]
        if states[run_id] == "foreign":
            wanted.append(row)
        elif states[run_id] == "done" and run_id not in placed:
            wanted.extend(rows_of(run_id))
            placed.add(run_id)
    for run_id in done:
        if run_id not in placed:
            wanted.extend(rows_of(run_id))
    if torn or old_header or [key(r) for r in existing] != [key(r) for r in wanted]:
        if wanted or results.exists():
            atomic_write_text(results, rows_to_csv(wanted, header=True))
    return done


def _checked_results_rows(path: Path) -> list[dict]:
    """The rows of one results file, each checked: as many fields as the header names, a
    finite number as ``value`` and an integer ``seed``. A torn last line (a run still
    writing) is left out, as :func:`read_rows` does; anything else wrong is a
    :class:`~alignfreeze.errors.DataFormatError` with the file and its line."""
    import math

    from alignfreeze.data.textfile import read_text
    from alignfreeze.errors import AlignfreezeError, DataFormatError

    text = read_text(path)
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    missing = set(COLUMNS) - {"stage"} - set(header)
    if missing:
        raise AlignfreezeError(f"{path}: not a results file (missing columns {', '.join(sorted(missing))})")
    rows = []
    start = reader.line_num
    for record in reader:
        line, start = start + 1, reader.line_num
        if not record:
            continue
        if len(record) != len(header):
            raise DataFormatError(path, line, f"expected {len(header)} fields, found {len(record)}")
        row = normalise_row(dict(zip(header, record)))
        try:
            value = float(row["value"])
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise DataFormatError(path, line, f"value {row['value']!r} is not a number (a finite one)")
        try:
            int(row["seed"])
        except ValueError:
            raise DataFormatError(path, line, f"seed {row['seed']!r} is not an integer") from None
        rows.append(row)
    if not rows:
        raise AlignfreezeError(f"{path}: not a results file (empty)")
    return rows


def read_results(paths) -> list[dict]:
    """The rows of results files (``results.csv``, or output folders holding one), checked
    to be results files; files written before the ``stage`` column are read as ``finetuned``.
    A row with more or fewer fields than the header, a value that is not a finite number
    (``nan``, text, nothing) or a seed that is not an integer is an error naming the file and
    its line.

    Example::

        rows = af.read_results(["runs/demo", "paper-results.csv"])
    """
    from alignfreeze.errors import AlignfreezeError

    rows: list[dict] = []
    for path in map(Path, paths):
        path = path / "results.csv" if path.is_dir() else path
        if not path.is_file():
            raise AlignfreezeError(f"{path}: no such results file")
        rows.extend(_checked_results_rows(path))
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
    from alignfreeze.analysis.measure import read_rows_csv  # lazily: it needs torch
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
        measured = read_rows_csv(csv_path)
        scorings = {(r["scoring"], r["centred"]) for r in measured}
        if len(scorings) > 1:
            raise AlignfreezeError(f"{csv_path}: several scorings {sorted(scorings)}; measure with one")
        run = runs[run_id]
        for r in measured:  # read_rows_csv has checked every accuracy and layer, with file:line
            accuracy = float(r["accuracy"])
            metric = alignment_metric(r["mode"], r["direction"], r["layer"])
            row = {**{c: run[c] for c in COLUMNS}, "language": r["language"], "stage": stage}
            out.append({**row, "metric": metric, "value": accuracy})
    return out


# ------------------------------------------------------------------ language weights
#: ``runs/<run_id>/language_weights.jsonl``: a run's language weights over time
#: (``realignment.language_weighting``), one JSON object a line.
LANGUAGE_WEIGHTS_FILE = "language_weights.jsonl"


def write_language_weights(run_dir: str | Path, records: list[dict]) -> Path:
    """The weighting's records (:attr:`alignfreeze.realign.weighting.LanguageWeights.log`)
    to ``run_dir``'s :data:`LANGUAGE_WEIGHTS_FILE`, written whole or not at all."""
    text = "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
    return atomic_write_text(Path(run_dir) / LANGUAGE_WEIGHTS_FILE, text)


def read_language_weights(paths: Iterable[str | Path]) -> dict[str, list[dict]]:
    """Run id -> the language weights over time of each run under the results folders
    ``paths`` (:data:`LANGUAGE_WEIGHTS_FILE`); a results file stands for its folder.

    Example::

        from alignfreeze.experiments.results import read_language_weights
        weights = read_language_weights(["runs/demo"])   # {run_id: [{"batch": 5, "probabilities": {...}}, ...]}
    """
    out: dict[str, list[dict]] = {}
    for path in map(Path, paths):
        folder = path if path.is_dir() else path.parent
        for file in sorted(folder.glob(f"runs/*/{LANGUAGE_WEIGHTS_FILE}")):
            lines = file.read_text(encoding="utf-8").splitlines()
            out[file.parent.name] = [json.loads(line) for line in lines if line.strip()]
    return out
