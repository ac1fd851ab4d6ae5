"""Which parameters stay fixed during realignment (AlignFreeze).

A :class:`FreezeSpec` is parsed from a string; parts combine with ``+``:

======================  ===========================================================
``none``                nothing frozen
``front``               the lower floor(L/2) transformer layers (embeddings stay
                        trainable, as in the paper)
``back``                the upper floor(L/2) layers
``layers:0-5``          layers 0..5 (inclusive); ``layers:3`` a single layer
``bottom:k``            the lower k layers (for sweeps; ``bottom:0`` is ``none``)
``embeddings``          the input embeddings block
``<layers>/attention``  the attention block of those layers only (``front/attention``,
                        ``layers:0-5/attention``): self-attention, its output dense and
                        that LayerNorm, as the reference's ``layer.attention``
``<layers>/ffn``        their feed-forward only (``back/ffn``): the intermediate and output
                        dense matrices; the output LayerNorm stays trainable, as in the
                        reference's ``freeze_ffn``
======================  ===========================================================

e.g. ``front+embeddings``, ``layers:0-5/attention+layers:6-11/ffn``. The sub-modules follow
``freeze_attn`` and ``freeze_ffn`` of the emnlp-2026 code (``multilingual_eval/training/
training_loops.py`` 254-274, 276-305; :data:`alignfreeze.models.layers.LAYER_BLOCKS`).
``L``, the layer list and the sub-modules are discovered from the model
(:mod:`alignfreeze.models.layers`), so it works for BERT, DistilBERT, XLM-R, DeBERTa-v2
and e5-small alike, and for decoders (Llama, Qwen2, Mistral, Gemma 1-3, GPT-2). Parameters
outside both the layer list and the embeddings (a pooler, DeBERTa's relative-position
embeddings) are never frozen, except a decoder's norm after its last layer, which goes with
the top layer (``back`` freezes it; ``front`` leaves it trainable): it makes the last hidden
state as an encoder's top layer's own LayerNorm does
(:func:`alignfreeze.models.layers.final_norm`).

Frozen parameters get ``requires_grad=False`` and are left out of the optimiser.
:func:`frozen` restores every flag on exit, so everything is trainable again for
fine-tuning. A :class:`FreezeSchedule` releases a spec's layers gradually during realignment
(:func:`gradual_unfreezing`): those are in the optimiser from the start, without a gradient
while frozen.

``matching="name_prefix"`` (:func:`frozen_parameters`) reproduces how the reference code chose
the parameters of its ``during_partial_freeze_*`` runs: every parameter whose *name* starts
with a frozen layer's name, ``….layer.1`` included, which also matches ``….layer.10`` and
``….layer.11`` (``multilingual_eval/training/training_loops.py`` 739, 758). So ``front`` keeps
layers 0-5, 10 and 11 of a 12-layer model out of the realignment gradient (``back``: 6-11,
as exact); with 6 layers (DistilmBERT) both are exact (0-2, 3-5); with 24, ``front`` (0-11)
takes all 24 (``….layer.1`` and ``….layer.2`` match 10-23).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alignfreeze.errors import AlignfreezeError
from alignfreeze.models.adapters import fixed_by_adapter
from alignfreeze.models.layers import (
    BLOCKS,
    embeddings_modules,
    final_norm,
    layer_blocks,
    num_layers,
    transformer_layers,
)

if TYPE_CHECKING:  # torch only in annotations: a config's FreezeSpec loads without it
    from torch import nn

FORMS = ("none", "front", "back", "layers:A-B", "bottom:K", "embeddings", "<layers>/attention", "<layers>/ffn")
#: What a ``<layers>/<block>`` part freezes of each of its layers; ``layer``: all of it.
WHOLE_LAYER = "layer"
#: How :func:`frozen_parameters` finds a frozen layer's parameters (see the module docstring).
MATCHINGS = ("exact", "name_prefix")


def _layer_range(part: str) -> tuple[int, int]:
    """``(first, last)`` of a ``layers:A-B`` or ``layers:A`` part."""
    bounds = part.split(":")[1].split("-")
    return int(bounds[0]), int(bounds[-1])


def _split_block(part: str) -> tuple[str, str]:
    """``(layers, block)`` of a part: ``("front", "attention")`` for ``front/attention``,
    ``("front", "layer")`` for ``front``."""
    layers, _, block = part.partition("/")
    return layers, block or WHOLE_LAYER


def _merged(blocks: set[str]) -> frozenset[str]:
    """What is frozen of a layer given the parts naming it: a whole layer includes its blocks."""
    return frozenset({WHOLE_LAYER} if WHOLE_LAYER in blocks else blocks)


@dataclass(frozen=True, eq=False)
class FreezeSpec:
    """Which parameters stay fixed during realignment: parsed once from its text and written
    back as it. ``front`` freezes the lower half of the transformer layers and ``back`` the
    upper half (AlignFreeze, Bakos, Gaschi et al., NAACL 2025); ``layers:A-B``, ``bottom:K``,
    ``embeddings`` and ``none`` are finer, ``/attention`` or ``/ffn`` after a layer selection
    (``front/attention``) freezes that sub-module alone, and ``+`` joins them (see the module
    docstring).
    It equals its text (``spec == "front"``).

    Example::

        spec = af.FreezeSpec.parse("front+embeddings")
        spec.frozen_layers(12)      # the frozen transformer layers of a 12-layer encoder: [0, ..., 5]
        af.FreezeSpec.parse("back/ffn").frozen_blocks(4)   # {2: {'ffn'}, 3: {'ffn'}}
    """

    text: str
    parts: tuple[str, ...]

    def __eq__(self, other) -> bool:
        if isinstance(other, FreezeSpec):
            return self.text == other.text
        if isinstance(other, str):
            return self.text == other.strip()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)

    @classmethod
    def parse(cls, text: str) -> "FreezeSpec":
        text = (text or "none").strip()
        parts = tuple(p.strip() for p in text.split("+") if p.strip())
        for whole in parts:
            part, block = _split_block(whole)
            if block != WHOLE_LAYER and (block not in BLOCKS or part in ("none", "embeddings")):
                raise AlignfreezeError(
                    f"freeze spec {whole!r} in {text!r}: a sub-module is {' or '.join(BLOCKS)} after a "
                    "layer selection (front, back, layers:A-B, bottom:K), e.g. front/attention"
                )
            if part in ("none", "front", "back", "embeddings"):
                continue
            if re.fullmatch(r"layers:\d+(-\d+)?", part):
                lo, hi = _layer_range(part)
                if lo > hi:
                    raise AlignfreezeError(f"freeze spec {part!r} in {text!r} is an empty range (lower layer first)")
                continue
            if re.fullmatch(r"bottom:\d+", part):
                continue
            raise AlignfreezeError(
                f"unknown freeze spec {part!r} in {text!r} (allowed: {', '.join(FORMS)}, joined with '+')"
            )
        return cls(text, parts)

    def frozen_blocks(self, n_layers: int) -> dict[int, frozenset[str]]:
        """Layer -> what this spec freezes of it, for a model of ``n_layers`` layers:
        ``{"layer"}`` (all of it) or some of ``{"attention", "ffn"}``; only layers with
        something frozen are keys."""
        self.check_fits(n_layers)
        half = n_layers // 2
        out: dict[int, set[str]] = {}
        for whole in self.parts:
            part, block = _split_block(whole)
            layers: range = range(0)
            if part == "front":
                layers = range(half)
            elif part == "back":
                layers = range(n_layers - half, n_layers)
            elif part.startswith("bottom:"):
                layers = range(int(part.split(":")[1]))
            elif part.startswith("layers:"):
                lo, hi = _layer_range(part)
                layers = range(lo, hi + 1)
            for index in layers:
                out.setdefault(index, set()).add(block)
        return {i: _merged(b) for i, b in sorted(out.items())}

    def frozen_layers(self, n_layers: int) -> list[int]:
        """The layers this spec freezes all or part of (``front/ffn``: the front layers)."""
        return list(self.frozen_blocks(n_layers))

    def problems(self, n_layers: int) -> list[str]:
        """Why the parts of this spec do not fit a model of ``n_layers`` layers (none: it fits)."""
        out = []
        for whole in self.parts:
            part, _ = _split_block(whole)
            if part.startswith("bottom:") and int(part.split(":")[1]) > n_layers:
                out.append(f"{part} asks for more layers than the model has")
            elif part.startswith("layers:") and _layer_range(part)[1] >= n_layers:
                out.append(f"{part} is outside the model's layers 0-{n_layers - 1}")
        return out

    def check_fits(self, n_layers: int, model: str | None = None, where: str = "freeze") -> None:
        """Raise an :class:`AlignfreezeError` naming the spec, the model and its layer count
        when a part of the spec does not fit a model of ``n_layers`` transformer layers
        (``layers:5-99`` on a 4-layer model). Runs check this before loading any model, with
        the count from the model's ``config.json``
        (:func:`alignfreeze.models.layers.model_layer_count`)."""
        problems = self.problems(n_layers)
        if problems:
            of = f"model {model!r}" if model else "the model"
            raise AlignfreezeError(
                f"{where} {self.text!r} does not fit {of}, which has {n_layers} layers (0-{n_layers - 1}): "
                + "; ".join(problems)
            )

    @property
    def freezes_embeddings(self) -> bool:
        return "embeddings" in self.parts

    def __str__(self) -> str:
        return self.text

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler):
        """A config field of this type reads ``"front"``, ``"layers:0-5"``... once, and writes
        the same text back (YAML, JSON and run ids see the string)."""
        from pydantic_core import core_schema

        def validate(value):
            if isinstance(value, cls):
                return value
            if not isinstance(value, str):
                raise ValueError(f"a freeze spec is text like 'front' or 'layers:0-5', not {value!r}")
            try:
                return cls.parse(value)
            except AlignfreezeError as exc:  # pydantic reports ValueErrors as validation errors
                raise ValueError(str(exc)) from None

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str, when_used="always")
        )


def layer_parameters(model: nn.Module) -> list[list[nn.Parameter]]:
    """Each transformer layer's parameters, bottom first; a decoder's top layer with its
    final norm (:func:`alignfreeze.models.layers.final_norm`)."""
    _, layers = transformer_layers(model)
    out = [list(layer.parameters()) for layer in layers]
    norm = final_norm(model)
    if norm is not None and out:
        out[-1] += list(norm[1].parameters())
    return out


def frozen_parameters(model: nn.Module, spec: FreezeSpec, matching: str = "exact") -> list[nn.Parameter]:
    """The parameters ``spec`` freezes in ``model``, in the model's order. ``matching="exact"``:
    those of the spec's layers (and embeddings); ``"name_prefix"``: every parameter whose name
    starts with ``<layer list>.<i>`` for a frozen layer ``i`` (so ``….layer.1`` takes layers 10-19
    too), as the reference code's ``during_partial_freeze_*`` did (``training_loops.py`` 739, 758)."""
    if matching not in MATCHINGS:
        raise AlignfreezeError(f"unknown freeze matching {matching!r} (allowed: {', '.join(MATCHINGS)})")
    _, layers = transformer_layers(model)
    blocks = spec.frozen_blocks(num_layers(model))
    if matching == "name_prefix":
        # "<list>.1" is a prefix of "<list>.10".."<list>.19" too: each of those layers gets
        # what layer 1 gets (the reference's string match, per layer index).
        widened: dict[int, set[str]] = {}
        for index in blocks:
            for other in range(len(layers)):
                if str(other).startswith(str(index)):
                    widened.setdefault(other, set()).update(blocks[index])
        blocks = {i: _merged(b) for i, b in widened.items()}
    chosen: set[int] = set()
    whole = layer_parameters(model)
    for index, frozen_blocks in blocks.items():
        if WHOLE_LAYER in frozen_blocks:
            chosen.update(id(p) for p in whole[index])
        else:
            modules = layer_blocks(model, index, tuple(b for b in BLOCKS if b in frozen_blocks))
            chosen.update(id(p) for module in modules for p in module.parameters())
    if spec.freezes_embeddings:
        chosen.update(id(p) for _, module in embeddings_modules(model) for p in module.parameters())
    return [p for p in model.parameters() if id(p) in chosen]


def frozen_layer_indices(model: nn.Module, spec: FreezeSpec, matching: str = "exact") -> list[int]:
    """The transformer layers all of whose parameters :func:`frozen_parameters` returns."""
    chosen = {id(p) for p in frozen_parameters(model, spec, matching)}
    _, layers = transformer_layers(model)
    return [i for i, layer in enumerate(layers) if all(id(p) in chosen for p in layer.parameters())]


@contextlib.contextmanager
def frozen(model: nn.Module, spec: FreezeSpec | str):
    """Freeze per ``spec`` inside the block; restore every ``requires_grad`` flag after."""
    spec = FreezeSpec.parse(spec) if isinstance(spec, str) else spec
    before = {id(p): p.requires_grad for p in model.parameters()}
    try:
        for p in frozen_parameters(model, spec):
            p.requires_grad_(False)
        yield spec
    finally:
        for p in model.parameters():
            p.requires_grad_(before.get(id(p), True))


#: The orders :class:`FreezeSchedule` unfreezes layers in.
UnfreezeOrder = Literal["bottom_up", "top_down"]
UNFREEZE_ORDERS = get_args(UnfreezeOrder)


class FreezeSchedule(BaseModel):
    """Gradual unfreezing during realignment: the freeze spec's frozen layers are unfrozen one
    at a time, one every ``every`` steps, lowest first (``bottom_up``) or highest first
    (``top_down``). Steps ``1..every`` run with the whole spec frozen, steps
    ``every+1..2*every`` with one layer fewer, and so on until none is left. Embeddings a spec
    freezes stay frozen throughout; with a sub-module spec (``front/attention``) a layer's turn
    unfreezes its frozen sub-module. Fine-tuning is not affected. Written ``{unfreeze:
    bottom_up, every: 100}`` in a config, or ``bottom_up:100`` as text (``--freeze-schedule``).

    The reference's ``before_gradual_{bottomup,topdown}_K`` differs (emnlp-2026-code-submission,
    ``multilingual_eval/training/epoch_loop.py`` 207-362): its layers are the embeddings plus
    every encoder layer, ``max(1, L//K)`` of them start unfrozen, and at each of ``K`` stages
    (every ``nb_iter//K`` steps) ``max(1, ((s+1)·L)//K)`` are unfrozen; here the start is the
    freeze spec and one layer is released every ``every`` steps.

    Example::

        schedule = af.FreezeSchedule(unfreeze="top_down", every=2)
        schedule.frozen_layers([0, 1, 2, 3], step=3)    # [0, 1, 2]
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    unfreeze: UnfreezeOrder = Field(description="which frozen layer goes first: lowest or highest")
    every: int = Field(ge=1, description="realignment steps between two layers unfrozen")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        """``"bottom_up:100"`` is ``{unfreeze: bottom_up, every: 100}``."""
        if isinstance(data, str):
            order, _, every = data.strip().partition(":")
            if order not in UNFREEZE_ORDERS or not every.strip().isdigit():
                raise ValueError(f"expected ORDER:K with ORDER one of {', '.join(UNFREEZE_ORDERS)}, e.g. bottom_up:100")
            return {"unfreeze": order, "every": int(every)}
        return data

    def __str__(self) -> str:
        return f"{self.unfreeze}:{self.every}"

    def frozen_layers(self, start: list[int], step: int) -> list[int]:
        """The layers of ``start`` (the spec's frozen layers) still frozen at realignment step
        ``step`` (counted from 1)."""
        order = sorted(start, reverse=self.unfreeze == "top_down")
        released = min(len(order), max(0, step - 1) // self.every)
        return sorted(order[released:])


class GradualUnfreezing:
    """A :class:`FreezeSchedule` applied to a model whose ``spec`` is frozen: which of the
    spec's parameters are frozen at each step, and :meth:`apply` to set their
    ``requires_grad`` flags. Built by :func:`gradual_unfreezing`, which makes them all
    trainable first, so that an optimiser built then holds every parameter that will be
    released (a parameter without a gradient is left alone by torch's Adam and AdamW, weight
    decay included)."""

    def __init__(self, model: nn.Module, spec: FreezeSpec, schedule: FreezeSchedule):
        self.schedule = schedule
        # Weights an adapter holds fixed stay fixed when their layer's turn comes: only the
        # adapter's own matrices are released (alignfreeze.models.adapters).
        chosen = {id(p) for p in frozen_parameters(model, spec)} - fixed_by_adapter(model)
        per_layer = {i: [p for p in params if id(p) in chosen] for i, params in enumerate(layer_parameters(model))}
        #: layer -> its parameters the spec freezes (only layers with some).
        self.layers: dict[int, list[nn.Parameter]] = {i: ps for i, ps in per_layer.items() if ps}

    def frozen_layers(self, step: int) -> list[int]:
        return self.schedule.frozen_layers(list(self.layers), step)

    def frozen_parameters(self, step: int) -> list[nn.Parameter]:
        return [p for i in self.frozen_layers(step) for p in self.layers[i]]

    def apply(self, step: int) -> None:
        """Freeze what is frozen at ``step`` and release the rest, before that step's forward pass."""
        still = set(self.frozen_layers(step))
        for index, params in self.layers.items():
            for p in params:
                p.requires_grad_(index not in still)


@contextlib.contextmanager
def gradual_unfreezing(model: nn.Module, spec: FreezeSpec, schedule: FreezeSchedule | None):
    """Inside the block (entered with ``spec`` frozen), the spec's layer parameters are
    trainable until the first :meth:`GradualUnfreezing.apply`: build the optimiser then.
    Yields the :class:`GradualUnfreezing`, or None without a schedule. Flags restored on exit."""
    if schedule is None:
        yield None
        return
    unfreezing = GradualUnfreezing(model, spec, schedule)
    params = [p for ps in unfreezing.layers.values() for p in ps]
    before = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(True)
        yield unfreezing
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)


def parse_schedule(value: FreezeSchedule | str | dict | None) -> FreezeSchedule | None:
    """A :class:`FreezeSchedule` from its text (``bottom_up:100``) or mapping, once; a bad one
    is a one-line :class:`AlignfreezeError`."""
    if value is None or isinstance(value, FreezeSchedule):
        return value
    from pydantic import ValidationError

    try:
        return FreezeSchedule.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise AlignfreezeError(f"freeze schedule {value!r}: {problems}") from None
