"""Find an encoder's transformer layers and embeddings, whatever its architecture.

The layer stack is discovered, never hard-coded: it is the ``nn.ModuleList`` whose length
is the config's layer count (``num_hidden_layers``, or ``n_layers`` for DistilBERT), and
the largest such list if there are several. This covers BERT, DistilBERT (``transformer.layer``),
XLM-R, DeBERTa-v2 (``encoder.layer``) and the embedded e5-small.
"""

from __future__ import annotations

import contextlib

from torch import nn

from alignfreeze.errors import AlignfreezeError


def num_layers(model: nn.Module) -> int:
    config = model.config
    for attr in ("num_hidden_layers", "n_layers", "num_layers"):
        value = getattr(config, attr, None)
        if isinstance(value, int):
            return value
    raise AlignfreezeError(
        f"cannot tell how many layers {type(model).__name__} has (no num_hidden_layers in its config)"
    )


def transformer_layers(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """``(qualified_name, module_list)`` of the model's transformer blocks, bottom first."""
    n = num_layers(model)
    candidates = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.ModuleList) and len(module) == n and n > 0
    ]
    if not candidates:
        raise AlignfreezeError(f"found no list of {n} transformer layers in {type(model).__name__}")
    return max(candidates, key=lambda c: sum(p.numel() for p in c[1].parameters()))


def embeddings_module(model: nn.Module) -> tuple[str, nn.Module]:
    """The input embeddings block (word + position + type embeddings and their norm)."""
    for name, module in model.named_modules():
        if name.split(".")[-1] == "embeddings" and any(True for _ in module.parameters()):
            return name, module
    raise AlignfreezeError(f"found no embeddings module in {type(model).__name__}")


@contextlib.contextmanager
def first_layers_only(model: nn.Module, k: int):
    """Run only the bottom ``k`` layers inside the block (inference speed-up when only
    hidden state ``k`` is needed). The model is restored on exit."""
    name, layers = transformer_layers(model)
    parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    attr = name.rsplit(".", 1)[-1]
    setattr(parent, attr, nn.ModuleList(list(layers)[:k]))
    try:
        yield
    finally:
        setattr(parent, attr, layers)


def encoder_of(model):
    """The bare encoder inside a task model (``model.base_model``), or the model itself."""
    return getattr(model, "base_model", model)
