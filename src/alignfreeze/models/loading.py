"""The one place a model is loaded: any head, onto the configured device.

Every command and run loads through :func:`load_model` / :func:`load_tokenizer`, so every
one of them uses the GPU when there is one (``cuda``, else ``mps``, else the CPU), or the
device named by ``$ALIGNFREEZE_DEVICE`` or a ``device`` argument. Weights stay float32;
lower precision is applied as autocast by :mod:`alignfreeze.precision`, so that one
checkpoint serves every precision.
"""

from __future__ import annotations

import os
from typing import Sequence

from alignfreeze.models.embedded import EMBEDDED_MODELS

#: Task heads by name: ``None`` is the bare encoder.
HEADS = ("token", "sequence", "qa")


def resolve_model(name: str) -> str:
    """Turn a model name from a config or the CLI into something ``from_pretrained`` takes.

    An embedded model (``e5-small``, ``gemma3-270m``: :mod:`alignfreeze.models.embedded`),
    converted on first use, resolves to its cached folder. Any other value is passed through
    unchanged: a Hugging Face hub id (loaded online, or from the local HF cache when offline)
    or a local path.
    """
    if name in EMBEDDED_MODELS:
        return str(EMBEDDED_MODELS[name].prepare())
    return name


def default_device(device: str | None = None):
    """``device`` if given, else ``$ALIGNFREEZE_DEVICE``, else the best one available."""
    import torch

    name = device or os.environ.get("ALIGNFREEZE_DEVICE") or ""
    if name and name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def load_tokenizer(name: str):
    """The fast tokenizer of ``name`` (``e5-small``, a hub id or a local folder).

    Example::

        tokenizer = af.load_tokenizer("e5-small")
    """
    from transformers import AutoTokenizer

    from alignfreeze.models.tokenizers import prepare_padding

    return prepare_padding(AutoTokenizer.from_pretrained(resolve_model(name)))  # right, with a pad token


def load_model(name: str, head: str | None = None, labels: Sequence[str] = (), device: str | None = None):
    """Load a model: an embedded one (``e5-small``, ``gemma3-270m``), a hub id or a local
    folder, with a task head (``token``, ``sequence``, ``qa``; ``None``: the encoder alone)
    labelled with ``labels``, on ``device`` (default: :func:`default_device`, ``$ALIGNFREEZE_DEVICE``
    or the GPU when there is one), in eval mode. Every stage loads models through here.
    The head is transformers' class for the model type where it has one, else alignfreeze's
    (:mod:`alignfreeze.models.heads`: e.g. token classification and QA on Gemma 3); a
    base checkpoint gets a fresh head, a saved task model its own.

    Example::

        encoder = af.load_model("e5-small")
        tagger = af.load_model("bert-base-multilingual-cased", head="token", labels=["NOUN", "VERB"])
    """
    import transformers

    from alignfreeze.models.adapters import is_adapter_folder, load_adapter_model
    from alignfreeze.models.heads import head_class

    if head is not None and head not in HEADS:
        raise ValueError(f"unknown head {head!r} (allowed: {', '.join(HEADS)}, or None)")
    if is_adapter_folder(name):  # saved with an adapter (training.adapter): base model + adapter + head
        return load_adapter_model(name, head, labels, device)

    path = resolve_model(name)
    options = {}
    if head is None:
        cls = transformers.AutoModel
    else:
        cls = head_class(transformers.AutoConfig.from_pretrained(path), head)
    if head in ("token", "sequence"):
        options = {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {label: i for i, label in enumerate(labels)},
        }
    model = cls.from_pretrained(path, **options)
    return model.to(default_device(device)).eval()
