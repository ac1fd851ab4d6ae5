"""Running experiments: ``alignfreeze run CONFIG --out DIR``.

For each run of the experiment (skipping completed run ids):

1. realign the task model's encoder (``before``, ``before+during``), freezing per the run;
2. fine-tune on the training language, with the realignment loss added (``during``),
   keeping the freeze during fine-tuning if asked;
3. evaluate every configured language zero-shot (and the training language in-language);
4. write ``runs/<run_id>/config.yaml``, ``metrics.json`` (atomically) and ``log.txt``, then
   append the run's rows to ``results.csv``.

Every run's data and model are checked before the first one trains, so a missing
language or a typo fails in seconds, not after an hour.
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
        reference = resolve_data(catalog, task, ref.model_copy(update={"language": ref.premise_reference, "premise_split": None}))
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
    return records[: ref.limit] if ref.limit else records


def check_model_available(name: str) -> None:
    if name == "e5-small" or Path(name).expanduser().exists() or _hub_allowed():
        return
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise AlignfreezeError(
            f"model {name!r} is not 'e5-small', not a local folder, and not in the local Hugging Face cache "
            "(the hub is offline: HF_HUB_OFFLINE=1)"
        )


def preflight(runs: list[RunConfig], catalog: DataCatalog) -> None:
    """Resolve every model, data set and dictionary the runs need, before any training."""
    for run in runs:
        check_model_available(run.model)
        for ref in run.train:
            resolve_data(catalog, run.task, ref)
        for ref in run.eval:
            resolve_data(catalog, run.task, ref)
        if run.method != "baseline":
            for ref in run.realignment.pairs:
                catalog.resolve("parallel", ref.pair, ref.split, dataset=ref.dataset, allow_hub=False)
                if run.aligner == "dictionary":
                    catalog.resolve("dictionary", ref.pair, "full", allow_hub=False)
        if run.analysis.alignment:
            sources = analysis_pairs(run, catalog)
            for ref in [*sources, *run.analysis.exclude_pairs]:
                try:
                    catalog.resolve("parallel", ref.pair, ref.split, dataset=ref.dataset, allow_hub=False)
                    if ref in sources:
                        catalog.resolve("dictionary", ref.pair, "full", allow_hub=False)
                except AlignfreezeError as exc:
                    raise AlignfreezeError(f"alignment analysis (analysis.pairs): {exc}") from None


def realignment_corpora(run: RunConfig, catalog: DataCatalog) -> list[AlignedCorpus]:
    from alignfreeze.align import DictionaryAligner, EflomalAligner, EmbeddingAligner, align_corpus
    from alignfreeze.data import read_muse

    corpora = []
    for ref in run.realignment.pairs:
        src_lang, tgt_lang = ref.pair.split("-")
        pairs, _ = catalog.parallel_pairs(ref.pair, ref.split, ref.dataset)
        pairs = pairs[: ref.limit] if ref.limit else pairs
        if run.aligner == "dictionary":
            path = catalog.resolve("dictionary", ref.pair, "full", allow_hub=False).files[0]
            aligner = DictionaryAligner(read_muse(path), source=path.name)
        elif run.aligner == "eflomal":
            aligner = EflomalAligner(one_to_one_filter=run.realignment.eflomal_one_to_one)
        else:
            aligner = EmbeddingAligner(run.model, layer=run.realignment.embedding_aligner_layer)
        corpus = align_corpus(pairs, aligner, src_lang, tgt_lang)
        log.info("realignment data %s %s:%s: %d aligned pairs from %d (%d links, %s)", ref.pair, ref.dataset or "", ref.split,
                 len(corpus.pairs), corpus.n_sentence_pairs, corpus.n_links, run.aligner)  # fmt: skip
        corpora.append(corpus)
    return corpora


def analysis_pairs(run: RunConfig, catalog: DataCatalog | None = None) -> list:
    """The word-pair sources of a run's alignment analysis: ``analysis.pairs``, or by
    default the training language paired with every other eval language, from the first
    parallel corpus of the catalog (test split first) that realignment does not use."""
    from alignfreeze.experiments.config import ParallelRef

    if run.analysis.pairs:
        return list(run.analysis.pairs)
    source = run.train[0].language
    targets = dict.fromkeys(ref.language for ref in run.eval if ref.language != source)
    used = [*run.analysis.exclude_pairs, *run.realignment.pairs]
    refs = []
    for target in targets:
        pair = f"{source}-{target}"
        choice = ParallelRef(pair=pair, split="test")
        if catalog is not None:
            entries = sorted((e for e in catalog.entries() if e.kind == "parallel" and e.language == pair),
                             key=lambda e: (e.split != "test", e.dataset, e.split))  # fmt: skip
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
    from alignfreeze.data.fingerprints import SentenceSet
    from alignfreeze.data.words import split_words

    exclusion = SentenceSet()
    for ref in [*run.analysis.exclude_pairs, *run.realignment.pairs]:
        pairs, _ = catalog.parallel_pairs(ref.pair, ref.split, ref.dataset)
        for p in pairs[: ref.limit] if ref.limit else pairs:
            exclusion.add(split_words(p.src))
            exclusion.add(split_words(p.tgt))
    samples = []
    for ref in analysis_pairs(run, catalog):
        corpus = dictionary_aligned(catalog, ref.pair, ref.split, ref.dataset, ref.limit)
        samples.append(sample_word_pairs(corpus, run.analysis.n_pairs, run.analysis.sample_seed, exclusion))
    return samples


@dataclass
class RunOutcome:
    run: RunConfig
    rows: list[dict]
    seconds: float
    skipped: bool = False


def _rows(run: RunConfig, language: str, metrics: dict[str, float], stage: str = "finetuned") -> list[dict]:
    return [
        {"run_id": run.run_id, "model": run.model, "task": run.task, "method": run.method, "aligner": run.aligner,
         "freeze": run.freeze, "seed": run.seed, "language": language, "stage": stage, "metric": metric,
         "value": round(float(value), 6)}
        for metric, value in metrics.items()
    ]  # fmt: skip


def measure_stage(run: RunConfig, model, tokenizer, samples: list, stage: str, diagnostics: dict) -> list[dict]:
    """Alignment rows of every sample at one stage (initial, realigned, finetuned)."""
    from alignfreeze.analysis.retrieval import measure_alignment
    from alignfreeze.realign.trainer import encoder_of

    rows = []
    settings = run.analysis
    for sample in progress_bar(samples, desc=f"alignment ({stage})", disable=True):
        scores = measure_alignment(encoder_of(model), tokenizer, sample, settings.layers, settings.modes,
                                   csls_k=settings.csls_k, center=settings.center, batch_size=settings.batch_size)  # fmt: skip
        rows.extend(_rows(run, sample.tgt_lang, scores.metrics(), stage))
        diagnostics.setdefault(sample.pair, {**scores.stats})[f"seconds_{stage}"] = round(scores.seconds, 2)
        log.info("alignment %s (%s): fwd at the last layer %.3f", sample.pair, stage,
                 scores.scores[(max(layer for layer, _, _ in scores.scores), settings.modes[-1], "fwd")])  # fmt: skip
    return rows


def execute_run(
    run: RunConfig, out_dir: Path, catalog: DataCatalog, progress: bool = True, append_results: bool = True
) -> RunOutcome:
    """Run one configuration end to end and record it (see the module docstring).

    ``append_results=False`` leaves ``results.csv`` to the caller (the grid driver, the only
    writer when runs execute in parallel); ``metrics.json`` is written either way."""
    import torch
    from transformers import AutoTokenizer, set_seed

    from alignfreeze.finetune import finetune, get_task
    from alignfreeze.models import resolve_model
    from alignfreeze.realign import RealignConfig, RealignmentObjective, frozen, realign
    from alignfreeze.realign.trainer import encoder_of

    run_dir = out_dir / "runs" / run.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(run.model_dump(mode="json"), sort_keys=False))
    handler = logging.FileHandler(run_dir / "log.txt", mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logging.getLogger("alignfreeze").addHandler(handler)
    logging.getLogger("alignfreeze").setLevel(logging.INFO)
    t0 = time.perf_counter()
    try:
        log.info("run %s: %s %s %s seed %d", run.run_id, run.model, run.task, run.label, run.seed)
        report("loading model and data")
        task = get_task(run.task, doc_stride=run.training.doc_stride) if run.task == "qa" else get_task(run.task)
        train = [record for ref in run.train for record in load_records(catalog, run.task, ref)]
        log.info("training on %d examples (%s)", len(train), ", ".join(f"{r.language}:{r.dataset or ''}:{r.split}" for r in run.train))
        path = resolve_model(run.model)
        tokenizer = AutoTokenizer.from_pretrained(path)
        labels = task.label_list(train)
        set_seed(run.seed)  # the head's initialisation
        model = task.load_model(path, labels)
        if torch.cuda.is_available():
            model.to("cuda")
        realign_config = RealignConfig(
            model=run.model, freeze=run.freeze, seed=run.seed,
            **run.realignment.model_dump(exclude={"pairs", "embedding_aligner_layer", "eflomal_one_to_one"}),
        )  # fmt: skip
        corpora = realignment_corpora(run, catalog) if run.method != "baseline" else []
        samples = alignment_samples(run, catalog) if run.analysis.alignment else []
        alignment_rows: list[dict] = []
        alignment_diagnostics: dict[str, Any] = {}
        if samples:
            alignment_rows += measure_stage(run, model, tokenizer, samples, "initial", alignment_diagnostics)
        realign_stats: dict[str, Any] = {}
        if run.method in ("before", "before+during"):
            result = realign(model, tokenizer, corpora, realign_config, progress)
            realign_stats = {"losses": result.losses, "seconds": result.seconds, "frozen_parameters": result.frozen_parameters}
            log.info("realigned %d steps in %.0fs: loss %.3f -> %.3f", len(result.losses), result.seconds,
                     result.losses[0], result.losses[-1])  # fmt: skip
            if samples:
                alignment_rows += measure_stage(run, model, tokenizer, samples, "realigned", alignment_diagnostics)
        objective = None
        if run.method in ("during", "before+during"):
            objective = RealignmentObjective(model, tokenizer, corpora, realign_config)
        features = task.encode(train, tokenizer, run.training.max_length, labels)
        keep_frozen = run.freeze if run.freeze_during_finetuning else "none"
        with frozen(encoder_of(model), keep_frozen):
            ft = finetune(model, tokenizer, task, features, run.training, run.seed, objective, progress)
        log.info("fine-tuned %d optimiser steps (%d warm-up) in %.0fs: loss %.3f -> %.3f", ft.optimizer_steps,
                 ft.warmup_steps, ft.seconds, ft.losses[0], ft.losses[-1])  # fmt: skip
        if samples:
            alignment_rows += measure_stage(run, model, tokenizer, samples, "finetuned", alignment_diagnostics)
        rows: list[dict] = []
        diagnostics: dict[str, Any] = {}
        for ref in progress_bar(run.eval, desc="evaluate", disable=not progress):
            records = load_records(catalog, run.task, ref)
            start = time.perf_counter()
            scores = task.evaluate(model, tokenizer, records, ref.language, run.training.eval_max_length,
                                   run.training.eval_batch_size, labels)  # fmt: skip
            elapsed = time.perf_counter() - start
            rows.extend(_rows(run, ref.language, scores.metrics))
            diagnostics[ref.language] = {**scores.diagnostics, "examples_per_second": len(records) / elapsed,
                                         "dataset": ref.dataset, "split": ref.split}  # fmt: skip
            unseen = scores.diagnostics.get("unseen_label_words", 0)
            log.info("%s: %s%s", ref.language, ", ".join(f"{k}={v:.4f}" for k, v in scores.metrics.items()),
                     f" ({unseen} words with labels unseen in training: {scores.diagnostics['unseen_labels']})" if unseen else "")
        rows += alignment_rows
        if alignment_diagnostics:
            diagnostics["alignment"] = alignment_diagnostics
        seconds = time.perf_counter() - t0
        metrics = {"run_id": run.run_id, "label": run.label, "rows": rows, "diagnostics": diagnostics, "labels": labels,
                   "finetune": {"losses": ft.losses, "optimizer_steps": ft.optimizer_steps, "warmup_steps": ft.warmup_steps,
                                "seconds": ft.seconds},
                   "realign": realign_stats, "seconds": seconds}  # fmt: skip
        atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        if append_results:
            append_rows(out_dir / "results.csv", rows)
        log.info("done in %.0fs", seconds)
        return RunOutcome(run, rows, seconds)
    finally:
        logging.getLogger("alignfreeze").removeHandler(handler)
        handler.close()


def run_experiment(
    experiment: ExperimentConfig,
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    progress: bool = True,
    on_run: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Run (or resume) every run of ``experiment`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    catalog = DataCatalog(data_dir)
    runs = experiment.runs()
    preflight(runs, catalog)
    done = reconcile(out_dir)
    outcomes = []
    for run in runs:
        if run.run_id in done:
            outcome = RunOutcome(run, done[run.run_id], 0.0, skipped=True)
        else:
            outcome = execute_run(run, out_dir, catalog, progress)
        outcomes.append(outcome)
        if on_run:
            on_run(outcome)
    return outcomes
