"""Progress bars that behave in a terminal, a notebook and a log file alike, and that can
report to somewhere other than the terminal.

A grid runs its runs in other processes (a process pool, Ray workers on other machines)
whose own bars the user would never see. Inside :func:`reporting_to`, every
:func:`progress_bar` and :func:`report` also sends its state -- ``{"desc", "done", "total",
"postfix"}`` -- to a callback: in a worker, :func:`file_reporter` writes it to the run's
``progress.json``, which the grid driver polls to draw one bar per running run.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator

Status = dict  # {"desc": str, "done": int, "total": int | None, "postfix": str}
_reporter: ContextVar[Callable[[Status], None] | None] = ContextVar("alignfreeze_progress_reporter", default=None)


@contextmanager
def reporting_to(callback: Callable[[Status], None]) -> Iterator[None]:
    """Send the state of every bar opened inside this block to ``callback``."""
    token = _reporter.set(callback)
    try:
        yield
    finally:
        _reporter.reset(token)


def report(desc: str, done: int = 0, total: int | None = None, postfix: str = "") -> None:
    """Announce a phase that has no bar of its own (loading, measuring) to the reporter."""
    callback = _reporter.get()
    if callback is not None:
        callback({"desc": desc, "done": done, "total": total, "postfix": postfix})


def file_reporter(path: str | Path, min_interval: float = 1.0) -> Callable[[Status], None]:
    """A reporter that rewrites ``path`` (JSON) at most every ``min_interval`` seconds, and
    always at a phase's first and last step, so a poller never sees a stale phase."""
    from alignfreeze.fileio import atomic_write_text

    path = Path(path)
    last = {"time": 0.0, "desc": None}

    def write(status: Status) -> None:
        now = time.monotonic()
        boundary = status["desc"] != last["desc"] or status["done"] == status["total"]
        if boundary or now - last["time"] >= min_interval:
            atomic_write_text(path, json.dumps({**status, "time": time.time()}) + "\n")
            last.update(time=now, desc=status["desc"])

    return write


class _ReportingBar:
    """A tqdm bar that also reports each step to the active reporter."""

    def __init__(self, bar, desc: str, total: int | None, callback: Callable[[Status], None]):
        self.bar, self.desc, self.total, self.callback = bar, desc, total, callback
        self.postfix = ""

    def __iter__(self):
        self.callback({"desc": self.desc, "done": 0, "total": self.total, "postfix": ""})
        for done, item in enumerate(self.bar, start=1):
            yield item
            self.callback({"desc": self.desc, "done": done, "total": self.total, "postfix": self.postfix})

    def set_postfix(self, refresh: bool = True, **kwargs) -> None:
        self.postfix = " ".join(f"{k}={v}" for k, v in kwargs.items())
        self.bar.set_postfix(refresh=refresh, **kwargs)

    def __getattr__(self, name):
        return getattr(self.bar, name)


def progress_bar(iterable, desc: str, disable: bool = False, **kwargs):
    """``tqdm.auto`` with a slow refresh when stderr is not a terminal, so that logs and CI
    output get a line every 30 s instead of one per step. Inside :func:`reporting_to` it
    also reports every step, even when the terminal bar is disabled."""
    from tqdm.auto import tqdm

    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    bar = tqdm(iterable, desc=desc, disable=disable, mininterval=0.1 if interactive else 30.0, **kwargs)
    callback = _reporter.get()
    if callback is None:
        return bar
    total = kwargs.get("total")
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    return _ReportingBar(bar, desc, total, callback)
