"""References to data in the catalog, as configs name them: a task's data for one language
(:class:`DataRef`) and a parallel corpus for a language pair (:class:`ParallelRef`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alignfreeze.data.languages import LANGUAGE_NAMES

LANGUAGES = tuple(sorted(LANGUAGE_NAMES))


def check_language(code: str) -> str:
    """``code`` if it is a known language code, else a ValueError listing them."""
    if code not in LANGUAGE_NAMES:
        raise ValueError(f"unknown language {code!r} (allowed: {', '.join(LANGUAGES)})")
    return code


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
    """

    model_config = ConfigDict(extra="forbid")
    pair: str = Field(description="source-target, e.g. en-fr")
    split: str = "dev"
    dataset: str | None = None
    limit: int | None = Field(None, ge=1)

    @field_validator("pair")
    @classmethod
    def _pair(cls, v: str) -> str:
        parts = v.split("-")
        if len(parts) != 2:
            raise ValueError(f"language pair {v!r} must look like en-fr")
        for p in parts:
            check_language(p)
        return v
