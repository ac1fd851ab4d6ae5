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

from __future__ import annotations

import importlib

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
    "TrainingSettings": "alignfreeze.finetune.config",
    "EvaluationSettings": "alignfreeze.finetune.config",
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
    "read_dataset_file": "alignfreeze.data",
    # Models.
    "load_model": "alignfreeze.models.loading",
    "load_tokenizer": "alignfreeze.models.loading",
    "prepare_e5_small": "alignfreeze.models.e5_small",
    # Word alignment.
    "align_corpus": "alignfreeze.align.base",
    "align_with": "alignfreeze.align.config",
    "build_aligner": "alignfreeze.align.config",
    "AlignedCorpus": "alignfreeze.align.corpus",
    "score_alignment_file": "alignfreeze.align.metrics",
    # Realignment.
    "realign": "alignfreeze.realign",  # the package, callable as its function
    "realign_files": "alignfreeze.realign.trainer",
    "RealignmentObjective": "alignfreeze.realign.trainer",
    # Fine-tuning and evaluation.
    "get_task": "alignfreeze.finetune.tasks",
    "finetune": "alignfreeze.finetune",  # the package, callable as its function
    "evaluate": "alignfreeze.evaluate",  # the package, callable as its function
    # Alignment analysis.
    "measure_alignment": "alignfreeze.analysis.retrieval",
    "sample_word_pairs": "alignfreeze.analysis.word_pairs",
    "load_aligned_corpus": "alignfreeze.analysis.word_pairs",
    "plot_alignment_files": "alignfreeze.analysis.measure",
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
