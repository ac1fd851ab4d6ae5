"""Find a model's transformer layers and embeddings, whatever its architecture.

The layer stack is discovered, never hard-coded: it is the ``nn.ModuleList`` whose length
is the config's layer count (``num_hidden_layers``, or ``n_layers`` for DistilBERT), and
the largest such list if there are several. This covers the encoders BERT, DistilBERT
(``transformer.layer``), XLM-R, DeBERTa-v2 (``encoder.layer``) and the embedded e5-small,
and the decoders (causal LMs) Llama, Qwen2, Mistral, Gemma 1-3 (``layers``) and GPT-2 (``h``).

A decoder differs in two places. Its input embeddings are a lone matrix (``embed_tokens``,
Gemma's scaled by sqrt(hidden); GPT-2's ``wte`` with the positions' ``wpe``), not an
``embeddings`` block: :func:`embeddings_modules`. And it is pre-norm: a norm after the last
layer (``norm``, GPT-2's ``ln_f``) makes the last hidden state, which transformers returns
normed (:func:`final_norm`). That norm belongs to the top layer, as an encoder's top layer
ends with its own LayerNorm: freezing the top layer freezes it, and running only the bottom
``k < L`` layers skips it (:func:`first_layers_only`), so hidden state ``k`` is the same
whether the model is cut there or not.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignfreeze.errors import AlignfreezeError

if TYPE_CHECKING:  # torch is imported where a model is inspected: reading a config.json needs none
    from torch import nn

#: Where a config gives the number of transformer layers, by architecture family
#: (``n_layers``: DistilBERT; ``n_layer``: GPT-2 style), first found wins.
LAYER_COUNT_KEYS = ("num_hidden_layers", "n_layers", "num_layers", "n_layer")


def _layer_count(config: Any) -> int | None:
    """The layer count of a config object or a ``config.json`` mapping, or None."""
    for key in LAYER_COUNT_KEYS:
        value = config.get(key) if isinstance(config, dict) else getattr(config, key, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def is_decoder(config: Any) -> bool:
    """Whether a config (object or ``config.json`` mapping) is a decoder-only causal language
    model (Llama, Qwen2, Mistral, Gemma 1-3, GPT-2...), as opposed to an encoder (BERT, XLM-R,
    DistilBERT, DeBERTa). Told from transformers' own model tables: a causal-LM class and no
    masked-LM one. BERT and XLM-R have both (their ``ForCausalLM`` is a decoder *use* of an
    encoder), so they count as encoders.

    Example::

        af.models.layers.is_decoder(af.load_model("e5-small").config)   # False
    """
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    model_type = config.get("model_type") if isinstance(config, dict) else getattr(config, "model_type", None)
    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def default_word_vector(config: Any) -> str:
    """The word vector (:data:`alignfreeze.data.subwords.WORD_VECTORS`) a model's kind calls
    for, given its config (object or ``config.json`` mapping): ``first`` for an encoder (the
    papers' first subword, which has seen the whole sentence), ``last`` for a decoder, whose
    first subword of a word has not yet seen the rest of the word.

    Example::

        af.models.layers.default_word_vector(af.load_model("e5-small").config)   # 'first'
    """
    return "last" if is_decoder(config) else "first"


def model_default_word_vector(name: str) -> str:
    """:func:`default_word_vector` of the model ``name``, from its ``config.json``
    (:func:`model_config_file`) without loading it; ``first`` where that cannot be read
    offline (a hub id not in the local cache), or where no model can load from ``name`` (a
    folder without a ``config.json``: loading says so, in one line): a decoder must be cached,
    or the word vector given, for its runs to default to ``last``. An embedded model not
    prepared yet is told by its registry entry's ``model_type``."""
    from alignfreeze.models.embedded import EMBEDDED_MODELS

    try:
        path = model_config_file(name)
        config = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
    except (AlignfreezeError, OSError, UnicodeDecodeError, ValueError):
        return "first"
    if config is None and name in EMBEDDED_MODELS:
        config = {"model_type": EMBEDDED_MODELS[name].model_type}
    return default_word_vector(config) if isinstance(config, dict) else "first"


def num_layers(model: nn.Module) -> int:
    value = _layer_count(model.config)
    if value is None:
        raise AlignfreezeError(
            f"cannot tell how many layers {type(model).__name__} has (no num_hidden_layers in its config)"
        )
    return value


def config_layer_count(path: str | Path) -> int | None:
    """The layer count a ``config.json`` file gives (``num_hidden_layers``, ``n_layers`` for
    DistilBERT...), or None when it names none. An unreadable file is an
    :class:`AlignfreezeError` naming it."""
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AlignfreezeError(f"{path}: not a readable model config ({exc})") from None
    if not isinstance(config, dict):
        raise AlignfreezeError(f"{path}: not a model config (expected a JSON object)")
    return _layer_count(config)


def model_config_file(name: str) -> Path | None:
    """The ``config.json`` of a model as a config names it, found without loading weights or
    downloading anything: the prepared folder of an embedded model (``e5-small``,
    ``gemma3-270m``), a local folder, or a hub id's copy in the local Hugging Face cache. None
    where there is none to read offline (a hub id not cached, an embedded model not prepared
    yet). A local path that is a file, or a folder without a ``config.json``, is an
    :class:`AlignfreezeError`: no model can load from it."""
    from alignfreeze.models.embedded import EMBEDDED_MODELS

    if name in EMBEDDED_MODELS:
        path = EMBEDDED_MODELS[name].checkpoint_dir() / "config.json"
        return path if path.is_file() else None
    folder = Path(name).expanduser()
    if folder.exists():
        if not folder.is_dir():
            raise AlignfreezeError(f"model {name!r} is a file; a model is a folder with a config.json, or a hub id")
        if not (folder / "config.json").is_file():
            raise AlignfreezeError(f"model folder {name!r} has no config.json (is it a saved model?)")
        return folder / "config.json"
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "config.json")
    except Exception:  # noqa: BLE001 -- not a valid hub id for the cache: nothing to read offline
        return None
    return Path(cached) if isinstance(cached, str) else None


def model_layer_count(name: str) -> int | None:
    """How many transformer layers the model ``name`` has, read from its ``config.json``
    (:func:`model_config_file`) without loading it; None when that cannot be told offline.
    For an embedded model not prepared yet, from what it is converted from where that tells
    (``e5-small``: the header of its packed file).

    Example::

        af.models.layers.model_layer_count("e5-small")   # 12
    """
    from alignfreeze.models.embedded import EMBEDDED_MODELS

    path = model_config_file(name)
    if path is not None:
        return config_layer_count(path)
    if name in EMBEDDED_MODELS:
        return EMBEDDED_MODELS[name].source_layer_count()
    return None


def transformer_layers(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """``(qualified_name, module_list)`` of the model's transformer blocks, bottom first."""
    from torch import nn

    n = num_layers(model)
    candidates = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.ModuleList) and len(module) == n and n > 0
    ]
    if not candidates:
        raise AlignfreezeError(f"found no list of {n} transformer layers in {type(model).__name__}")
    return max(candidates, key=lambda c: sum(p.numel() for p in c[1].parameters()))


def embeddings_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``[(qualified_name, module), ...]`` of the input embeddings: an encoder's
    ``embeddings`` block (word + position + type embeddings and their norm), or a decoder's
    input embedding matrix (``get_input_embeddings()``: ``embed_tokens``, GPT-2's ``wte``) and
    the learned position embeddings beside it (GPT-2's ``wpe``; rotary ones have no weights)."""
    from torch import nn

    for name, module in model.named_modules():
        if name.split(".")[-1] == "embeddings" and any(True for _ in module.parameters()):
            return [(name, module)]
    inputs = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    named = {id(module): name for name, module in model.named_modules()}
    if inputs is None or id(inputs) not in named:
        raise AlignfreezeError(f"found no embeddings module in {type(model).__name__}")
    name = named[id(inputs)]
    parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    prefix = name.rsplit(".", 1)[0] + "." if "." in name else ""
    beside = [
        (prefix + child_name, child)
        for child_name, child in parent.named_children()
        if isinstance(child, nn.Embedding) and child is not inputs
    ]
    return [(name, inputs), *beside]


def embeddings_module(model: nn.Module) -> tuple[str, nn.Module]:
    """The input embeddings block of an encoder (word + position + type embeddings and their
    norm), or a decoder's input embedding matrix (see :func:`embeddings_modules`)."""
    return embeddings_modules(model)[0]


#: What a decoder's norm after its last layer is called (Llama, Qwen2, Mistral, Gemma: ``norm``;
#: GPT-2: ``ln_f``; Phi, GPT-NeoX: ``final_layernorm``, ``final_layer_norm``).
FINAL_NORM_NAMES = ("norm", "ln_f", "final_layernorm", "final_layer_norm")


def final_norm(model: nn.Module) -> tuple[str, nn.Module] | None:
    """``(qualified_name, module)`` of a decoder's norm after its last layer, the one that
    makes transformers' last hidden state; None for an encoder (each of its layers ends with
    its own LayerNorm) or a decoder without one. See the module docstring."""
    if not is_decoder(model.config):
        return None
    name, _ = transformer_layers(model)
    parent_name = name.rsplit(".", 1)[0] if "." in name else ""
    parent = model.get_submodule(parent_name) if parent_name else model
    for child_name in FINAL_NORM_NAMES:
        child = getattr(parent, child_name, None)
        if child is not None and any(True for _ in child.parameters()):
            return (f"{parent_name}.{child_name}" if parent_name else child_name), child
    return None


#: The sub-modules a freeze spec's ``/attention`` and ``/ffn`` name inside one transformer
#: layer, per layer layout (the first layout whose every module a layer has wins). As the
#: reference's ``freeze_attn`` and ``freeze_ffn`` (emnlp-2026-code-submission,
#: ``multilingual_eval/training/training_loops.py`` 254-305): ``attention`` is the layer's
#: ``attention`` module (BERT, XLM-R, DeBERTa-v2, e5-small: self-attention, its output dense
#: and that LayerNorm; DistilBERT: q/k/v/out_lin, without ``sa_layer_norm``); ``ffn`` is the
#: two dense matrices of the feed-forward, the output LayerNorm left out. In a decoder
#: (Llama, Qwen2, Mistral, Gemma 1-3: ``self_attn`` and the gated ``mlp``; GPT-2: ``attn`` and
#: ``mlp``) ``attention`` is the self-attention with its output projection (and Gemma 3's
#: q/k norms, inside it) and ``ffn`` the feed-forward's matrices; the layer's norms, which sit
#: before or after those blocks, are left out of both, as the encoders' output LayerNorm is
#: left out of ``ffn``.
LAYER_BLOCKS: dict[str, dict[str, tuple[str, ...]]] = {
    "bert": {"attention": ("attention",), "ffn": ("intermediate.dense", "output.dense")},
    "distilbert": {"attention": ("attention",), "ffn": ("ffn.lin1", "ffn.lin2")},
    "llama": {"attention": ("self_attn",), "ffn": ("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")},
    "gpt2": {"attention": ("attn",), "ffn": ("mlp.c_fc", "mlp.c_proj")},
}
#: The sub-modules a freeze spec can name (``layers:0-5/attention``).
BLOCKS = ("attention", "ffn")


def layer_blocks(model: nn.Module, index: int, blocks: tuple[str, ...]) -> list[nn.Module]:
    """The modules of transformer layer ``index`` of ``model`` that make up ``blocks`` (from
    :data:`BLOCKS`), found by the layer's layout (:data:`LAYER_BLOCKS`). An architecture with
    none of those layouts is an :class:`AlignfreezeError` naming the model."""
    _, layers = transformer_layers(model)
    layer = layers[index]
    names = {name for name, _ in layer.named_modules()}
    for layout in LAYER_BLOCKS.values():
        if all(path in names for paths in layout.values() for path in paths):
            return [layer.get_submodule(path) for block in blocks for path in layout[block]]
    known = "; ".join(f"{kind}: " + ", ".join(sum(layout.values(), ())) for kind, layout in LAYER_BLOCKS.items())
    raise AlignfreezeError(
        f"cannot find the attention and feed-forward blocks in the layers of {type(model).__name__} "
        f"(known layouts, {known}): freeze whole layers there"
    )


@contextlib.contextmanager
def first_layers_only(model: nn.Module, k: int):
    """Run only the bottom ``k`` layers inside the block (inference speed-up when only
    hidden state ``k`` is needed). The model is restored on exit. In a decoder cut below its
    top (``k < L``), the norm after the last layer (:func:`final_norm`) is skipped too, since
    transformers applies it to whatever hidden state comes last: hidden state ``k`` is then
    what the whole model gives."""
    from torch import nn

    name, layers = transformer_layers(model)
    parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    attr = name.rsplit(".", 1)[-1]
    norm = final_norm(model) if k < len(layers) else None
    setattr(parent, attr, nn.ModuleList(list(layers)[:k]))
    if norm is not None:
        norm_parent = model.get_submodule(norm[0].rsplit(".", 1)[0]) if "." in norm[0] else model
        setattr(norm_parent, norm[0].rsplit(".", 1)[-1], nn.Identity())
    try:
        yield
    finally:
        setattr(parent, attr, layers)
        if norm is not None:
            setattr(norm_parent, norm[0].rsplit(".", 1)[-1], norm[1])


def encoder_of(model):
    """The bare encoder (or decoder) inside a task model (``model.base_model``: a
    ``Gemma3ForCausalLM``'s ``Gemma3TextModel``), or the model itself."""
    return getattr(model, "base_model", model)
