"""Models: the embedded ``e5-small`` and ``gemma3-270m``, resolution of model names, heads."""

from alignfreeze.models.checkpoints import verify_checkpoint
from alignfreeze.models.e5_small import E5_SMALL, prepare_e5_small
from alignfreeze.models.gemma3_270m import GEMMA3_270M, prepare_gemma3_270m
from alignfreeze.models.loading import resolve_model

__all__ = ["E5_SMALL", "GEMMA3_270M", "prepare_e5_small", "prepare_gemma3_270m", "resolve_model", "verify_checkpoint"]
