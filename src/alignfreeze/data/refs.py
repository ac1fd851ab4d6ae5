"""References to data in the catalog, as configs name them: a task's data for one language
(:class:`DataRef`) and a parallel corpus for a language pair (:class:`ParallelRef`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alignfreeze.data.languages import to_iso639_1

#: An ISO 639 code: 639-1 (two letters) or 639-2/3 (three). Any such code is accepted
#: wherever a language is named; the names table of :mod:`alignfreeze.data.languages` only
#: builds hub configuration names, so a code without an entry there works with local files
#: and fails only when its data must be fetched.
_ISO639 = re.compile(r"[a-z]{2,3}")


def check_language(code: str) -> str:
    """``code`` as alignfreeze names it (a three-letter code with a two-letter equivalent
    becomes that: ``fra`` -> ``fr``), or a ValueError when it is not an ISO 639 code."""
    if not isinstance(code, str) or not _ISO639.fullmatch(code):
        raise ValueError(f"language {code!r} is not an ISO 639 code (two or three lower-case letters: en, sw, yue)")
    return to_iso639_1(code)


class DataRef(BaseModel):
    """A task's data for one language: ``language``, ``split`` and optionally ``dataset`` (a
    treebank, ``xquad``...), resolved through the :class:`DataCatalog` when a run starts.

    Example::

        af.DataRef(language="en", split="train", dataset="ewt")
        # in YAML:  train: {language: en, split: train, dataset: ewt}
    """

    model_config = ConfigDict(extra="forbid")
    language: str
    split: str = "test"
    dataset: str | None = Field(
        None,
        description="a dataset or UD treebank name (ewt, pud, xquad, squad...); 'reference' for pos: the treebank the "
        "reference code loads for this language",
    )
    limit: int | None = Field(None, ge=1, description="use the first N records only")
    premise_split: Literal["train", "test"] | None = Field(
        None,
        description="nli: keep one side of a split by premise. Items sharing a premise (consecutive items of the "
        "premise_reference language's file) go to the same side, so that no evaluated item is a translation of a "
        "training item; files of all languages must be parallel.",
    )
    premise_train_fraction: float = Field(0.7, gt=0, lt=1)
    premise_reference: str = "en"

    _lang = field_validator("language")(classmethod(lambda cls, v: check_language(v)))


class ParallelRef(BaseModel):
    """Parallel text for realignment or alignment measurement: a language ``pair`` of the
    catalog (``en-fr``), its ``split`` and optionally its ``dataset`` (``un``, ``opus100``...).

    Example::

        af.ParallelRef(pair="en-fr", split="train", dataset="opus100")
        # in YAML:  realignment_pairs: [{pair: en-fr, split: train}]
        #           realignment_pairs: [{pair: en-ha, split: train, dataset: {nllb: 0.5, opus100: 0.5}}]
    """

    model_config = ConfigDict(extra="forbid")
    pair: str = Field(description="source-target, e.g. en-fr")
    split: str = "dev"
    dataset: str | None = Field(
        None,
        description="a corpus (un, opus100, nllb...); a named mixture (mix_opus100_nllb: NLLB for the reference's "
        "NLLB languages, OPUS-100 for the others); or corpora with weights, {nllb: 0.5, opus100: 0.5}: each pair "
        "drawn from a corpus with probability proportional to its weight (kept as nllb=0.5+opus100=0.5)",
    )
    limit: int | None = Field(None, ge=1)

    @field_validator("dataset", mode="before")
    @classmethod
    def _mixture(cls, v):
        from alignfreeze.data.mixtures import parse_weights, weighted_name

        if isinstance(v, dict):
            return weighted_name(v)
        parse_weights(v) if isinstance(v, str) else None  # a mixture's name is checked as its dict would be
        return v

    @field_validator("pair")
    @classmethod
    def _pair(cls, v: str) -> str:
        parts = v.split("-")
        if len(parts) != 2:
            raise ValueError(f"language pair {v!r} must look like en-fr")
        return "-".join(check_language(p) for p in parts)
