"""Realignment: a contrastive loss that pulls each word toward its translation, with
optional layer freezing (AlignFreeze).

Calling the package calls :func:`alignfreeze.realign.trainer.realign`. The settings
(:class:`RealignConfig`, :class:`FreezeSpec`) load without torch; the rest loads on first
use (:mod:`alignfreeze.lazy`).

Example::

    result = af.realign(model, tokenizer, [corpus], af.RealignConfig(steps=100), freeze="front")
"""

from typing import TYPE_CHECKING

from alignfreeze.lazy import lazy_names
from alignfreeze.realign.config import MATCH, RealignConfig
from alignfreeze.realign.freeze import FreezeSchedule, FreezeSpec, frozen, frozen_parameters, gradual_unfreezing

if TYPE_CHECKING:
    from alignfreeze.optim import make_optimizer
    from alignfreeze.realign.loss import ContrastiveAlignmentLoss
    from alignfreeze.realign.projection import projection_head
    from alignfreeze.realign.trainer import (
        JOINT_COEFFICIENT,
        RealignmentObjective,
        RealignResult,
        realign,
        realign_files,
        save_checkpoint,
        save_realigned,
    )

__all__ = [
    "JOINT_COEFFICIENT",
    "MATCH",
    "ContrastiveAlignmentLoss",
    "FreezeSchedule",
    "FreezeSpec",
    "RealignConfig",
    "RealignResult",
    "RealignmentObjective",
    "frozen",
    "frozen_parameters",
    "gradual_unfreezing",
    "make_optimizer",
    "projection_head",
    "realign",
    "realign_files",
    "save_checkpoint",
    "save_realigned",
]

# af.realign(...) calls the function; the package stays importable (alignfreeze.callable_package).
__getattr__ = lazy_names(
    __name__,
    {
        "alignfreeze.optim": ["make_optimizer"],
        "alignfreeze.realign.loss": ["ContrastiveAlignmentLoss"],
        "alignfreeze.realign.projection": ["projection_head"],
        "alignfreeze.realign.trainer": [
            "JOINT_COEFFICIENT",
            "RealignmentObjective",
            "RealignResult",
            "realign",
            "realign_files",
            "save_checkpoint",
            "save_realigned",
        ],
    },
    main="realign",
)
