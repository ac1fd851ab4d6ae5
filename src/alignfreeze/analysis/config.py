"""The settings of word-level alignment measurement (Gaschi et al., 2023): one typed
config for ``alignfreeze measure-alignment``, the analysis functions and runs alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alignfreeze.data.refs import ParallelRef
from alignfreeze.errors import AlignfreezeError
from alignfreeze.schema import added_setting


def parse_layers(text: str | Sequence[int], n_layers: int) -> list[int]:
    """``all``, ``last``, ``8``, ``0,4,8`` or ``6-12`` -> hidden-state indices in 0..L."""
    if not isinstance(text, str):
        layers = [int(x) for x in text]
    elif text.strip() == "all":
        layers = list(range(n_layers + 1))
    elif text.strip() == "last":
        layers = [n_layers]
    else:
        layers = []
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            try:
                layers.extend(range(int(lo), int(hi or lo) + 1))
            except ValueError:
                raise AlignfreezeError(f"bad layer list {text!r} (use all, last, 8, 0,4,8 or 6-12)") from None
    bad = [layer for layer in layers if not 0 <= layer <= n_layers]
    if bad or not layers:
        raise AlignfreezeError(
            f"layers {bad or text!r} are outside 0..{n_layers} (0 = embeddings, {n_layers} = last layer)"
        )
    return sorted(set(layers))


def check_layer_text(text: str) -> str:
    """The syntax of a layer list (``parse_layers`` without the model's depth): what a config
    or ``--layers`` says is checked when it is read, not after the model has loaded."""
    if text.strip() not in ("all", "last"):
        parse_layers(text, n_layers=10**6)
    return text


class AlignmentMeasureSettings(BaseModel):
    """How word retrieval is measured (Gaschi et al., Findings of ACL 2023): the settings of
    :func:`alignfreeze.analysis.retrieval.measure_alignment`, ``alignfreeze measure-alignment``
    (one option per field) and, through :class:`AnalysisSettings`, of a run's ``analysis``.

    Example::

        settings = af.AlignmentMeasureSettings(n_pairs=500, layers="8-12", modes=["strong"], csls_k=10)
    """

    model_config = ConfigDict(extra="forbid")
    n_pairs: int = Field(1000, ge=2, description="word pairs per language pair")
    layers: str = Field("all", description="all, last, or hidden states like 0,6,12 or 8-12 (0 = embeddings)")
    modes: list[str] = Field(
        default_factory=lambda: ["weak", "strong"],
        min_length=1,
        description="candidates: the other language's words (weak) or both languages' (strong); "
        "any mode of alignfreeze.analysis.retrieval_modes.RETRIEVAL_MODES",
    )
    directions: list[Literal["fwd", "bwd"]] = Field(
        default_factory=lambda: ["fwd", "bwd"], min_length=1, description="source words query (fwd), target words (bwd)"
    )
    csls_k: int = Field(0, ge=0, description="rank by CSLS with this many neighbours (0: plain cosine)")
    center: bool = Field(False, description="subtract each language's mean vector first")
    sample_seed: int = Field(0, ge=0, description="seed of the word-pair sample")
    batch_size: int = Field(16, ge=1, description="sentences per forward pass (16 measured fastest on a 2-core CPU)")
    max_length: int = Field(256, ge=8, description="subwords per sentence (longer ones are truncated)")
    word_vector: Optional[Literal["first", "last", "mean"]] = added_setting(
        None,
        description="a word's vector: its first subword, its last, or the mean of its subwords. null: first for an "
        "encoder, last for a decoder (a causal LM's first subword has not seen the rest of the word)",
    )

    @field_validator("modes")
    @classmethod
    def _modes_known(cls, value: list[str]) -> list[str]:
        from alignfreeze.analysis.retrieval_modes import check_mode

        return [check_mode(mode) for mode in value]

    @field_validator("layers", mode="before")
    @classmethod
    def _layers_as_text(cls, value):
        """``[0, 6, 12]`` or ``12`` is read as ``"0,6,12"`` / ``"12"``: one text form, parsed once per model."""
        if isinstance(value, int):
            return str(value)
        if isinstance(value, (list, tuple)):
            return ",".join(str(int(v)) for v in value)
        return value

    @field_validator("layers")
    @classmethod
    def _layers_parse(cls, value: str) -> str:
        try:
            return check_layer_text(value)
        except AlignfreezeError as err:
            raise ValueError(str(err)) from None


class AnalysisSettings(AlignmentMeasureSettings):
    """Alignment measured during a run (Gaschi et al., Findings of ACL 2023): before anything,
    after realignment and after fine-tuning, as ``alignment_*`` result rows. The measurement
    settings are those of :class:`AlignmentMeasureSettings`; ``pairs`` says where the word
    pairs come from and ``exclude_pairs`` which sentences they must avoid.

    Example::

        settings = af.AnalysisSettings(alignment=True, n_pairs=500, layers="last")
        # in a YAML experiment:  analysis: {alignment: true, n_pairs: 500}
    """

    alignment: bool = Field(False, description="measure alignment in this run")
    pairs: list[ParallelRef] = Field(
        default_factory=list,
        description="word-pair sources, dictionary-aligned with MUSE; default: <training language>-<eval language> "
        "for every other eval language, split 'test', the first parallel dataset found",
    )
    exclude_pairs: list[ParallelRef] = Field(
        default_factory=list,
        description="parallel data whose sentences the sample must not use (filled from the experiment's realignment "
        "pairs, so that every run of an experiment, baselines included, is measured on the same held-out words)",
    )

    def measure_settings(self) -> AlignmentMeasureSettings:
        return AlignmentMeasureSettings(**{k: getattr(self, k) for k in AlignmentMeasureSettings.model_fields})
