"""Alignment analysis (Gaschi et al., Findings of ACL 2023): word retrieval at every layer,
its correlation with transfer, the freeze sweep, and a sentence-level translation check.

The settings load without torch; the rest loads on first use (:mod:`alignfreeze.lazy`)."""

from typing import TYPE_CHECKING

from alignfreeze.analysis.config import AlignmentMeasureSettings, AnalysisSettings
from alignfreeze.lazy import lazy_names

if TYPE_CHECKING:
    from alignfreeze.analysis.correlation import correlate, correlate_points, correlation_points
    from alignfreeze.analysis.measure import measure_corpora, plot_alignment_files
    from alignfreeze.analysis.retrieval import RetrievalScores, measure_alignment
    from alignfreeze.analysis.sweep import sweep_freeze, sweep_matrix
    from alignfreeze.analysis.translation import TranslationCheck, check_translations, translation_check
    from alignfreeze.analysis.word_pairs import WordPairSample, load_aligned_corpus, sample_word_pairs

__all__ = [
    "AlignmentMeasureSettings",
    "AnalysisSettings",
    "RetrievalScores",
    "TranslationCheck",
    "WordPairSample",
    "check_translations",
    "correlate",
    "correlate_points",
    "correlation_points",
    "load_aligned_corpus",
    "measure_alignment",
    "measure_corpora",
    "plot_alignment_files",
    "sample_word_pairs",
    "sweep_freeze",
    "sweep_matrix",
    "translation_check",
]

__getattr__ = lazy_names(
    __name__,
    {
        "alignfreeze.analysis.correlation": ["correlate", "correlate_points", "correlation_points"],
        "alignfreeze.analysis.measure": ["measure_corpora", "plot_alignment_files"],
        "alignfreeze.analysis.retrieval": ["RetrievalScores", "measure_alignment"],
        "alignfreeze.analysis.sweep": ["sweep_freeze", "sweep_matrix"],
        "alignfreeze.analysis.translation": ["TranslationCheck", "check_translations", "translation_check"],
        "alignfreeze.analysis.word_pairs": ["WordPairSample", "load_aligned_corpus", "sample_word_pairs"],
    },
)
