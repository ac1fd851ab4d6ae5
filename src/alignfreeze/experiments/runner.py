"""Running experiments: ``alignfreeze run CONFIG --out DIR``.

For each run of the experiment (skipping completed run ids):

1. realign the task model's encoder (``before``, ``before+during``), freezing per the run;
2. fine-tune on the training language, with the realignment loss added (``during``),
   keeping the freeze during fine-tuning if asked;
3. evaluate every configured language zero-shot (and the training language in-language);
4. write ``runs/<run_id>/config.yaml``, ``metrics.json`` (atomically) and ``log.txt``, then
   append the run's rows to ``results.csv``; with ``save_model: final``, also the models
   (``runs/<run_id>/model/``, and ``realigned/`` for a run that realigns before fine-tuning);
   with ``tracking``, send the run to an experiment tracker as it goes
   (:mod:`alignfreeze.experiments.tracking`).

Every run's data and model are checked before the first one loads a model
(:func:`preflight`): a missing language or a typo fails in seconds, an empty or malformed
train or evaluation file with its file and line, and a freeze spec the model's layers do
not fit with the model's layer count, not after an hour of training.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from alignfreeze.align.corpus import AlignedCorpus
from alignfreeze.data.catalog import DataCatalog, DataSource
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.config import ExperimentConfig, RunConfig
from alignfreeze.experiments.results import append_rows, reconcile
from alignfreeze.fileio import atomic_write_text
from alignfreeze.progress import progress_bar, report

log = logging.getLogger("alignfreeze.run")


def _hub_allowed() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false", "False")


def resolve_data(catalog: DataCatalog, task: str, ref) -> DataSource:
    return catalog.resolve(task, ref.language, ref.split, dataset=ref.dataset, allow_hub=_hub_allowed())


def premise_groups(records) -> list[int]:
    """Group id per item: consecutive items with the same premise share a group."""
    groups, current, previous = [], -1, object()
    for r in records:
        if r.premise != previous:
            current += 1
            previous = r.premise
        groups.append(current)
    return groups


def load_records(catalog: DataCatalog, task: str, ref) -> list:
    """Records of one DataRef: resolved, optionally split by premise, then limited."""
    source = resolve_data(catalog, task, ref)
    records = source.load()
    if ref.premise_split is not None:
        if task != "nli":
            raise AlignfreezeError("premise_split applies to nli data only")
        reference = resolve_data(
            catalog, task, ref.model_copy(update={"language": ref.premise_reference, "premise_split": None})
        )
        groups = premise_groups(reference.load())
        if len(groups) != len(records):
            raise AlignfreezeError(
                f"cannot split {source.describe()} by the premises of {reference.describe()}: "
                f"{len(records)} items against {len(groups)} (the files must be parallel)"
            )
        import random

        to_train = {g: random.Random(f"premise-{g}").random() < ref.premise_train_fraction for g in set(groups)}
        keep = ref.premise_split == "train"
        records = [r for r, g in zip(records, groups) if to_train[g] == keep]
        if not records:
            raise AlignfreezeError(
                f"{source.describe()}: premise_split {ref.premise_split!r} leaves no item of its {len(groups)} "
                f"(premise_train_fraction {ref.premise_train_fraction})"
            )
    return records[: ref.limit] if ref.limit else records


class RunData:
    """The records of every task data set (train and eval) the runs read, parsed once by
    :func:`preflight` and handed to :func:`execute_run`, keyed by ``(task, DataRef)``: a bad
    file fails before any model is loaded, and no file is parsed twice in one process.

    :meth:`keep_only` drops what the runs still to come do not read, so that an experiment
    holds at most the data of its runs, not of every run seen so far. Realignment corpora are
    not held here: they are streamed (:func:`realignment_sources`)."""

    def __init__(self, catalog: DataCatalog):
        self.catalog = catalog
        self._records: dict[tuple[str, str], list] = {}

    @staticmethod
    def key(task: str, ref) -> tuple[str, str]:
        return task, ref.model_dump_json()

    def records(self, task: str, ref) -> list:
        """The records of ``ref`` (:func:`load_records`), read at the first call."""
        key = self.key(task, ref)
        if key not in self._records:
            self._records[key] = load_records(self.catalog, task, ref)
        return self._records[key]

    def keep_only(self, runs: list[RunConfig]) -> None:
        """Forget the records that none of ``runs`` reads."""
        wanted = {self.key(run.task, ref) for run in runs for ref in [*run.train, *run.eval]}
        for key in set(self._records) - wanted:
            del self._records[key]

    def __len__(self) -> int:
        return len(self._records)


def check_model_available(name: str) -> None:
    """Raise an :class:`AlignfreezeError` unless ``name`` can be loaded: ``e5-small``, a local
    model folder (with a ``config.json``), a hub id while the hub is online, or one in the
    local Hugging Face cache."""
    from alignfreeze.models.layers import model_config_file

    if Path(name).expanduser().exists():
        model_config_file(name)  # a file, or a folder without config.json, is refused
        return
    if name == "e5-small" or _hub_allowed():
        return
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise AlignfreezeError(
            f"model {name!r} is not 'e5-small', not a local folder, and not in the local Hugging Face cache "
            "(the hub is offline: HF_HUB_OFFLINE=1)"
        )


@dataclass(frozen=True)
class DataNeed:
    """One data set a run reads: where it is (``files``), or where it could be had (``remote``)."""

    kind: str  # a task, "parallel" or "dictionary"
    language: str  # "en" for tasks, "en-fr" for pairs
    split: str
    dataset: str | None
    files: tuple[Path, ...] = ()
    remote: str | None = None

    @property
    def what(self) -> str:
        return f"{self.kind} {self.language} {self.dataset or ''}:{self.split}".replace(" :", " ")


def data_needs(runs: list[RunConfig], catalog: DataCatalog) -> list[DataNeed]:
    """Every data set the runs read, found under the data root or not (then with the
    source it could be fetched from, when alignfreeze knows one). Nothing is downloaded."""
    from alignfreeze.data.catalog import NoSourceError, remote_origin

    wanted: dict[tuple, None] = {}
    for run in runs:
        for ref in [*run.train, *run.eval]:
            wanted[(run.task, ref.language, ref.split, ref.dataset)] = None
        if run.method != "baseline":
            for ref in run.realignment_pairs:
                wanted[("parallel", ref.pair, ref.split, ref.dataset)] = None
                for kind, pair in aligner_files(run, ref.pair):
                    wanted[(kind, pair, "full", None)] = None
    needs = []
    for kind, language, split, dataset in wanted:
        try:
            files = tuple(catalog.resolve(kind, language, split, dataset=dataset, allow_hub=False).files)
            needs.append(DataNeed(kind, language, split, dataset, files))
        except AlignfreezeError:
            try:
                remote = remote_origin(kind, language, split, dataset).describe()
            except NoSourceError as exc:  # why there is none (not where no local file was looked for)
                remote = f"no known source: {exc}"
            needs.append(DataNeed(kind, language, split, dataset, remote=remote))
    return needs


def check_freeze_specs(runs: list[RunConfig]) -> None:
    """Every run's freeze spec against its model's layer count, read from the model's
    ``config.json`` (:func:`~alignfreeze.models.layers.model_layer_count`): no weights are
    loaded and nothing is downloaded, so ``grid --dry-run`` checks it too. A hub model that
    is not in the local cache cannot be checked here (its load checks it)."""
    from alignfreeze.models.layers import model_layer_count

    counts: dict[str, int | None] = {}
    for run in runs:
        if run.model not in counts:
            counts[run.model] = model_layer_count(run.model)
        if counts[run.model] is not None:
            run.freeze.check_fits(counts[run.model], run.model)


def preflight(runs: list[RunConfig], catalog: DataCatalog) -> RunData:
    """Check everything the runs read before any of them loads a model: each model (its
    config, and every freeze spec against its layer count), and every data file, train and
    evaluation alike, each parsed once and kept for the runs (the returned :class:`RunData`).
    Realignment and analysis corpora are opened as :class:`~alignfreeze.data.parallel.ParallelFile`
    (every line indexed, unequal sides refused; not read whole) and dictionaries read.

    Missing files are looked for first, so a typo fails in seconds, before the larger files
    are parsed."""
    from alignfreeze.data.muse import read_muse

    for model in dict.fromkeys(run.model for run in runs):
        check_model_available(model)
    check_freeze_specs(runs)
    parallel: dict[tuple, None] = {}
    dictionaries: dict[tuple, None] = {}
    for run in runs:
        for ref in [*run.train, *run.eval]:
            resolve_data(catalog, run.task, ref)
        if run.method != "baseline":
            for ref in run.realignment_pairs:
                catalog.resolve("parallel", ref.pair, ref.split, dataset=ref.dataset, allow_hub=False)
                parallel[(ref.pair, ref.split, ref.dataset)] = None
                for kind, pair in aligner_files(run, ref.pair):
                    catalog.resolve(kind, pair, "full", allow_hub=False)
                    dictionaries[(kind, pair)] = None
            if run.aligner is not None:
                run.aligner.check_files()
        if run.analysis.alignment:
            sources = analysis_pairs(run, catalog)
            for ref in [*sources, *run.analysis.exclude_pairs]:
                try:
                    catalog.resolve("parallel", ref.pair, ref.split, dataset=ref.dataset, allow_hub=False)
                    if ref in sources:
                        catalog.resolve("dictionary", ref.pair, "full", allow_hub=False)
                        dictionaries[("dictionary", ref.pair)] = None
                except AlignfreezeError as exc:
                    raise AlignfreezeError(f"alignment analysis (analysis.pairs): {exc}") from None
                parallel[(ref.pair, ref.split, ref.dataset)] = None
    # Everything is there: now read it. Task data whole (the runs read it whole too),
    # parallel corpora by their line index (cached for the runs), dictionaries whole (small).
    data = RunData(catalog)
    for run in runs:
        for ref in [*run.train, *run.eval]:
            data.records(run.task, ref)
    for pair, split, dataset in parallel:
        catalog.parallel_file(pair, split, dataset)
    for kind, pair in dictionaries:
        for path in catalog.resolve(kind, pair, "full", allow_hub=False).files:
            read_muse(path)
    return data


def aligner_files(run: RunConfig, pair: str) -> list[tuple[str, str]]:
    """``(kind, language pair)`` of the catalog files the run's aligner needs for ``pair``."""
    return run.aligner.catalog_files(pair) if run.aligner is not None else []


def realignment_sources(run: RunConfig, catalog: DataCatalog) -> list:
    """One :class:`~alignfreeze.align.sources.AlignedFile` per realignment corpus of the run:
    opened for random access and aligned a chunk at a time as realignment draws from it
    (:mod:`alignfreeze.realign.stream`), never read whole."""
    from alignfreeze.align.sources import AlignedFile

    sources = []
    for ref in run.realignment_pairs:
        src_lang, tgt_lang = ref.pair.split("-")
        corpus, dataset = catalog.parallel_file(ref.pair, ref.split, ref.dataset)
        source = AlignedFile(
            corpus, src_lang, tgt_lang, run.aligner, catalog, run.model, ref.limit, f"{dataset}:{ref.split}"
        )
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


def analysis_pairs(run: RunConfig, catalog: DataCatalog | None = None) -> list:
    """The word-pair sources of a run's alignment analysis: ``analysis.pairs``, or by
    default the training language paired with every other eval language, from the first
    parallel corpus of the catalog (test split first) that realignment does not use."""
    from alignfreeze.data.refs import ParallelRef

    if run.analysis.pairs:
        return list(run.analysis.pairs)
    source = run.train[0].language
    targets = dict.fromkeys(ref.language for ref in run.eval if ref.language != source)
    used = [*run.analysis.exclude_pairs, *run.realignment_pairs]
    refs = []
    for target in targets:
        pair = f"{source}-{target}"
        choice = ParallelRef(pair=pair, split="test")
        if catalog is not None:
            entries = sorted(
                (e for e in catalog.entries() if e.kind == "parallel" and e.language == pair),
                key=lambda e: (e.split != "test", e.dataset, e.split),
            )
            for e in entries:
                if not any(u.pair == pair and u.split == e.split and u.dataset in (None, e.dataset) for u in used):
                    choice = ParallelRef(pair=pair, split=e.split, dataset=e.dataset)
                    break
        refs.append(choice)
    return refs


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
            "freeze": str(run.freeze),
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


def execute_run(
    run: RunConfig,
    out_dir: Path,
    catalog: DataCatalog,
    progress: bool = True,
    append_results: bool = True,
    data: RunData | None = None,
) -> RunOutcome:
    """Run one configuration end to end and record it (see the module docstring).

    ``append_results=False`` leaves ``results.csv`` to the caller (the grid driver, the only
    writer when runs execute in parallel); ``metrics.json`` is written either way. ``data``:
    the records :func:`preflight` parsed (read here when absent)."""
    from transformers import set_seed

    from alignfreeze.data.fingerprints import SentenceSet
    from alignfreeze.evaluate import evaluate
    from alignfreeze.experiments.tracking import RunTracker
    from alignfreeze.finetune import finetune, get_task, total_optimizer_steps
    from alignfreeze.models.layers import encoder_of
    from alignfreeze.models.loading import load_tokenizer
    from alignfreeze.precision import Precision
    from alignfreeze.realign import MATCH, RealignmentObjective, frozen, frozen_parameters, realign, save_checkpoint

    data = data or RunData(catalog)
    run_dir = out_dir / "runs" / run.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(run.model_dump(mode="json"), sort_keys=False))
    handler = logging.FileHandler(run_dir / "log.txt", mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logging.getLogger("alignfreeze").addHandler(handler)
    logging.getLogger("alignfreeze").setLevel(logging.INFO)
    t0 = time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    tracker = None
    try:
        log.info("run %s: %s %s %s seed %d", run.run_id, run.model, run.task, run.label, run.seed)
        tracker = RunTracker(run.tracking, run.run_id, out_dir)
        tracker.log_config({"run_id": run.run_id, **run.model_dump(mode="json")})
        saved: dict[str, str] = {}
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
        precision = Precision(run.training.precision, next(model.parameters()).device)
        # Features first: `realignment.steps: match` realigns for as many steps as fine-tuning takes.
        features = task.encode_cached(train, tokenizer, run.training.max_length, labels)
        finetune_steps = total_optimizer_steps(len(features), run.training)
        corpora = realignment_sources(run, catalog) if run.method != "baseline" else []
        # The sentences realignment drew, recorded with each model kept (measure-alignment leaves them out).
        sentences = SentenceSet()
        drawn: dict[str, tuple] = {}
        samples = alignment_samples(run, catalog) if run.analysis.alignment else []
        alignment_rows: list[dict] = []
        alignment_diagnostics: dict[str, Any] = {}
        if samples:
            with precision.autocast():
                alignment_rows += measure_stage(run, model, tokenizer, samples, "initial", alignment_diagnostics)
        realign_stats: dict[str, Any] = {}
        if run.method.realigns_before:
            steps = finetune_steps if run.realignment.steps == MATCH else int(run.realignment.steps)
            result = realign(
                model,
                tokenizer,
                corpora,
                run.realignment,
                run.freeze,
                run.seed,
                run.tokenization,
                steps=steps,
                learning_rate=run.realignment.resolved_learning_rate(run.training.learning_rate),
                progress=progress,
                precision=run.training.precision,
                on_losses=lambda first, losses, rates: tracker.log_losses("realign", first, losses, rates),
            )
            realign_stats = {
                "losses": result.losses,
                "seconds": result.seconds,
                "frozen_parameters": result.frozen_parameters,
                "steps": steps,
                "pairs_per_language": result.pairs_per_language,
                "sentence_pairs": result.drawn,
            }
            sentences.fingerprints |= result.sentences.fingerprints
            drawn["before"] = (result.drawn, result.seen)
            log.info(
                "realigned %d steps in %.0fs: loss %.3f -> %.3f",
                len(result.losses),
                result.seconds,
                result.losses[0],
                result.losses[-1],
            )
            if run.save_model == "final":
                folder = save_checkpoint(encoder_of(model), tokenizer, run_dir / "realigned", result.sentences)
                saved["realigned"] = folder.relative_to(out_dir).as_posix()
            if samples:
                with precision.autocast():
                    alignment_rows += measure_stage(run, model, tokenizer, samples, "realigned", alignment_diagnostics)
        objective, realignment_frozen = None, []
        if run.method.realigns_during:
            objective = RealignmentObjective(model, tokenizer, corpora, run.realignment, run.seed, run.tokenization)
            # "during" with a freeze spec: the realignment gradient never reaches those layers.
            realignment_frozen = frozen_parameters(encoder_of(model), run.freeze, run.realignment.freeze_matching)
        keep_frozen = run.freeze if run.freeze_during_finetuning else "none"
        with frozen(encoder_of(model), keep_frozen):
            ft = finetune(
                model,
                tokenizer,
                task,
                features,
                run.training,
                run.seed,
                objective,
                progress,
                realignment_frozen=realignment_frozen,
                on_losses=lambda first, losses, rates: tracker.log_losses("finetune", first, losses, rates),
            )
        log.info(
            "fine-tuned %d optimiser steps (%d warm-up) in %.0fs: loss %.3f -> %.3f",
            ft.optimizer_steps,
            ft.warmup_steps,
            ft.seconds,
            ft.losses[0],
            ft.losses[-1],
        )
        if objective is not None:
            sentences.fingerprints |= objective.batches.sentences.fingerprints
            drawn["during"] = (objective.batches.summary(), objective.batches.seen())
        if run.save_model == "final":
            folder = save_checkpoint(model, tokenizer, run_dir / "model", sentences if corpora else None)
            saved["model"] = folder.relative_to(out_dir).as_posix()
        if samples:
            with precision.autocast():
                alignment_rows += measure_stage(run, model, tokenizer, samples, "finetuned", alignment_diagnostics)
        rows: list[dict] = []
        diagnostics: dict[str, Any] = {}
        for ref in progress_bar(run.eval, desc="evaluate", disable=not progress):
            records = data.records(run.task, ref)
            start = time.perf_counter()
            with precision.autocast():
                scores = evaluate(
                    task,
                    model,
                    tokenizer,
                    records,
                    ref.language,
                    run.training.eval_max_length,
                    run.training.eval_batch_size,
                    labels,
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
        rows += alignment_rows
        if drawn:
            counts = drawn_summary(drawn)
            rows += _rows(
                run,
                "all",
                {"realignment_pairs_drawn": counts["drawn"], "realignment_pairs_distinct": counts["distinct"]},
                "run",
            )
        tracker.log_rows(rows)
        if alignment_diagnostics:
            diagnostics["alignment"] = alignment_diagnostics
        seconds = time.perf_counter() - t0
        metrics = {
            "run_id": run.run_id,
            "label": run.label,
            "rows": rows,
            "diagnostics": diagnostics,
            "labels": labels,
            "finetune": {
                "losses": ft.losses,
                "optimizer_steps": ft.optimizer_steps,
                "warmup_steps": ft.warmup_steps,
                "seconds": ft.seconds,
                "features": len(features),
            },
            "realign": realign_stats,
            # Sentence pairs realignment drew, before and during fine-tuning, and how many
            # distinct (the released CSVs' distinct_realignment_samples).
            "realignment_sentence_pairs": drawn_summary(drawn) if drawn else None,
            "seconds": seconds,
            "precision": precision.name,
            "device": str(precision.device),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "started": started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
            # Folders relative to the results folder: the models kept (save_model: final).
            "saved_models": saved,
            "tracking": run.tracking,
        }
        atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        if append_results:
            append_rows(out_dir / "results.csv", rows)
        log.info("done in %.0fs", seconds)
        return RunOutcome(run, rows, seconds)
    finally:
        if tracker is not None:
            tracker.finish()
        logging.getLogger("alignfreeze").removeHandler(handler)
        handler.close()


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
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    catalog = DataCatalog(data_dir)
    data = preflight([config], catalog)
    done = reconcile(out_dir)
    if config.run_id in done:
        return RunOutcome(config, done[config.run_id], 0.0, skipped=True)
    return execute_run(config, out_dir, catalog, progress, data=data)


def run_experiment(
    experiment: ExperimentConfig,
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    progress: bool = True,
    on_run: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Run, or resume, every run of an experiment into ``out_dir`` (``results.csv`` and
    ``runs/<run_id>/``), one after the other; runs already done there are skipped. Every model,
    data set and dictionary is checked before the first run starts.

    Args:
        experiment: an :class:`ExperimentConfig` (:func:`load_experiment`).
        out_dir: the results folder.
        data_dir: the data root (default: ``$ALIGNFREEZE_DATA``, else ``../shared/data``).
        progress: show progress bars.
        on_run: called with each :class:`RunOutcome` as it finishes.

    Example::

        outcomes = af.run_experiment(af.load_experiment("configs/demo.yaml"), "runs/demo")
        rows = [row for outcome in outcomes for row in outcome.rows]
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    catalog = DataCatalog(data_dir)
    runs = experiment.runs()
    data = preflight(runs, catalog)
    done = reconcile(out_dir)
    outcomes = []
    for k, run in enumerate(runs):
        if run.run_id in done:
            outcome = RunOutcome(run, done[run.run_id], 0.0, skipped=True)
        else:
            outcome = execute_run(run, out_dir, catalog, progress, data=data)
        data.keep_only([r for r in runs[k + 1 :] if r.run_id not in done])
        outcomes.append(outcome)
        if on_run:
            on_run(outcome)
    return outcomes
