"""Realignment objectives: the losses realignment can train with, one module each, and the
registry that names them (``realignment.objective``).

:data:`OBJECTIVES` maps a name to its loss class, a
:class:`~alignfreeze.realign.objectives.base.RealignmentLoss`. The package's own are given as
``"module:Class"`` and imported on first use, so that configs naming an objective load
without torch. Adding an objective is one module with its class and one line here, or, from
outside the package, one :func:`register_objective` call (``docs/how-to/add-an-objective.md``).

* ``contrastive_word`` (default): InfoNCE between aligned words (needs an aligner);
* ``contrastive_sentence``: InfoNCE between mean-pooled sentences (no aligner: ``aligner: none``);
* ``l2``: MSE between aligned words, plus regularisation to the initial model;
* ``linear_map``: a learned map per language pair before an MSE or contrastive comparison.

References to ``multilingual_eval/...`` are to felixgaschi/multilingual-alignment-and-transfer
(``realignment_loss.py`` and ``with_realignment_factory.py`` at commit 33a6603b), unless a
docstring names another repository.

No closed-form objective: the EMNLP 2026 code's README (felixgaschi/emnlp-2026-code-submission
@f85fd628, README.md l.55) lists a "closed-form solution variant" for ``realignment_loss.py``,
but that file has only the ``l2`` and ``contrastive`` losses (l.243-250). Its closed form is
``decoupled_weighted_selection.py`` l.41-82 (``closed_form_meta``, ``epoch_loop.py``
l.663-670): language-sampling weights from per-language losses, not an alignment loss.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Union

from alignfreeze.errors import AlignfreezeError

if TYPE_CHECKING:
    from alignfreeze.realign.objectives.base import RealignmentLoss

#: Objective name -> its loss class (or ``"module:Class"``, imported when first asked for).
#: A new objective adds one line here.
OBJECTIVES: dict[str, Union[str, type["RealignmentLoss"]]] = {
    "contrastive_word": f"{__name__}.contrastive_word:ContrastiveWordLoss",
    "contrastive_sentence": f"{__name__}.contrastive_sentence:ContrastiveSentenceLoss",
    "l2": f"{__name__}.l2:L2Loss",
    "linear_map": f"{__name__}.linear_map:LinearMapLoss",
}


def register_objective(name: str, loss_class: type["RealignmentLoss"]) -> type["RealignmentLoss"]:
    """Add an objective from outside the package: ``realignment.objective: name`` (a
    :class:`~alignfreeze.realign.config.RealignConfig`) then trains with ``loss_class``.
    Returns the class.

    Example (the whole objective is in ``docs/how-to/add-an-objective.md``)::

        register_objective("cosine_word", CosineWordLoss)
    """
    from alignfreeze.realign.objectives.base import RealignmentLoss

    if not (isinstance(loss_class, type) and issubclass(loss_class, RealignmentLoss)):
        raise TypeError(f"objective {name!r}: {loss_class!r} is not a RealignmentLoss subclass")
    OBJECTIVES[name] = loss_class
    return loss_class


def objective_class(name: str) -> type["RealignmentLoss"]:
    """The loss class of objective ``name`` (imported on first use)."""
    if name not in OBJECTIVES:
        raise AlignfreezeError(f"unknown realignment objective {name!r} (known: {', '.join(OBJECTIVES)})")
    entry = OBJECTIVES[name]
    if isinstance(entry, str):
        module, _, qualname = entry.partition(":")
        entry = OBJECTIVES[name] = getattr(importlib.import_module(module), qualname)
    return entry


__all__ = ["OBJECTIVES", "objective_class", "register_objective"]
