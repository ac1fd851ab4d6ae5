"""Model names: ``e5-small`` is the embedded checkpoint; anything else is a hub id or path."""

from __future__ import annotations

from alignfreeze.models.e5_small import E5_SMALL, prepare_e5_small


def resolve_model(name: str) -> str:
    """Turn a model name from a config or the CLI into something ``from_pretrained`` takes.

    ``e5-small`` is converted on first use (see :mod:`alignfreeze.models.e5_small`) and
    resolves to its cached folder. Any other value is passed through unchanged: a Hugging
    Face hub id (loaded online, or from the local HF cache when offline) or a local path.
    """
    if name == E5_SMALL:
        return str(prepare_e5_small())
    return name
