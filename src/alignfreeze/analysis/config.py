"""The settings of word-level alignment measurement (Gaschi et al., 2023): one typed
config for ``alignfreeze measure-alignment``, the analysis functions and runs alike."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alignfreeze.data.refs import ParallelRef


class AlignmentMeasureSettings(BaseModel):
    """How word retrieval is measured (:func:`alignfreeze.analysis.retrieval.measure_alignment`)."""

    model_config = ConfigDict(extra="forbid")
    n_pairs: int = Field(1000, ge=2, description="word pairs per language pair")
    layers: str = Field("all", description="all, last, or hidden states like 0,6,12 or 8-12 (0 = embeddings)")
    modes: list[Literal["weak", "strong"]] = Field(
        default_factory=lambda: ["weak", "strong"],
        min_length=1,
        description="candidates: the other language's words (weak) or both languages' (strong)",
    )
    directions: list[Literal["fwd", "bwd"]] = Field(
        default_factory=lambda: ["fwd", "bwd"], min_length=1, description="source words query (fwd), target words (bwd)"
    )
    csls_k: int = Field(0, ge=0, description="rank by CSLS with this many neighbours (0: plain cosine)")
    center: bool = Field(False, description="subtract each language's mean vector first")
    sample_seed: int = Field(0, description="seed of the word-pair sample")
    batch_size: int = Field(16, ge=1, description="sentences per forward pass (16 measured fastest on a 2-core CPU)")
    max_length: int = Field(256, ge=8, description="subwords per sentence (longer ones are truncated)")


class AnalysisSettings(AlignmentMeasureSettings):
    """Alignment measured during a run: before anything, after realignment and after
    fine-tuning, as ``alignment_*`` result rows; the measurement settings, and where the
    word pairs come from."""

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
