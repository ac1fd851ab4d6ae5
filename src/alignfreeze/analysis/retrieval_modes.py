"""The retrieval modes of the alignment measure (Gaschi et al., Findings of ACL 2023): how a
word's translation must win for the word to count as aligned.

A mode is a function of two ``[n, hidden]`` tensors of unit-length word vectors, row ``i`` of
``src`` and of ``tgt`` a translation pair, and ``csls_k`` (0: rank by cosine; else by CSLS
with that many neighbours). It returns two boolean tensors of length ``n``: which source
words retrieve their translation (``fwd``) and which target words do (``bwd``).
:func:`alignfreeze.analysis.retrieval.retrieval_accuracy` averages them, and each mode's
results are ``alignment_{mode}_{direction}_L{layer}`` rows
(:mod:`alignfreeze.metric_names`), which correlating, reporting and tracking read.

Adding a mode: its function in a module and one line in :data:`RETRIEVAL_MODES` (or
:func:`register_retrieval_mode` from outside the package); see ``docs/how-to/add-a-metric.md``.
torch is imported inside the functions, so that configs naming modes load without it.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from alignfreeze.errors import AlignfreezeError

#: ``(src, tgt, csls_k) -> (fwd hits, bwd hits)``
RetrievalMode = Callable[[Any, Any, int], tuple[Any, Any]]


def top_k_mean(similarity, k: int, dim: int):
    """Mean of the ``k`` largest similarities along ``dim`` (CSLS's neighbourhood density)."""
    k = max(1, min(k, similarity.shape[dim]))
    values = similarity.topk(k, dim=dim).values
    return values.float().mean(dim=dim)


def weak_retrieval(src, tgt, csls_k: int = 0):
    """Candidates: the other language's words; a query wins when its translation is nearest."""
    import torch

    sim = src @ tgt.T  # rows: source queries, columns: target candidates
    if csls_k:
        sim = 2 * sim - top_k_mean(sim, csls_k, 1)[:, None] - top_k_mean(sim, csls_k, 0)[None, :]
    truth = torch.arange(src.shape[0])
    return sim.argmax(1) == truth, sim.argmax(0) == truth


def strong_retrieval(src, tgt, csls_k: int = 0):
    """Candidates: both languages' words (but the query itself); the translation must be nearest."""
    import torch

    n = src.shape[0]
    pool = torch.cat([src, tgt])
    sim = pool @ pool.T
    sim.fill_diagonal_(float("-inf"))  # a query is never its own candidate
    if csls_k:
        r = top_k_mean(sim, csls_k, 1)
        sim = 2 * sim - r[:, None] - r[None, :]
        sim.fill_diagonal_(float("-inf"))
    best = sim.argmax(1)
    truth = torch.arange(n)
    return best[:n] == truth + n, best[n:] == truth


#: Mode name -> its function. A new mode adds one line here.
RETRIEVAL_MODES: dict[str, RetrievalMode] = {
    "weak": weak_retrieval,
    "strong": strong_retrieval,
}

_NAME = re.compile(r"[a-z][a-z0-9]*")  # it sits between underscores in metric names


def register_retrieval_mode(name: str, function: RetrievalMode) -> RetrievalMode:
    """Add a retrieval mode from outside the package: measuring (``modes: [name]``) computes
    it, and its ``alignment_{name}_*`` rows are read like the others. Returns ``function``.

    Example::

        af.register_retrieval_mode("mine", my_retrieval)   # then AlignmentMeasureSettings(modes=["mine"])
    """
    if not _NAME.fullmatch(name):
        raise AlignfreezeError(
            f"retrieval mode {name!r}: lower-case letters and digits only (it is part of metric names)"
        )
    if name in RETRIEVAL_MODES and RETRIEVAL_MODES[name] is not function:
        raise AlignfreezeError(f"a retrieval mode named {name!r} exists already")
    RETRIEVAL_MODES[name] = function
    return function


def check_mode(mode: str) -> str:
    """``mode`` when it is a registered retrieval mode, else ValueError naming those that are."""
    if mode not in RETRIEVAL_MODES:
        raise ValueError(f"unknown retrieval mode {mode!r} (allowed: {', '.join(RETRIEVAL_MODES)})")
    return mode
