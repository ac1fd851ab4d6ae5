"""Progress bars that behave in a terminal, a notebook and a log file alike."""

from __future__ import annotations

import sys


def progress_bar(iterable, desc: str, disable: bool = False, **kwargs):
    """``tqdm.auto`` with a slow refresh when stderr is not a terminal, so that logs and CI
    output get a line every 30 s instead of one per step."""
    from tqdm.auto import tqdm

    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return tqdm(iterable, desc=desc, disable=disable, mininterval=0.1 if interactive else 30.0, **kwargs)
