"""The typed description of a realignment (the "before" strategy, and the realignment
part of "during")."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alignfreeze.errors import AlignfreezeError
from alignfreeze.realign.freeze import FreezeSpec


class RealignConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("e5-small", description="'e5-small', a hub id or a local path")
    pairs: list[Path] = Field(default_factory=list, description="aligned-pairs files written by `alignfreeze align`")
    freeze: str = Field("none", description="FreezeSpec: none, front, back, layers:A-B, bottom:K, embeddings, joined by '+'")
    steps: int = Field(200, ge=1)
    batch_size: int = Field(16, ge=1, description="sentence pairs per batch")
    max_length: int = Field(96, ge=8, description="subwords per sentence")
    learning_rate: float = Field(2e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    temperature: float = Field(0.1, gt=0)
    mode: Literal["strong", "weak"] = "strong"
    projection: Literal["mlp", "linear", "none"] = "mlp"
    projection_dim: int = Field(128, ge=1)
    word_vector: Literal["first", "mean"] = "first"
    layer: Literal["top", "penultimate"] = Field(
        "top",
        description="'top': the last layer's output. 'penultimate' reproduces the reference code, which (through "
        "its hidden_states indexing) applied the loss to the output of layer L-1, leaving the top layer untouched.",
    )
    length_bucketing: bool = False
    seed: int = 0

    @field_validator("freeze")
    @classmethod
    def _valid_freeze(cls, value: str) -> str:
        try:
            FreezeSpec.parse(value)
        except AlignfreezeError as exc:  # pydantic reports ValueError as a validation error
            raise ValueError(str(exc)) from None
        return value
