"""Projection head used during realignment and discarded afterwards.

``mlp`` (the papers' choice): Linear(hidden, hidden) -> ReLU -> Linear(hidden, 128), no
biases. ``linear``: Linear(hidden, 128), no bias. ``none``: identity. The loss is computed
on the head's output, so the encoder is pulled towards alignment without being forced to
make its own space isotropic in 128 dimensions.
"""

from __future__ import annotations

from torch import nn

HEADS = ("mlp", "linear", "none")


def projection_head(kind: str, hidden: int, out: int = 128) -> nn.Module:
    if kind == "mlp":
        return nn.Sequential(nn.Linear(hidden, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, out, bias=False))
    if kind == "linear":
        return nn.Linear(hidden, out, bias=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown projection head {kind!r} (allowed: {', '.join(HEADS)})")
