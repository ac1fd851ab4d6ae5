"""Word-aligned sentence pairs read by line number: what realignment draws from.

A realignment corpus can hold a million sentence pairs per language pair. Aligning and
encoding all of them before the first step costs hours and hundreds of GB at the paper's
scale, and a run draws a few thousand. A :class:`PairSource` therefore answers one
question, "the linked sentence pairs among these lines", and the realignment stream
(:mod:`alignfreeze.realign.stream`) asks it a chunk at a time, for the lines it draws:

* :class:`AlignedFile`: a parallel corpus on disk (:class:`~alignfreeze.data.parallel.ParallelFile`,
  random access by line) and an aligner config. Each chunk is aligned when first drawn,
  through :func:`~alignfreeze.align.base.align_corpus` and its content-keyed cache, so the
  runs of a grid that draw the same chunk align it once.
* :class:`CorpusSource`: an :class:`~alignfreeze.align.corpus.AlignedCorpus` already in
  memory (``alignfreeze realign --pairs FILE``, notebooks).
* :class:`SentencePairFile`: a parallel corpus on disk, not aligned at all: the sentence
  pairs of an objective that needs no word links (``contrastive_sentence``, ``aligner: none``).

Chunk size. An aligner that links each pair on its own (dictionary, embedding, Pharaoh)
gives the same links whatever the chunk, so its chunk only trades start-up time against
overhead (``WordAligner.chunk_pairs``, 1024). eflomal learns its translation tables from
the chunk it is given, so its links get better with larger chunks: its config's
``chunk_pairs`` (the README's "Realignment data" section gives the AER measured per size).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from alignfreeze.align.corpus import AlignedCorpus, AlignedPair
from alignfreeze.errors import AlignfreezeError


class PairSource(ABC):
    """The word-aligned sentence pairs of one language pair, by line number.

    ``len(source)`` lines (candidate sentence pairs); :meth:`aligned` returns the pairs among
    given lines that have at least one link, each with its line number as ``index``."""

    src_lang: str
    tgt_lang: str
    #: Lines aligned together (see the module docstring).
    chunk_pairs: int = 1024
    #: Whether the pairs carry word links (False: raw sentence pairs, links empty).
    linked: bool = True

    @property
    def name(self) -> str:
        return f"{self.src_lang}-{self.tgt_lang}"

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def aligned(self, line_numbers: Sequence[int]) -> list[AlignedPair]:
        """The linked pairs among ``line_numbers``, in that order (unlinked ones left out)."""

    def describe(self) -> str:
        return self.name

    def checked_lines(self, line_numbers: Sequence[int]) -> list[int]:
        """``line_numbers`` as ints, or IndexError naming the first line past the end."""
        line_numbers = [int(i) for i in line_numbers]
        if line_numbers and (max(line_numbers) >= len(self) or min(line_numbers) < 0):
            raise IndexError(f"line {max(line_numbers)} of {self.describe()}")
        return line_numbers


class CorpusSource(PairSource):
    """An :class:`AlignedCorpus` in memory as a :class:`PairSource`: line ``i`` is its pair ``i``."""

    def __init__(self, corpus: AlignedCorpus):
        self.corpus = corpus
        self.src_lang, self.tgt_lang = corpus.src_lang, corpus.tgt_lang

    def __len__(self) -> int:
        return len(self.corpus.pairs)

    def aligned(self, line_numbers: Sequence[int]) -> list[AlignedPair]:
        pairs = self.corpus.pairs
        return [AlignedPair(int(i), pairs[i].src, pairs[i].tgt, pairs[i].links) for i in line_numbers]

    def describe(self) -> str:
        return f"{self.name} ({self.corpus.aligner or 'aligned'} corpus, {len(self)} pairs)"


class AlignedFile(PairSource):
    """A parallel corpus on disk, aligned a chunk at a time as it is drawn.

    Args:
        corpus: the sentence pairs (:class:`~alignfreeze.data.parallel.ParallelFile`).
        src_lang, tgt_lang: the languages.
        aligner: an aligner config (:mod:`alignfreeze.align.config`).
        catalog: finds the files the aligner config does not name (a MUSE dictionary).
        model: the embedding aligner's encoder when its config names none.
        limit: read only the first ``limit`` lines.

    Example::

        source = af.AlignedFile(af.ParallelFile("un.en", "un.fr"), "en", "fr", af.parse_aligner("dictionary"))
        source.aligned([0, 5, 9])
    """

    def __init__(
        self,
        corpus,
        src_lang: str,
        tgt_lang: str,
        aligner,
        catalog=None,
        model: str | None = None,
        limit: int | None = None,
        label: str = "",
    ):
        self.corpus = corpus
        self.src_lang, self.tgt_lang = src_lang, tgt_lang
        self.config = aligner
        self.catalog, self.model = catalog, model
        self.n_lines = min(len(corpus), limit) if limit else len(corpus)
        self.label = label
        self._aligner = None
        self.chunk_pairs = int(getattr(aligner, "chunk_pairs", 0) or type(self).chunk_pairs)
        #: Lines aligned so far, linked or not (the cost of the stream).
        self.lines_aligned = 0

    def __len__(self) -> int:
        return self.n_lines

    def _built(self):
        if self._aligner is None:
            self._aligner = self.config.build(self.name, self.catalog, self.model)
            n_links = getattr(self._aligner, "n_lines", None)
            if n_links is not None and n_links() < self.n_lines:
                raise AlignfreezeError(
                    f"{self._aligner.links_file} has {n_links()} lines of links for {self.n_lines} sentence pairs"
                )
        return self._aligner

    def aligned(self, line_numbers: Sequence[int]) -> list[AlignedPair]:
        from alignfreeze.align.base import align_corpus

        line_numbers = self.checked_lines(line_numbers)
        if not line_numbers:
            return []
        pairs = self.corpus.pairs(line_numbers)
        corpus = align_corpus(
            pairs,
            self._built().for_lines(line_numbers),
            self.src_lang,
            self.tgt_lang,
            drop_identical=self.config.drop_identical,
            keep_one_to_one=self.config.keep_one_to_one,
            require_links=False,
        )
        self.lines_aligned += len(line_numbers)
        return [AlignedPair(line_numbers[p.index], p.src, p.tgt, p.links) for p in corpus.pairs]

    def describe(self) -> str:
        return f"{self.name} {self.label}".strip()


class SentencePairFile(PairSource):
    """A parallel corpus on disk as raw sentence pairs: :meth:`aligned` splits the lines
    into words and links nothing, so no aligner runs. What an objective that needs no links
    (``contrastive_sentence``) draws from.

    Args:
        corpus: the sentence pairs (:class:`~alignfreeze.data.parallel.ParallelFile`).
        src_lang, tgt_lang: the languages.
        limit: read only the first ``limit`` lines.
        label: shown in logs after the language pair.

    Example::

        source = af.SentencePairFile(af.ParallelFile("un.en", "un.fr"), "en", "fr")
        source.aligned([0, 5, 9])    # AlignedPair(index, words, words, links=[])
    """

    linked = False

    def __init__(self, corpus, src_lang: str, tgt_lang: str, limit: int | None = None, label: str = ""):
        self.corpus = corpus
        self.src_lang, self.tgt_lang = src_lang, tgt_lang
        self.n_lines = min(len(corpus), limit) if limit else len(corpus)
        self.label = label

    def __len__(self) -> int:
        return self.n_lines

    def aligned(self, line_numbers: Sequence[int]) -> list[AlignedPair]:
        """The pairs of ``line_numbers`` with words on both sides (empty lines left out), unlinked."""
        from alignfreeze.data.words import split_words

        line_numbers = self.checked_lines(line_numbers)
        if not line_numbers:
            return []
        out = []
        for line, pair in zip(line_numbers, self.corpus.pairs(line_numbers)):
            src, tgt = split_words(pair.src), split_words(pair.tgt)
            if src and tgt:
                out.append(AlignedPair(line, src, tgt, []))
        return out

    def describe(self) -> str:
        return f"{self.name} {self.label} (not aligned)".replace("  ", " ").strip()
