"""Running experiments: ``alignfreeze run CONFIG --out DIR``.

One run is a script of named stages, each a function below, in the order
:func:`execute_run` calls them:

1. :func:`prepare_data`: the task, its training records and features, the tokenizer and
   the model with its task head, and the realignment corpora (streamed, never read whole);
2. :func:`realign_before`: realign the encoder (``before``, ``before+during``), freezing per
   the run;
3. :func:`fine_tune`: fine-tune on the training language, with the realignment loss added
   (``during``), keeping the freeze during fine-tuning if asked;
4. :func:`evaluate_languages`: every configured language zero-shot (and the training
   language in-language);
5. :class:`AlignmentMeasures` (``analysis.alignment``): the alignment of held-out word pairs
   before realignment, after it, and after fine-tuning;
6. :func:`record`: ``runs/<run_id>/config.yaml``, ``metrics.json`` (atomically) and
   ``log.txt``; with ``save_model: final``, also the models (``runs/<run_id>/model/``, and
   ``realigned/`` for a run that realigns before fine-tuning); with ``tracking``, the run
   goes to an experiment tracker as it goes (:mod:`alignfreeze.experiments.tracking`).

**One driver.** :func:`run_experiment` (and :func:`run`, one run) is a grid of its runs on
the grid driver's serial path (:func:`~alignfreeze.experiments.grid_runner.run_grid`): every
model and data file is checked first (:func:`~alignfreeze.experiments.planning.preflight`),
runs done in the output folder are skipped, the driver appends each finished run's rows to
``results.csv``, and a run that fails leaves ``runs/<run_id>/failed.json`` (and
``error.txt``, the traceback) while the others go on. ``alignfreeze run`` then ends with the
first failure's error, as one line for an :class:`AlignfreezeError` (exit status 2), and
runs the failed runs again when it is run again (``alignfreeze grid`` keeps them failed
unless ``--retry-failed``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from alignfreeze.align.corpus import AlignedCorpus
from alignfreeze.data.catalog import DataCatalog
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.config import ExperimentConfig, RunConfig
from alignfreeze.experiments.planning import RunData, analysis_pairs
from alignfreeze.experiments.results import write_language_weights
from alignfreeze.fileio import atomic_write_text
from alignfreeze.progress import progress_bar, report

log = logging.getLogger("alignfreeze.run")


def realignment_sources(run: RunConfig, catalog: DataCatalog) -> list:
    """One :class:`~alignfreeze.align.sources.AlignedFile` per realignment corpus of the run:
    opened for random access and aligned a chunk at a time as realignment draws from it
    (:mod:`alignfreeze.realign.stream`), never read whole. A run without an aligner (an
    objective that needs no links) gets :class:`~alignfreeze.align.sources.SentencePairFile`
    objects: the same lines, not aligned."""
    from alignfreeze.align.sources import AlignedFile, SentencePairFile

    sources = []
    for ref in run.realignment_pairs:
        src_lang, tgt_lang = ref.pair.split("-")
        corpus, dataset = catalog.parallel_file(ref.pair, ref.split, ref.dataset)
        label = f"{dataset}:{ref.split}"
        if run.aligner is None:
            source = SentencePairFile(corpus, src_lang, tgt_lang, ref.limit, label)
            log.info("realignment data %s %s: %d sentence pairs, not aligned", ref.pair, label, len(source))
            sources.append(source)
            continue
        source = AlignedFile(corpus, src_lang, tgt_lang, run.aligner, catalog, run.model, ref.limit, label)
        log.info(
            "realignment data %s %s:%s: %d sentence pairs, aligned %d at a time as drawn (%s)",
            ref.pair,
            dataset,
            ref.split,
            len(source),
            source.chunk_pairs,
            run.aligner_name,
        )
        sources.append(source)
    return sources


def realignment_overlap(run: RunConfig, catalog: DataCatalog, corpus: AlignedCorpus):
    """The sentences of ``corpus`` that occur in the realignment data of the experiment or
    the run (``analysis.exclude_pairs``, ``realignment_pairs``), as a
    :class:`~alignfreeze.data.fingerprints.SentenceSet` to leave out of the alignment
    analysis. The realignment files are read in blocks, never whole: memory is the size of
    ``corpus``, not of the realignment data."""
    from alignfreeze.data.fingerprints import SentenceSet, sentence_fingerprint
    from alignfreeze.data.words import split_words

    candidates = SentenceSet()
    candidates.add_corpus(corpus)
    overlap = SentenceSet()
    block = 10_000
    refs = [*run.analysis.exclude_pairs, *run.realignment_pairs]
    for ref in [r for k, r in enumerate(refs) if r not in refs[:k]]:
        parallel, _ = catalog.parallel_file(ref.pair, ref.split, ref.dataset)
        n = min(len(parallel), ref.limit) if ref.limit else len(parallel)
        for start in range(0, n, block):
            for pair in parallel.lines(start, min(n, start + block)):
                for side in (pair.src, pair.tgt):
                    fingerprint = sentence_fingerprint(split_words(side))
                    if fingerprint in candidates.fingerprints:
                        overlap.fingerprints.add(fingerprint)
    return overlap


def alignment_samples(run: RunConfig, catalog: DataCatalog) -> list:
    """Word-pair samples for the run's alignment analysis, with every sentence of the
    experiment's realignment data (``analysis.exclude_pairs``) and of this run's left out."""
    from alignfreeze.analysis.word_pairs import dictionary_aligned, sample_word_pairs

    samples = []
    for ref in analysis_pairs(run, catalog):
        corpus = dictionary_aligned(catalog, ref.pair, ref.split, ref.dataset, ref.limit)
        exclusion = realignment_overlap(run, catalog, corpus)
        samples.append(sample_word_pairs(corpus, run.analysis.n_pairs, run.analysis.sample_seed, exclusion))
    return samples


def drawn_summary(stages: dict[str, tuple[dict, dict[str, set]]]) -> dict:
    """Sentence pairs realignment drew over the run's stages (``before``, ``during``: each a
    :meth:`RealignmentBatches.summary` and the lines drawn per language pair): in total,
    distinct (a pair drawn in both stages counts once) and per stage."""
    union: dict[str, set] = {}
    for _, seen in stages.values():
        for name, lines in seen.items():
            union.setdefault(name, set()).update(lines)
    return {
        "drawn": sum(summary["drawn"] for summary, _ in stages.values()),
        "distinct": sum(len(lines) for lines in union.values()),
        "stages": {stage: summary for stage, (summary, _) in stages.items()},
    }


@dataclass
class RunOutcome:
    run: RunConfig
    rows: list[dict]
    seconds: float
    skipped: bool = False


def _rows(run: RunConfig, language: str, metrics: dict[str, float], stage: str = "finetuned") -> list[dict]:
    return [
        {
            "run_id": run.run_id,
            "model": run.model,
            "task": run.task,
            "method": run.method,
            "aligner": run.aligner_name,
            "freeze": run.freeze_label,
            "seed": run.seed,
            "language": language,
            "stage": stage,
            "metric": metric,
            "value": round(float(value), 6),
        }
        for metric, value in metrics.items()
    ]


def measure_stage(run: RunConfig, model, tokenizer, samples: list, stage: str, diagnostics: dict) -> list[dict]:
    """Alignment rows of every sample at one stage (initial, realigned, finetuned)."""
    from alignfreeze.analysis.retrieval import measure_alignment
    from alignfreeze.models.layers import encoder_of

    rows = []
    settings = run.analysis
    for sample in progress_bar(samples, desc=f"alignment ({stage})", disable=True):
        scores = measure_alignment(encoder_of(model), tokenizer, sample, settings.measure_settings())
        rows.extend(_rows(run, sample.tgt_lang, scores.metrics(), stage))
        diagnostics.setdefault(sample.pair, {**scores.stats})[f"seconds_{stage}"] = round(scores.seconds, 2)
        log.info(
            "alignment %s (%s): fwd at the last layer %.3f",
            sample.pair,
            stage,
            scores.scores[(max(layer for layer, _, _ in scores.scores), settings.modes[-1], "fwd")],
        )
    return rows


@dataclass
class PreparedRun:
    """What the stages of one run share: the task, the tokenizer, the model (realigned and
    fine-tuned in place), the training features and their number of optimiser steps, the
    realignment corpora and the numeric precision."""

    task: Any
    tokenizer: Any
    model: Any
    labels: list[str]
    features: Any
    finetune_steps: int
    corpora: list
    precision: Any


def prepare_data(run: RunConfig, data: RunData, catalog: DataCatalog) -> PreparedRun:
    """Stage 1: the task and its training features, the tokenizer, the model with its task
    head (initialised from the run's seed) and its adapter (``training.adapter``), and the
    realignment corpora."""
    from transformers import set_seed

    from alignfreeze.finetune import get_task, total_optimizer_steps
    from alignfreeze.models.adapters import add_adapter
    from alignfreeze.models.loading import load_tokenizer
    from alignfreeze.precision import Precision

    report("loading model and data")
    task = get_task(run.task, run.training, run.evaluation, run.tokenization, source_language=run.train[0].language)
    task.check_ready([ref.language for ref in run.eval])  # e.g. a segmenter the settings need: before training
    train = [record for ref in run.train for record in data.records(run.task, ref)]
    log.info(
        "training on %d examples (%s)",
        len(train),
        ", ".join(f"{r.language}:{r.dataset or ''}:{r.split}" for r in run.train),
    )
    tokenizer = load_tokenizer(run.model)
    labels = task.label_list(train)
    set_seed(run.seed)  # the head's initialisation
    model = task.load_model(run.model, labels)
    if run.training.adapter is not None:  # one adapter, trained by realignment and then by fine-tuning
        add_adapter(model, run.training.adapter, run.model)
    precision = Precision(run.training.precision, next(model.parameters()).device)
    # Features first: `realignment.steps: match` realigns for as many steps as fine-tuning takes.
    features = task.encode_cached(train, tokenizer, run.training.max_length, labels)
    return PreparedRun(
        task=task,
        tokenizer=tokenizer,
        model=model,
        labels=labels,
        features=features,
        finetune_steps=total_optimizer_steps(len(features), run.training),
        corpora=realignment_sources(run, catalog) if run.method != "baseline" else [],
        precision=precision,
    )


class AlignmentMeasures:
    """The run's alignment analysis (``analysis.alignment``): word-pair samples held out of
    the realignment data, measured at each stage as result rows (none for a run that does
    not measure alignment)."""

    def __init__(self, run: RunConfig, catalog: DataCatalog):
        self.run = run
        self.samples = alignment_samples(run, catalog) if run.analysis.alignment else []
        self.rows: list[dict] = []
        self.diagnostics: dict[str, Any] = {}

    def measure(self, prepared: PreparedRun, stage: str) -> None:
        """Measure every sample at ``stage`` (``initial``, ``realigned``, ``finetuned``)."""
        if self.samples:
            with prepared.precision.autocast():
                self.rows += measure_stage(
                    self.run, prepared.model, prepared.tokenizer, self.samples, stage, self.diagnostics
                )


@dataclass
class Realigned:
    """What realignment before fine-tuning did: ``stats`` for ``metrics.json``, the
    sentences it drew (a SentenceSet), the pairs drawn (:meth:`RealignmentBatches.summary`)
    and the lines seen per language pair, and the folder of the realigned encoder if kept."""

    stats: dict[str, Any]
    sentences: Any
    drawn: tuple[dict, dict]
    saved: str | None


def realign_before(run: RunConfig, prepared: PreparedRun, out_dir: Path, tracker, progress: bool) -> Realigned | None:
    """Stage 2 (``before``, ``before+during``): realign the encoder on the run's corpora,
    freezing per the run; with ``save_model: final``, keep the realigned encoder. None for a
    method that does not realign before fine-tuning."""
    from alignfreeze.models.layers import encoder_of
    from alignfreeze.realign import realign, save_checkpoint

    if not run.method.realigns_before:
        return None
    steps = run.realignment_steps(prepared.finetune_steps)
    result = realign(
        prepared.model,
        prepared.tokenizer,
        prepared.corpora,
        run.realignment,  # resolved: a learning rate `match` is the fine-tuning one already
        run.realignment_freeze,
        run.seed,
        run.tokenization,
        steps=steps,
        progress=progress,
        precision=run.training.precision,
        on_losses=lambda first, losses, rates: tracker.log_losses("realign", first, losses, rates),
        freeze_schedule=run.freeze_schedule,
    )
    log.info(
        "realigned %d steps in %.0fs: loss %.3f -> %.3f",
        len(result.losses),
        result.seconds,
        result.losses[0],
        result.losses[-1],
    )
    if result.language_weights:
        write_language_weights(out_dir / "runs" / run.run_id, result.language_weights)
        tracker.log_language_weights(result.language_weights)
    saved = None
    if run.save_model == "final":
        run_dir = out_dir / "runs" / run.run_id
        folder = save_checkpoint(
            encoder_of(prepared.model), prepared.tokenizer, run_dir / "realigned", result.sentences
        )
        saved = folder.relative_to(out_dir).as_posix()
    stats = {
        "losses": result.losses,
        "seconds": result.seconds,
        "frozen_parameters": result.frozen_parameters,
        "steps": steps,
        "pairs_per_language": result.pairs_per_language,
        "sentence_pairs": result.drawn,
    }
    return Realigned(stats, result.sentences, (result.drawn, result.seen), saved)


def fine_tune(run: RunConfig, prepared: PreparedRun, tracker, progress: bool):
    """Stage 3: fine-tune on the training data, with the realignment loss added for
    ``during`` (whose gradient never reaches the layers of the run's freeze spec), and with
    the freeze kept for ``freeze_scope`` ``finetuning`` or ``both``. Returns the fine-tuning result and the
    realignment objective (None without ``during``)."""
    from alignfreeze.finetune import finetune
    from alignfreeze.models.layers import encoder_of
    from alignfreeze.realign import RealignmentObjective, frozen, frozen_parameters

    objective, realignment_frozen = None, []
    if run.method.realigns_during:
        objective = RealignmentObjective(
            prepared.model, prepared.tokenizer, prepared.corpora, run.realignment, run.seed, run.tokenization
        )
        realignment_frozen = frozen_parameters(
            encoder_of(prepared.model), run.realignment_freeze, run.realignment.freeze_matching
        )
    with frozen(encoder_of(prepared.model), run.finetuning_freeze):
        result = finetune(
            prepared.model,
            prepared.tokenizer,
            prepared.task,
            prepared.features,
            run.training,
            run.seed,
            objective,
            progress,
            realignment_frozen=realignment_frozen,
            on_losses=lambda first, losses, rates: tracker.log_losses("finetune", first, losses, rates),
        )
    log.info(
        "fine-tuned %d optimiser steps (%d warm-up) in %.0fs: loss %.3f -> %.3f",
        result.optimizer_steps,
        result.warmup_steps,
        result.seconds,
        result.losses[0],
        result.losses[-1],
    )
    return result, objective


def evaluate_languages(
    run: RunConfig, prepared: PreparedRun, data: RunData, progress: bool
) -> tuple[list[dict], dict[str, Any]]:
    """Stage 4: score every evaluation language; its result rows and, per language, its
    diagnostics (labels unseen in training, examples per second, the data it came from)."""
    from alignfreeze.evaluate import evaluate

    rows: list[dict] = []
    diagnostics: dict[str, Any] = {}
    for ref in progress_bar(run.eval, desc="evaluate", disable=not progress):
        records = data.records(run.task, ref)
        start = time.perf_counter()
        with prepared.precision.autocast():
            scores = evaluate(
                prepared.task,
                prepared.model,
                prepared.tokenizer,
                records,
                ref.language,
                run.training.eval_max_length,
                run.training.eval_batch_size,
                prepared.labels,
            )
        elapsed = time.perf_counter() - start
        rows.extend(_rows(run, ref.language, scores.metrics))
        diagnostics[ref.language] = {
            **scores.diagnostics,
            "examples_per_second": len(records) / elapsed,
            "dataset": ref.dataset,
            "split": ref.split,
        }
        unseen = scores.diagnostics.get("unseen_label_words", 0)
        log.info(
            "%s: %s%s",
            ref.language,
            ", ".join(f"{k}={v:.4f}" for k, v in scores.metrics.items()),
            f" ({unseen} words with labels unseen in training: {scores.diagnostics['unseen_labels']})"
            if unseen
            else "",
        )
    return rows, diagnostics


def record(run: RunConfig, out_dir: Path, metrics: dict[str, Any]) -> None:
    """Stage 6: write ``runs/<run_id>/metrics.json`` atomically: from then on the run is done
    (the driver appends its rows to ``results.csv``)."""
    run_dir = out_dir / "runs" / run.run_id
    atomic_write_text(run_dir / "metrics.json", json.dumps({"run_id": run.run_id, **metrics}, indent=2) + "\n")


@contextlib.contextmanager
def run_log(run_dir: Path) -> Iterator[None]:
    """Everything alignfreeze logs inside the block also goes to ``run_dir/log.txt``."""
    handler = logging.FileHandler(run_dir / "log.txt", mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logging.getLogger("alignfreeze").addHandler(handler)
    logging.getLogger("alignfreeze").setLevel(logging.INFO)
    try:
        yield
    finally:
        logging.getLogger("alignfreeze").removeHandler(handler)
        handler.close()


def execute_run(
    run: RunConfig,
    out_dir: Path,
    catalog: DataCatalog,
    progress: bool = True,
    data: RunData | None = None,
) -> RunOutcome:
    """Run one configuration end to end and record it in ``runs/<run_id>/`` (see the module
    docstring); ``results.csv`` is the driver's (:func:`run_experiment`, :func:`run_grid`).
    ``data``: the records :func:`preflight` parsed (read here when absent)."""
    from alignfreeze.data.fingerprints import SentenceSet
    from alignfreeze.experiments.tracking import RunTracker
    from alignfreeze.realign import save_checkpoint

    run = run.resolved()  # learning rates and steps `match` read once, here
    data = data or RunData(catalog)
    run_dir = out_dir / "runs" / run.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(run.model_dump(mode="json"), sort_keys=False))
    t0 = time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    with run_log(run_dir):
        log.info("run %s: %s %s %s seed %d", run.run_id, run.model, run.task, run.label, run.seed)
        tracker = RunTracker(run.tracking, run.run_id, out_dir)
        try:
            tracker.log_config({"run_id": run.run_id, **run.model_dump(mode="json")})
            prepared = prepare_data(run, data, catalog)
            alignment = AlignmentMeasures(run, catalog)
            alignment.measure(prepared, "initial")

            realigned = realign_before(run, prepared, out_dir, tracker, progress)
            if realigned is not None:
                alignment.measure(prepared, "realigned")

            finetuned, objective = fine_tune(run, prepared, tracker, progress)
            # The sentences realignment drew, kept with each model saved (measure-alignment
            # leaves them out), and how many it drew at each stage.
            sentences, drawn = SentenceSet(), {}
            if realigned is not None:
                sentences.fingerprints |= realigned.sentences.fingerprints
                drawn["before"] = realigned.drawn
            if objective is not None:
                sentences.fingerprints |= objective.batches.sentences.fingerprints
                drawn["during"] = (objective.batches.summary(), objective.batches.seen())
            saved = {"realigned": realigned.saved} if realigned is not None and realigned.saved else {}
            if run.save_model == "final":
                kept = sentences if prepared.corpora else None
                folder = save_checkpoint(prepared.model, prepared.tokenizer, run_dir / "model", kept)
                saved["model"] = folder.relative_to(out_dir).as_posix()
            alignment.measure(prepared, "finetuned")

            rows, diagnostics = evaluate_languages(run, prepared, data, progress)
            rows += alignment.rows
            if drawn:
                counts = drawn_summary(drawn)
                rows += _rows(
                    run,
                    "all",
                    {"realignment_pairs_drawn": counts["drawn"], "realignment_pairs_distinct": counts["distinct"]},
                    "run",
                )
            tracker.log_rows(rows)
            if alignment.diagnostics:
                diagnostics["alignment"] = alignment.diagnostics
            seconds = time.perf_counter() - t0
            record(
                run,
                out_dir,
                {
                    "label": run.label,
                    "rows": rows,
                    "diagnostics": diagnostics,
                    "labels": prepared.labels,
                    "finetune": {
                        "losses": finetuned.losses,
                        "optimizer_steps": finetuned.optimizer_steps,
                        "warmup_steps": finetuned.warmup_steps,
                        "seconds": finetuned.seconds,
                        "features": len(prepared.features),
                    },
                    "realign": realigned.stats if realigned is not None else {},
                    # Sentence pairs realignment drew, before and during fine-tuning, and how
                    # many distinct (the released CSVs' distinct_realignment_samples).
                    "realignment_sentence_pairs": drawn_summary(drawn) if drawn else None,
                    "seconds": seconds,
                    "precision": prepared.precision.name,
                    "device": str(prepared.precision.device),
                    "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
                    "started": started,
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    # Folders relative to the results folder: the models kept (save_model: final).
                    "saved_models": saved,
                    "tracking": run.tracking,
                },
            )
            log.info("done in %.0fs", seconds)
            return RunOutcome(run, rows, seconds)
        finally:
            tracker.finish()


def _run_in_turn(
    runs: list[RunConfig],
    out_dir: str | Path,
    data_dir: str | Path | None,
    progress: bool,
    on_run: Callable[[RunOutcome], None] | None,
) -> list[RunOutcome]:
    """The runs, one after the other, on the grid driver (see the module docstring); their
    outcomes in the order of ``runs``. Raises the first failed run's error after the others."""
    from alignfreeze.experiments.grid_runner import run_grid

    unique = list({run.run_id: run for run in runs}.values())  # runs that resolve alike run once
    outcomes: dict[str, RunOutcome] = {}

    def keep(outcome: RunOutcome) -> None:
        outcomes[outcome.run.run_id] = outcome
        if on_run:
            on_run(outcome)

    by_id = {run.run_id: run for run in unique}

    def finished(result: dict, summary) -> None:
        if result["status"] == "done":
            keep(RunOutcome(by_id[result["run_id"]], result["rows"], result["seconds"]))

    summary = run_grid(
        unique,
        out_dir,
        data_dir,
        max_parallel=1,
        retry_failed=True,  # `run` runs what failed before again
        progress=progress,
        on_skipped=lambda run, rows: keep(RunOutcome(run, rows or [], 0.0, skipped=True)),
        on_result=finished,
    )
    if summary.failures:
        first, *others = summary.failures
        for run_id in others:
            log.error("run %s failed too: %s (runs/%s/error.txt)", run_id, summary.failures[run_id], run_id)
        if first in summary.exceptions:
            raise summary.exceptions[first]
        raise AlignfreezeError(f"run {first} failed: {summary.failures[first]}")
    return [outcomes[run.run_id] for run in runs]


def run(
    config: RunConfig, out_dir: str | Path, data_dir: str | Path | None = None, progress: bool = True
) -> RunOutcome:
    """Run one run end to end -- realignment (if its method has one), fine-tuning, zero-shot
    evaluation of every language -- and record it under ``out_dir`` (``results.csv`` and
    ``runs/<run_id>/``); a run already done there is not run again.

    Args:
        config: the run (:class:`RunConfig`, e.g. one of ``load_experiment(path).runs()``).
        out_dir: the results folder; runs of one experiment share it.
        data_dir: the data root (default: ``$ALIGNFREEZE_DATA``, else ``../shared/data``).
        progress: show progress bars.

    Returns:
        :class:`RunOutcome`: the run, its result rows (long format), its seconds.

    Follows the protocol of AlignFreeze (Bakos, Gaschi et al., NAACL 2025) as the config
    describes it (``protocol: reference`` for the authors' settings).

    Example::

        import alignfreeze as af
        outcome = af.run(af.load_experiment("configs/demo.yaml").runs()[0], "runs/demo")
        [r for r in outcome.rows if r["metric"] == "accuracy"]
    """
    return _run_in_turn([config.resolved()], out_dir, data_dir, progress, None)[0]


def run_experiment(
    experiment: ExperimentConfig,
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    progress: bool = True,
    on_run: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Run, or resume, every run of an experiment into ``out_dir`` (``results.csv`` and
    ``runs/<run_id>/``), one after the other; runs already done there are skipped. Every model,
    data set and dictionary is checked before the first run starts. A run that fails is
    recorded (``runs/<run_id>/failed.json``) and the others go on; then its error is raised.

    Args:
        experiment: an :class:`ExperimentConfig` (:func:`load_experiment`).
        out_dir: the results folder.
        data_dir: the data root (default: ``$ALIGNFREEZE_DATA``, else ``../shared/data``).
        progress: show progress bars.
        on_run: called with each :class:`RunOutcome` as it finishes (those already done
            first, before any run starts).

    Example::

        outcomes = af.run_experiment(af.load_experiment("configs/demo.yaml"), "runs/demo")
        rows = [row for outcome in outcomes for row in outcome.rows]
    """
    return _run_in_turn(experiment.runs(), out_dir, data_dir, progress, on_run)
