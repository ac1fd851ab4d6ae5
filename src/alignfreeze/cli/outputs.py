"""What the commands write, checked before they do any work, and what Ctrl-C leaves.

No command replaces, overwrites or deletes what alignfreeze did not write: every ``--out``
is checked up front (:mod:`alignfreeze.fileio`: folders carry alignfreeze's marker file,
files are recognised by their format). A command that writes for a long time registers a
note (:func:`on_interrupt`) that ``main`` prints as one line when Ctrl-C stops it.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Callable, Iterable

from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import (
    MARKER,
    check_output_file,
    check_output_folder,
    claim_folder,
    read_marker,
)

# --- up-front checks ---------------------------------------------------------------------


def _results_folder_before(folder: Path) -> bool:
    """A run or grid folder written before folders carried alignfreeze's marker."""
    return (folder / "results.csv").is_file() or (folder / "runs").is_dir()


def results_folder(out: Path, run_ids: Iterable[str] = (), claim: bool = True, option: str = "--out") -> Path:
    """``run`` / ``grid``: ``out`` is a new or empty folder or a results folder of alignfreeze
    (marker, or ``results.csv`` and ``runs/``), whose ``results.csv``, if any, is a results
    file; marked as one (``claim``). Registers the Ctrl-C note: how many of ``run_ids`` are
    saved there."""
    from alignfreeze.experiments.results import is_results_file

    check_output_folder(out, option, _results_folder_before)
    results = out / "results.csv"
    if results.is_dir() or (results.exists() and not is_results_file(results)):
        raise AlignfreezeError(f"{option} {out}: {results} is not an alignfreeze results file; choose another folder")
    if (out / "runs").exists() and not (out / "runs").is_dir():
        raise AlignfreezeError(f"{option} {out}: {out / 'runs'} is a file, not a folder; choose another folder")
    if claim:
        claim_folder(out, "results")
        run_ids = list(run_ids)
        on_interrupt(lambda: runs_saved_note(out, run_ids))
    return out


def runs_saved_note(out: Path, run_ids: list[str]) -> str:
    saved = sum((out / "runs" / run_id / "metrics.json").is_file() for run_id in run_ids)
    return (
        f"{saved} of {len(run_ids)} run{'s' if len(run_ids) != 1 else ''} are saved in {out}; "
        "run the same command again to resume (finished runs are skipped)"
    )


def folder(out: Path, names: Iterable[str] = (), owned: Callable[[Path], bool] | None = None) -> Path:
    """A folder a command writes files into (``report``, ``correlate``, ``sweep-freeze``):
    new, empty, or marked by alignfreeze (or ``owned``); none of ``names`` may be a file
    alignfreeze did not write. Mark it with :func:`claim` once written."""
    check_output_folder(out, "--out", owned, names)
    return out


def report_folder(out: Path, fmt: str) -> Path:
    """``report --out``: :func:`folder`, also accepting a results folder or a report folder
    alignfreeze wrote before folders carried its marker."""
    reports = [f"report.{ext}" for ext in ("md", "csv", "json", "html")]
    return folder(
        out, [f"report.{fmt}"], lambda p: _results_folder_before(p) or any((p / r).is_file() for r in reports)
    )


CORRELATION_FILES = tuple(f"correlation.{ext}" for ext in ("md", "csv", "json", "png"))


def correlation_folder(out: Path) -> Path:
    """``correlate --out``: :func:`folder`, also accepting a results folder or a correlation
    folder alignfreeze wrote before folders carried its marker."""
    return folder(out, CORRELATION_FILES, lambda p: _results_folder_before(p) or (p / "correlation.json").is_file())


def claim(out: Path, kind: str, files: Iterable[str | Path] = ()) -> Path:
    """Mark ``out`` as alignfreeze's ``kind`` of output, listing ``files`` (paths in it)."""
    return claim_folder(out, kind, [Path(f).name for f in files])


def _first_line_json(path: Path) -> dict | None:
    try:
        with path.open(encoding="utf-8") as f:
            value = json.loads(f.readline())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def pairs_file(out: Path) -> Path:
    """``align --out``: a new file, or an aligned-pairs file (its header line) to replace."""
    from alignfreeze.align.corpus import HEADER_KIND

    check_output_file(out, "--out", lambda p: (_first_line_json(p) or {}).get("alignfreeze") == HEADER_KIND)
    return out


def results_file(out: Path) -> Path:
    """``import-reference --out``: a new file, or a results CSV that is not the
    ``results.csv`` of a run folder (whose rows the runs wrote)."""
    from alignfreeze.experiments.results import is_results_file

    check_output_file(out, "--out", is_results_file)
    if out.exists() and (out.parent / "runs").is_dir() and out.name == "results.csv":
        raise AlignfreezeError(f"--out {out} is the results file of a run folder; write the import to another file")
    return out


def _png_by_alignfreeze(path: Path) -> bool:
    """A PNG whose text chunks name alignfreeze as the software that wrote it, or one
    listed by the marker of its folder."""
    marker = read_marker(path.parent)
    if marker is not None and path.name in marker.get("files", []):
        return True
    try:
        from PIL import Image

        with Image.open(path) as image:
            return image.format == "PNG" and "alignfreeze" in str(image.info.get("Software", "")).lower()
    except Exception:  # noqa: BLE001 -- unreadable or no Pillow: not recognised as ours
        return False


def png_file(out: Path) -> Path:
    """``plot-alignment --out``: a new file, or a figure alignfreeze wrote."""
    check_output_file(out, "--out", _png_by_alignfreeze)
    return out


# --- Ctrl-C ------------------------------------------------------------------------------

_note: list[Callable[[], str]] = []
_interrupted = [False]


def on_interrupt(note: Callable[[], str]) -> None:
    """What Ctrl-C leaves, said after ``interrupted:`` (the last note registered wins)."""
    _note[:] = [note]


def interrupt_note() -> str:
    try:
        return _note[-1]() if _note else "files are written whole or not at all; run the same command again"
    except Exception:  # noqa: BLE001 -- the note must never hide the interrupt
        return "run the same command again"


def _on_sigint(signum, frame) -> None:
    _interrupted[0] = True
    signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt, as without us


def catch_interrupts() -> None:
    """Record a Ctrl-C (SIGINT) before it raises KeyboardInterrupt as usual: ``typer`` turns
    it into exit status 130, and ``main`` tells it apart from other exits with
    :func:`interrupted`. A SIGINT that is ignored (background jobs) stays ignored."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def interrupted() -> bool:
    return _interrupted[0]


__all__ = [
    "MARKER",
    "catch_interrupts",
    "claim",
    "correlation_folder",
    "folder",
    "interrupt_note",
    "interrupted",
    "on_interrupt",
    "pairs_file",
    "png_file",
    "report_folder",
    "results_file",
    "results_folder",
    "runs_saved_note",
]
