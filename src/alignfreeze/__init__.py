"""alignfreeze: cross-lingual realignment research on multilingual encoders.

A notebook uses the same functions as the command line::

    import alignfreeze as af

    tokenizer, model = af.load_tokenizer("e5-small"), af.load_model("e5-small")
    corpus = af.align_with("dictionary", pairs, "en", "fr")            # word-aligned sentence pairs
    af.realign(model, tokenizer, [corpus], af.RealignConfig(steps=100), freeze="front")
    outcome = af.run(af.load_experiment("configs/demo.yaml").runs()[0], "runs/demo")

The package is laid out as the pipeline it implements, and imports point one way:
``data`` -> ``align`` -> ``realign`` -> ``finetune`` -> ``evaluate`` -> ``analysis`` ->
``experiments`` -> ``cli``, above shared pieces (``schema``, ``models``, ``optim``,
``precision``, ``cache``, ``fileio``, ``errors``). Names are loaded on first use, so that
``import alignfreeze`` stays quick.
"""

# ruff: noqa: F401  -- the TYPE_CHECKING imports are the exports (__all__ is built from _EXPORTS)
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from alignfreeze.errors import AlignfreezeError as AlignfreezeError
from alignfreeze.errors import DataFormatError as DataFormatError

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    # Configs: one typed description per method and per run.
    "RunConfig": "alignfreeze.experiments.config",
    "ExperimentConfig": "alignfreeze.experiments.config",
    "MethodSpec": "alignfreeze.experiments.config",
    "PROTOCOLS": "alignfreeze.experiments.config",
    "RealignConfig": "alignfreeze.realign.config",
    "FreezeSpec": "alignfreeze.realign.freeze",
    "FreezeSchedule": "alignfreeze.realign.freeze",
    "TrainingSettings": "alignfreeze.finetune.config",
    "EvaluationSettings": "alignfreeze.finetune.config",
    "LoraAdapter": "alignfreeze.models.adapters",
    "TokenizationSettings": "alignfreeze.data.subwords",
    "AnalysisSettings": "alignfreeze.analysis.config",
    "AlignmentMeasureSettings": "alignfreeze.analysis.config",
    "DataRef": "alignfreeze.data.refs",
    "ParallelRef": "alignfreeze.data.refs",
    "DictionaryAlignerConfig": "alignfreeze.align.dictionary",
    "EflomalAlignerConfig": "alignfreeze.align.statistical",
    "EmbeddingAlignerConfig": "alignfreeze.align.embedding",
    "PharaohAlignerConfig": "alignfreeze.align.external",
    "TaskName": "alignfreeze.schema",
    "Method": "alignfreeze.schema",
    # Data.
    "DataCatalog": "alignfreeze.data.catalog",
    "split_words": "alignfreeze.data.words",
    "read_parallel": "alignfreeze.data.parallel",
    "ParallelFile": "alignfreeze.data.parallel",
    "LineIndex": "alignfreeze.data.line_index",
    "register_source": "alignfreeze.data.sources",
    "read_dataset_file": "alignfreeze.data",
    # Models.
    "load_model": "alignfreeze.models.loading",
    "load_tokenizer": "alignfreeze.models.loading",
    "prepare_e5_small": "alignfreeze.models.e5_small",
    "prepare_gemma3_270m": "alignfreeze.models.gemma3_270m",
    # Word alignment.
    "align_corpus": "alignfreeze.align.base",
    "align_with": "alignfreeze.align.config",
    "build_aligner": "alignfreeze.align.config",
    "parse_aligner": "alignfreeze.align.config",
    "register_aligner": "alignfreeze.align.config",
    "AlignedFile": "alignfreeze.align.sources",
    "SentencePairFile": "alignfreeze.align.sources",
    "AlignedCorpus": "alignfreeze.align.corpus",
    "score_alignment_file": "alignfreeze.align.metrics",
    # Realignment.
    "realign": "alignfreeze.realign",  # the package, callable as its function
    "realign_files": "alignfreeze.realign.trainer",
    "shuffle_buffer_order": "alignfreeze.realign.stream",
    "RealignmentObjective": "alignfreeze.realign.trainer",
    "register_objective": "alignfreeze.realign.objectives",
    # Fine-tuning and evaluation.
    "get_task": "alignfreeze.finetune.tasks",
    "finetune": "alignfreeze.finetune",  # the package, callable as its function
    "evaluate": "alignfreeze.evaluate",  # the package, callable as its function
    # Alignment analysis.
    "measure_alignment": "alignfreeze.analysis.retrieval",
    "sample_word_pairs": "alignfreeze.analysis.word_pairs",
    "load_aligned_corpus": "alignfreeze.analysis.word_pairs",
    "plot_alignment_files": "alignfreeze.analysis.measure",
    "register_retrieval_mode": "alignfreeze.analysis.retrieval_modes",
    "sweep_matrix": "alignfreeze.analysis.sweep",
    "plot_sweep": "alignfreeze.analysis.plots",
    "correlate": "alignfreeze.analysis.correlation",
    "check_translations": "alignfreeze.analysis.translation",
    "measure_corpora": "alignfreeze.analysis.measure",
    "sweep_freeze": "alignfreeze.analysis.sweep",
    # Experiments.
    "load_experiment": "alignfreeze.experiments.config",
    "run": "alignfreeze.experiments.runner",
    "run_experiment": "alignfreeze.experiments.runner",
    "load_grid": "alignfreeze.experiments.grid",
    "run_grid": "alignfreeze.experiments.grid_runner",
    "plan_grid": "alignfreeze.experiments.planning",
    "fetch": "alignfreeze.experiments.fetch",
    "alignment_rows_of_saved_models": "alignfreeze.experiments.results",
    "plan_fetch": "alignfreeze.experiments.fetch",
    "paper_table": "alignfreeze.experiments.paper_table",
    "make_report": "alignfreeze.experiments.full_report",
    "summary_by_language": "alignfreeze.experiments.run_summary",
    "import_reference": "alignfreeze.experiments.reference",
    "sweep_downstream": "alignfreeze.experiments.sweep",
    "read_results": "alignfreeze.experiments.results",
    # The environment.
    "doctor_report": "alignfreeze.doctor",
}

if TYPE_CHECKING:  # the same names for type checkers and IDEs; realign, finetune and evaluate
    # are their packages at run time, called as these functions (alignfreeze.callable_package)
    from alignfreeze.align.base import align_corpus
    from alignfreeze.align.config import align_with, build_aligner, parse_aligner, register_aligner
    from alignfreeze.align.corpus import AlignedCorpus
    from alignfreeze.align.dictionary import DictionaryAlignerConfig
    from alignfreeze.align.embedding import EmbeddingAlignerConfig
    from alignfreeze.align.external import PharaohAlignerConfig
    from alignfreeze.align.metrics import score_alignment_file
    from alignfreeze.align.sources import AlignedFile, SentencePairFile
    from alignfreeze.align.statistical import EflomalAlignerConfig
    from alignfreeze.analysis.config import AlignmentMeasureSettings, AnalysisSettings
    from alignfreeze.analysis.correlation import correlate
    from alignfreeze.analysis.measure import measure_corpora, plot_alignment_files
    from alignfreeze.analysis.plots import plot_sweep
    from alignfreeze.analysis.retrieval import measure_alignment
    from alignfreeze.analysis.retrieval_modes import register_retrieval_mode
    from alignfreeze.analysis.sweep import sweep_freeze, sweep_matrix
    from alignfreeze.analysis.translation import check_translations
    from alignfreeze.analysis.word_pairs import load_aligned_corpus, sample_word_pairs
    from alignfreeze.data import read_dataset_file
    from alignfreeze.data.catalog import DataCatalog
    from alignfreeze.data.line_index import LineIndex
    from alignfreeze.data.parallel import ParallelFile, read_parallel
    from alignfreeze.data.refs import DataRef, ParallelRef
    from alignfreeze.data.sources import register_source
    from alignfreeze.data.subwords import TokenizationSettings
    from alignfreeze.data.words import split_words
    from alignfreeze.doctor import doctor_report
    from alignfreeze.evaluate.evaluation import evaluate
    from alignfreeze.experiments.config import PROTOCOLS, ExperimentConfig, MethodSpec, RunConfig, load_experiment
    from alignfreeze.experiments.fetch import fetch, plan_fetch
    from alignfreeze.experiments.full_report import make_report
    from alignfreeze.experiments.grid import load_grid
    from alignfreeze.experiments.grid_runner import run_grid
    from alignfreeze.experiments.paper_table import paper_table
    from alignfreeze.experiments.planning import plan_grid
    from alignfreeze.experiments.reference import import_reference
    from alignfreeze.experiments.results import alignment_rows_of_saved_models, read_results
    from alignfreeze.experiments.run_summary import summary_by_language
    from alignfreeze.experiments.runner import run, run_experiment
    from alignfreeze.experiments.sweep import sweep_downstream
    from alignfreeze.finetune.config import EvaluationSettings, TrainingSettings
    from alignfreeze.finetune.tasks import get_task
    from alignfreeze.finetune.trainer import finetune
    from alignfreeze.models.adapters import LoraAdapter
    from alignfreeze.models.e5_small import prepare_e5_small
    from alignfreeze.models.gemma3_270m import prepare_gemma3_270m
    from alignfreeze.models.loading import load_model, load_tokenizer
    from alignfreeze.realign.config import RealignConfig
    from alignfreeze.realign.freeze import FreezeSchedule, FreezeSpec
    from alignfreeze.realign.objectives import register_objective
    from alignfreeze.realign.stream import shuffle_buffer_order
    from alignfreeze.realign.trainer import RealignmentObjective, realign, realign_files
    from alignfreeze.schema import Method, TaskName

__all__ = sorted([*_EXPORTS, "AlignfreezeError", "DataFormatError", "__version__"])


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(_EXPORTS[name])
        # realign, finetune, evaluate: the package itself, callable as its function
        # (alignfreeze.callable_package), so that it stays importable as a package.
        value = module if module.__name__ == f"alignfreeze.{name}" else getattr(module, name)
        globals()[name] = value  # loaded once
        return value
    raise AttributeError(f"module 'alignfreeze' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
