"""Encoders: the embedded ``e5-small`` default and resolution of model names."""

from alignfreeze.models.e5_small import E5_SMALL, prepare_e5_small, verify_checkpoint
from alignfreeze.models.loading import resolve_model

__all__ = ["E5_SMALL", "prepare_e5_small", "resolve_model", "verify_checkpoint"]
