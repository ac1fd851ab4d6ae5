"""The names of the metrics in results rows, written and read in one place.

Alignment measured per layer is one metric per retrieval mode, direction and hidden state:
``alignment_{mode}_{direction}_L{layer}`` (``alignment_strong_fwd_L12``). Measuring writes
the name with :func:`alignment_metric`; correlating, reporting and tracking read it back
with :func:`parse_alignment_metric`, so the format lives here only.

Example::

    alignment_metric("strong", "fwd", 12)             # 'alignment_strong_fwd_L12'
    parse_alignment_metric("alignment_weak_bwd_L3")   # ('weak', 'bwd', 3)
    parse_alignment_metric("accuracy")                # None
"""

from __future__ import annotations

import re

#: ``fwd``: source words retrieve their translations; ``bwd``: target words theirs.
DIRECTIONS = ("fwd", "bwd")
#: A retrieval mode's name (``weak``, ``strong``, or one registered in
#: :data:`alignfreeze.analysis.retrieval_modes.RETRIEVAL_MODES`): no underscore, so that
#: names split back unambiguously.
MODE_NAME = r"[a-z][a-z0-9]*"

_ALIGNMENT = re.compile(rf"alignment_({MODE_NAME})_({'|'.join(DIRECTIONS)})_L(\d+)")


def alignment_series(mode: str, direction: str) -> str:
    """The name of one mode and direction's alignment over the layers (``alignment_strong_fwd``):
    the metric names of its layers without their ``_L{layer}``; trackers plot it over layers."""
    if not re.fullmatch(MODE_NAME, mode) or direction not in DIRECTIONS:
        raise ValueError(f"alignment metric: mode {mode!r} or direction {direction!r} unknown")
    return f"alignment_{mode}_{direction}"


def alignment_metric(mode: str, direction: str, layer: int) -> str:
    """The metric name of the alignment measured in one retrieval mode, direction and
    hidden state (0 = embeddings)."""
    return f"{alignment_series(mode, direction)}_L{int(layer)}"


def parse_alignment_metric(name: str) -> tuple[str, str, int] | None:
    """``(mode, direction, layer)`` of an alignment metric's name, or None for any other metric."""
    found = _ALIGNMENT.fullmatch(name)
    return (found.group(1), found.group(2), int(found.group(3))) if found else None
