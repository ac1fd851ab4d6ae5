"""Word aligners: links between the words of parallel sentences.

``dictionary`` (MUSE), ``eflomal`` (statistical, replaces FastAlign), ``embedding``
(SimAlign-style, any encoder) and ``pharaoh`` (import from any external tool) share one
interface (:class:`WordAligner`) and one pipeline (:func:`align_corpus`).
"""

from alignfreeze.align.base import WordAligner, align_corpus
from alignfreeze.align.config import (
    ALIGNER_CONFIGS,
    AlignerConfig,
    AlignerSettings,
    DictionaryAlignerConfig,
    EflomalAlignerConfig,
    EmbeddingAlignerConfig,
    PharaohAlignerConfig,
    align_with,
    build_aligner,
    parse_aligner,
    register_aligner,
)
from alignfreeze.align.corpus import AlignedCorpus, AlignedPair
from alignfreeze.align.dictionary import DictionaryAligner
from alignfreeze.align.embedding import EmbeddingAligner, itermax, mutual_argmax
from alignfreeze.align.external import PharaohAligner
from alignfreeze.align.metrics import AlignmentScores, alignment_scores
from alignfreeze.align.statistical import EflomalAligner
from alignfreeze.align.symmetrize import grow_diag_final_and, one_to_one

METHODS = tuple(ALIGNER_CONFIGS)

__all__ = [
    "ALIGNER_CONFIGS",
    "METHODS",
    "AlignedCorpus",
    "AlignerConfig",
    "AlignerSettings",
    "DictionaryAlignerConfig",
    "EflomalAlignerConfig",
    "EmbeddingAlignerConfig",
    "PharaohAlignerConfig",
    "align_with",
    "build_aligner",
    "parse_aligner",
    "register_aligner",
    "AlignedPair",
    "AlignmentScores",
    "DictionaryAligner",
    "EflomalAligner",
    "EmbeddingAligner",
    "PharaohAligner",
    "WordAligner",
    "align_corpus",
    "alignment_scores",
    "grow_diag_final_and",
    "itermax",
    "mutual_argmax",
    "one_to_one",
]
