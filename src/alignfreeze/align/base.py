"""The interface every word aligner implements, and the shared pipeline around it.

An aligner only turns word lists into 0-based links. :func:`align_corpus` does the rest,
identically for every aligner: pre-tokenisation (:func:`alignfreeze.data.split_words`),
the optional link filters (one-to-one links only, then no link between identical strings,
in the reference code's order), a bounds check on every link, dropping of sentence pairs
with no link, and an on-disk cache keyed by the corpus, the aligner and its settings.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from alignfreeze.align.corpus import AlignedCorpus, AlignedPair, validate_links
from alignfreeze.data.records import SentencePair
from alignfreeze.data.words import split_words
from alignfreeze.errors import AlignfreezeError
from alignfreeze.paths import alignfreeze_home

Links = list[tuple[int, int]]
Progress = Callable[[int], None]


class WordAligner(ABC):
    """Produces word links for sentence pairs given as word lists."""

    name: str = ""

    #: Sentence pairs a streamed corpus reads and aligns together
    #: (:class:`alignfreeze.align.sources.AlignedFile`). An aligner that links each pair on
    #: its own gives the same links for any chunk; a statistical one learns from the chunk
    #: and sets this from its config.
    chunk_pairs: int = 1024

    def for_lines(self, line_numbers: Sequence[int]) -> "WordAligner":
        """The aligner for the corpus lines ``line_numbers``, when a chunk of a larger corpus
        is aligned. Aligners that read the sentences only need nothing else; one whose links
        come from a file in the corpus's line order (Pharaoh) picks those lines."""
        return self

    @abstractmethod
    def settings(self) -> dict:
        """Everything that changes the output (part of the cache key)."""

    @abstractmethod
    def align_words(
        self, src: Sequence[list[str]], tgt: Sequence[list[str]], on_progress: Progress | None = None
    ) -> list[Links]:
        """One list of ``(src_index, tgt_index)`` links per sentence pair."""


def corpus_key(src: Sequence[list[str]], tgt: Sequence[list[str]]) -> str:
    h = hashlib.sha256()
    for s, t in zip(src, tgt):
        h.update(("\x1f".join(s) + "\x1e" + "\x1f".join(t) + "\x1d").encode())
    return h.hexdigest()


def cache_path(aligner: WordAligner, key: str, options: dict) -> Path:
    settings = json.dumps({"aligner": aligner.name, **aligner.settings(), **options}, sort_keys=True)
    digest = hashlib.sha256((key + settings).encode()).hexdigest()[:24]
    return alignfreeze_home() / "align-cache" / f"{aligner.name}-{digest}.jsonl"


def align_corpus(
    pairs: Sequence[SentencePair],
    aligner: WordAligner,
    src_lang: str,
    tgt_lang: str,
    pretokenized: bool = False,
    drop_identical: bool = False,
    use_cache: bool = True,
    on_progress: Progress | None = None,
    keep_one_to_one: bool = False,
    require_links: bool = True,
) -> AlignedCorpus:
    """Align a parallel corpus with a built aligner, through the steps every aligner shares
    (see the module docstring): pre-tokenisation, the link filters, bounds checks, dropping
    unlinked sentence pairs, and an on-disk cache keyed by the corpus and the settings.

    Args:
        pairs: sentence pairs (:func:`read_parallel`).
        aligner: a :class:`WordAligner` (:func:`build_aligner` makes one from a config).
        src_lang, tgt_lang: the languages.
        pretokenized: split on whitespace only.
        drop_identical, keep_one_to_one: the link filters of the AlignFreeze reference.
        use_cache: reuse a cached alignment of the same corpus and settings.
        on_progress: advanced by the number of sentence pairs aligned.
        require_links: a corpus in which no pair gets a link is an error (a chunk of a
            streamed corpus may have none: realignment passes ``False``).

    Example::

        aligner = af.build_aligner("dictionary", "en-fr")
        corpus = af.align_corpus(sentence_pairs, aligner, "en", "fr", keep_one_to_one=True)
    """
    from alignfreeze.align.symmetrize import one_to_one

    if not pairs:
        raise AlignfreezeError("no sentence pairs to align")
    src = [split_words(p.src, pretokenized) for p in pairs]
    tgt = [split_words(p.tgt, pretokenized) for p in pairs]
    options = {"pretokenized": pretokenized, "drop_identical": drop_identical}
    if keep_one_to_one:  # only when on, so that caches written before this filter existed stay valid
        options["keep_one_to_one"] = True
    use_cache = use_cache and os.environ.get("ALIGNFREEZE_NO_CACHE") != "1"  # as every cache of alignfreeze.cache
    path = cache_path(aligner, corpus_key(src, tgt), options) if use_cache else None
    if path is not None and path.is_file():
        try:
            cached = AlignedCorpus.load(path)
            if on_progress:
                on_progress(len(pairs))
            return cached
        except AlignfreezeError:
            path.unlink(missing_ok=True)  # unreadable cache entry: recompute
    links = aligner.align_words(src, tgt, on_progress)
    aligned = []
    for index, (s, t, ls) in enumerate(zip(src, tgt, links)):
        ls = sorted(one_to_one(ls) if keep_one_to_one else set(ls))
        if drop_identical:
            ls = [(i, j) for i, j in ls if s[i] != t[j]]
        if ls:
            aligned.append(AlignedPair(index, s, t, ls))
    validate_links(aligned)
    corpus = AlignedCorpus(src_lang, tgt_lang, aligned, aligner.name, {**aligner.settings(), **options}, len(pairs))
    if not aligned and require_links:
        raise AlignfreezeError(f"0 aligned pairs from {len(pairs)} sentence pairs ({aligner.name} aligner)")
    if path is not None and aligned:  # an empty corpus has no file form (load refuses one)
        corpus.save(path)
    return corpus


class AlignerSettings(BaseModel):
    """Settings every aligner has: the link filters applied after it."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    keep_one_to_one: bool = Field(False, description="drop every link of a word that has several links")
    drop_identical: bool = Field(False, description="drop links between identical strings")

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        """The aligner for one language pair (``en-fr``). ``catalog`` finds files the config
        does not name; ``model`` is the run's model (the embedding aligner's default)."""
        raise NotImplementedError

    def catalog_files(self, pair: str) -> list[tuple[str, str]]:
        """``(kind, language pair)`` of the data-catalog files this aligner reads for
        ``pair`` (a run checks them before it starts, and a dry run lists them)."""
        return []

    def check_pairs(self, pairs: Sequence[str]) -> None:
        """Raise ``ValueError`` if the config cannot align one of these language pairs."""

    def check_files(self) -> None:
        """Raise :class:`AlignfreezeError` if a file the config names is missing."""


def default_catalog(catalog):
    """``catalog``, or the catalog of the default data root."""
    if catalog is None:
        from alignfreeze.data import DataCatalog

        return DataCatalog()
    return catalog
