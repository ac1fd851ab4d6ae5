"""Realignment: a contrastive loss that pulls each word toward its translation, with
optional layer freezing (AlignFreeze)."""

from alignfreeze.callable_package import make_callable
from alignfreeze.optim import make_optimizer
from alignfreeze.realign.config import MATCH, RealignConfig
from alignfreeze.realign.freeze import FreezeSpec, frozen, frozen_parameters
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
    "FreezeSpec",
    "RealignConfig",
    "RealignResult",
    "RealignmentObjective",
    "frozen",
    "frozen_parameters",
    "make_optimizer",
    "projection_head",
    "realign",
    "realign_files",
    "save_checkpoint",
    "save_realigned",
]

# af.realign(...) calls the function; the package stays importable (alignfreeze.callable_package).
make_callable(__name__, realign)
