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
======================  ===========================================================

e.g. ``front+embeddings``. ``L`` and the layer list are discovered from the model
(:mod:`alignfreeze.models.layers`), so it works for BERT, DistilBERT, XLM-R, DeBERTa-v2
and e5-small alike. Parameters outside both the layer list and the embeddings (a pooler,
DeBERTa's relative-position embeddings) are never frozen.

Frozen parameters get ``requires_grad=False`` and are left out of the optimiser.
:func:`frozen` restores every flag on exit, so everything is trainable again for
fine-tuning.

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
from typing import TYPE_CHECKING

from alignfreeze.errors import AlignfreezeError
from alignfreeze.models.layers import embeddings_module, num_layers, transformer_layers

if TYPE_CHECKING:  # torch only in annotations: a config's FreezeSpec loads without it
    from torch import nn

FORMS = ("none", "front", "back", "layers:A-B", "bottom:K", "embeddings")
#: How :func:`frozen_parameters` finds a frozen layer's parameters (see the module docstring).
MATCHINGS = ("exact", "name_prefix")


def _layer_range(part: str) -> tuple[int, int]:
    """``(first, last)`` of a ``layers:A-B`` or ``layers:A`` part."""
    bounds = part.split(":")[1].split("-")
    return int(bounds[0]), int(bounds[-1])


@dataclass(frozen=True, eq=False)
class FreezeSpec:
    """Which parameters stay fixed during realignment: parsed once from its text and written
    back as it. ``front`` freezes the lower half of the transformer layers and ``back`` the
    upper half (AlignFreeze, Bakos, Gaschi et al., NAACL 2025); ``layers:A-B``, ``bottom:K``,
    ``embeddings`` and ``none`` are finer, and ``+`` joins them (see the module docstring).
    It equals its text (``spec == "front"``).

    Example::

        spec = af.FreezeSpec.parse("front+embeddings")
        spec.frozen_layers(12)      # the frozen transformer layers of a 12-layer encoder: [0, ..., 5]
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
        for part in parts:
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

    def frozen_layers(self, n_layers: int) -> list[int]:
        self.check_fits(n_layers)
        half = n_layers // 2
        layers: set[int] = set()
        for part in self.parts:
            if part == "front":
                layers.update(range(half))
            elif part == "back":
                layers.update(range(n_layers - half, n_layers))
            elif part.startswith("bottom:"):
                layers.update(range(int(part.split(":")[1])))
            elif part.startswith("layers:"):
                lo, hi = _layer_range(part)
                layers.update(range(lo, hi + 1))
        return sorted(layers)

    def problems(self, n_layers: int) -> list[str]:
        """Why the parts of this spec do not fit a model of ``n_layers`` layers (none: it fits)."""
        out = []
        for part in self.parts:
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


def frozen_parameters(model: nn.Module, spec: FreezeSpec, matching: str = "exact") -> list[nn.Parameter]:
    """The parameters ``spec`` freezes in ``model``, in the model's order. ``matching="exact"``:
    those of the spec's layers (and embeddings); ``"name_prefix"``: every parameter whose name
    starts with ``<layer list>.<i>`` for a frozen layer ``i`` (so ``….layer.1`` takes layers 10-19
    too), as the reference code's ``during_partial_freeze_*`` did (``training_loops.py`` 739, 758)."""
    if matching not in MATCHINGS:
        raise AlignfreezeError(f"unknown freeze matching {matching!r} (allowed: {', '.join(MATCHINGS)})")
    name, layers = transformer_layers(model)
    indices = spec.frozen_layers(num_layers(model))
    chosen: set[int] = set()
    if matching == "exact":
        for index in indices:
            chosen.update(id(p) for p in layers[index].parameters())
    else:
        prefixes = tuple(f"{name}.{index}" for index in indices)
        chosen.update(id(p) for n, p in model.named_parameters() if prefixes and n.startswith(prefixes))
    if spec.freezes_embeddings:
        chosen.update(id(p) for p in embeddings_module(model)[1].parameters())
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
