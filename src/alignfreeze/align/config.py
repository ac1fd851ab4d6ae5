"""Aligner configurations: one typed config per aligner, a registry from names to
configs, and :func:`build_aligner`, the one place an aligner is built from its config.

A config is given by name (``aligner: dictionary``) or as a mapping with its settings
(``aligner: {name: dictionary, unique_source: any_translation}``). Every aligner shares the
two link filters that the AlignFreeze reference applies to all its aligners
(``multilingual_eval/datasets/realignment_task.py`` lines 37-57, always on there):

* ``keep_one_to_one``: drop every link of a word that takes part in several links;
* ``drop_identical``: then drop links between identical strings.

Adding an aligner: write its :class:`~alignfreeze.align.base.WordAligner`, a config class
here with a ``name`` literal and a ``build`` method, and one line in :data:`ALIGNER_CONFIGS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from alignfreeze.align.base import WordAligner
from alignfreeze.errors import AlignfreezeError


class AlignerSettings(BaseModel):
    """Settings every aligner has: the link filters applied after it."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    keep_one_to_one: bool = Field(False, description="drop every link of a word that has several links")
    drop_identical: bool = Field(False, description="drop links between identical strings")

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        """The aligner for one language pair (``en-fr``). ``catalog`` finds files the config
        does not name; ``model`` is the run's model (the embedding aligner's default)."""
        raise NotImplementedError


class DictionaryAlignerConfig(AlignerSettings):
    """Bilingual-dictionary links (MUSE), with the AlignFreeze reference's matching rules."""

    name: Literal["dictionary"] = "dictionary"
    dictionary: Optional[Path] = Field(
        None, description="a MUSE file; default: the data catalog's <src>-<tgt> dictionary"
    )
    unique_source: Literal["linked", "any_translation"] = Field(
        "linked",
        description="a target word must be the translation of exactly one source position: among the linked ones "
        "('linked'), or among every source word the dictionary translates to it ('any_translation', the reference's "
        "realignment_dataset.py lines 187-196)",
    )
    reverse_dictionary: Literal["none", "file", "forward_copy"] = Field(
        "none",
        description="entries read in the other direction too: 'file' the <tgt>-<src> dictionary; 'forward_copy' the "
        "<src>-<tgt> file read again as if it were <tgt>-<src>, which is what the reference did (its download script "
        "saves en-X.txt under both names)",
    )

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        from alignfreeze.align.dictionary import DictionaryAligner
        from alignfreeze.data import read_muse
        from alignfreeze.fileio import sha256_file

        src, tgt = pair.split("-")
        path = Path(self.dictionary or _catalog(catalog).resolve("dictionary", pair, "full", allow_hub=False).files[0])
        files = [path]
        reverse = None
        if self.reverse_dictionary == "file":
            reverse_path = _catalog(catalog).resolve("dictionary", f"{tgt}-{src}", "full", allow_hub=False).files[0]
            files.append(reverse_path)
            reverse = (lambda: read_muse(reverse_path), reverse_path.name)
        elif self.reverse_dictionary == "forward_copy":
            reverse = (lambda: read_muse(path), f"{path.name} (forward copy)")
        # Read only if a sentence must be aligned: a cached alignment needs just the files' hashes.
        fingerprint = "+".join(sha256_file(f) for f in files)
        return DictionaryAligner(
            lambda: read_muse(path),
            source=path.name,
            unique_source=self.unique_source,
            reverse_entries=reverse,
            fingerprint=fingerprint,
        )


class EflomalAlignerConfig(AlignerSettings):
    """Statistical links: eflomal in both directions + grow-diag-final-and (stands in for FastAlign)."""

    name: Literal["eflomal"] = "eflomal"
    model: int = Field(3, ge=1, le=3, description="eflomal's model: 1 IBM1, 2 + HMM, 3 + fertility")
    n_samplers: int = Field(3, ge=1)

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        from alignfreeze.align.statistical import EflomalAligner

        return EflomalAligner(model=self.model, n_samplers=self.n_samplers)


class EmbeddingAlignerConfig(AlignerSettings):
    """Training-free links from contextual vectors (SimAlign / AWESOME-align style)."""

    name: Literal["embedding"] = "embedding"
    model: Optional[str] = Field(
        None, description="encoder to align with; default: the run's model (e5-small outside runs)"
    )
    layer: int = Field(8, ge=0, description="hidden state used (0 = embeddings)")
    method: Literal["argmax", "itermax"] = "argmax"
    word_vector: Literal["subwords", "first", "mean"] = "subwords"
    precision: Literal["auto", "fp32", "tf32", "bf16", "fp16"] = Field("auto", description="see alignfreeze.precision")

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        from alignfreeze.align.embedding import EmbeddingAligner

        return EmbeddingAligner(
            self.model or model or "e5-small", self.layer, self.method, self.word_vector, precision=self.precision
        )


class PharaohAlignerConfig(AlignerSettings):
    """Links computed by an external tool (fast_align, AWESOME-align...), one Pharaoh line per
    sentence pair of the corpus, in the corpus's order."""

    name: Literal["pharaoh"] = "pharaoh"
    links: dict[str, Path] = Field(description="language pair (en-fr) -> links file")
    one_based: bool = False

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        from alignfreeze.align.external import PharaohAligner

        if pair not in self.links:
            raise AlignfreezeError(
                f"the pharaoh aligner has no links file for {pair} (links: {', '.join(self.links) or 'none'})"
            )
        return PharaohAligner(self.links[pair], one_based=self.one_based)


#: Aligner name -> config class. A new aligner adds one line here.
ALIGNER_CONFIGS: dict[str, type[AlignerSettings]] = {
    "dictionary": DictionaryAlignerConfig,
    "eflomal": EflomalAlignerConfig,
    "embedding": EmbeddingAlignerConfig,
    "pharaoh": PharaohAlignerConfig,
}

AlignerConfig = Annotated[
    Union[DictionaryAlignerConfig, EflomalAlignerConfig, EmbeddingAlignerConfig, PharaohAlignerConfig],
    Field(discriminator="name"),
]


def aligner_mapping(value: Any) -> Any:
    """Normalise an aligner given by name (``"dictionary"``) to its mapping form."""
    if isinstance(value, str):
        if value not in ALIGNER_CONFIGS:
            raise ValueError(f"unknown aligner {value!r} (allowed: {', '.join(ALIGNER_CONFIGS)})")
        return {"name": value}
    return value


_ADAPTER = TypeAdapter(AlignerConfig)


def parse_aligner(value: Any) -> AlignerSettings:
    """An aligner config from a name or a mapping (a clear one-line error otherwise)."""
    try:
        return _ADAPTER.validate_python(aligner_mapping(value))
    except (ValidationError, ValueError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise AlignfreezeError(f"invalid aligner {value!r}: {detail}") from None


def build_aligner(
    config: AlignerSettings | str | dict, pair: str, catalog=None, model: str | None = None
) -> WordAligner:
    """The aligner a config describes, for one language pair."""
    config = config if isinstance(config, AlignerSettings) else parse_aligner(config)
    return config.build(pair, catalog, model)


def align_with(
    config: AlignerSettings | str | dict,
    pairs,
    src_lang: str,
    tgt_lang: str,
    catalog=None,
    model: str | None = None,
    pretokenized: bool = False,
    use_cache: bool = True,
    progress=None,
):
    """Align sentence pairs with the aligner ``config`` describes, its link filters
    applied (:func:`~alignfreeze.align.base.align_corpus`)."""
    from alignfreeze.align.base import align_corpus

    config = config if isinstance(config, AlignerSettings) else parse_aligner(config)
    aligner = config.build(f"{src_lang}-{tgt_lang}", catalog, model)
    return align_corpus(
        pairs,
        aligner,
        src_lang,
        tgt_lang,
        pretokenized,
        config.drop_identical,
        use_cache,
        progress,
        keep_one_to_one=config.keep_one_to_one,
    )


def _catalog(catalog):
    if catalog is None:
        from alignfreeze.data import DataCatalog

        return DataCatalog()
    return catalog
