"""Planning runs: what they read, whether it is all there, how long they will take.

Before any run loads a model, :func:`preflight` checks everything the runs read -- each
model (and every freeze spec against its layer count), every data file, each parsed once
and kept for the runs (:class:`RunData`) -- so that a missing language or a typo fails in
seconds, and a malformed file with its file and line, not after an hour of training.
:func:`data_needs` lists every data set the runs read and where the missing ones could be
fetched from. :func:`plan_grid` (``alignfreeze grid --dry-run``) adds each run's state in
the output folder, its realignment and fine-tuning steps and its estimated cost
(:func:`estimate_cost`). Nothing here trains, and nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from alignfreeze.data.catalog import DataCatalog, DataSource
from alignfreeze.errors import AlignfreezeError, DataFormatError
from alignfreeze.experiments.config import RunConfig
from alignfreeze.experiments.results import reconcile
from alignfreeze.realign.config import MATCH, resolve_layers

#: A run that failed leaves this file in its folder (with ``error.txt``, the traceback).
FAILED_FILE = "failed.json"


def _hub_allowed() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false", "False")


def resolve_data(catalog: DataCatalog, task: str, ref) -> DataSource:
    return catalog.find(task, ref.language, ref.split, dataset=ref.dataset, allow_hub=_hub_allowed())


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
    """Raise an :class:`AlignfreezeError` unless ``name`` can be loaded: an embedded model
    (``e5-small``, ``gemma3-270m``) whose packages are installed, a local model folder (with a
    ``config.json``), a hub id while the hub is online, or one in the local Hugging Face cache."""
    from alignfreeze.models.embedded import EMBEDDED_MODELS
    from alignfreeze.models.layers import model_config_file

    if Path(name).expanduser().exists():
        model_config_file(name)  # a file, or a folder without config.json, is refused
        return
    if name in EMBEDDED_MODELS:
        # Prepared, or preparable: what it is built from is installed (the llm extra for
        # gemma3-270m), else the one-line error that says what to install.
        if model_config_file(name) is None:
            EMBEDDED_MODELS[name].sources()
        return
    if _hub_allowed():
        return
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise AlignfreezeError(
            f"model {name!r} is not an embedded model ({', '.join(EMBEDDED_MODELS)}), not a local folder, and not "
            "in the local Hugging Face cache (the hub is offline: HF_HUB_OFFLINE=1)"
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
    from alignfreeze.data.mixtures import mixture_parts

    wanted: dict[tuple, None] = {}
    for run in runs:
        for ref in [*run.train, *run.eval]:
            wanted[(run.task, ref.language, ref.split, ref.dataset)] = None
        if run.method != "baseline":
            for ref in run.realignment_pairs:
                for dataset, _ in mixture_parts(ref.pair, ref.dataset):  # a mixture's corpora, each on its own
                    wanted[("parallel", ref.pair, ref.split, dataset)] = None
                for kind, pair in aligner_files(run, ref.pair):
                    wanted[(kind, pair, "full", None)] = None
    needs = []
    for kind, language, split, dataset in wanted:
        try:
            files = tuple(catalog.find(kind, language, split, dataset=dataset, allow_hub=False).files)
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
            if run.method != "baseline":
                try:  # realignment.layers too, against the same count
                    resolve_layers(run.realignment, counts[run.model])
                except ValueError as exc:
                    raise AlignfreezeError(f"{run.model}: {exc}") from None


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
                catalog.find("parallel", ref.pair, ref.split, dataset=ref.dataset, allow_hub=False)
                parallel[(ref.pair, ref.split, ref.dataset)] = None
                for kind, pair in aligner_files(run, ref.pair):
                    catalog.find(kind, pair, "full", allow_hub=False)
                    dictionaries[(kind, pair)] = None
            if run.aligner is not None:
                run.aligner.check_files()
        if run.analysis.alignment:
            sources = analysis_pairs(run, catalog)
            for ref in [*sources, *run.analysis.exclude_pairs]:
                try:
                    catalog.find("parallel", ref.pair, ref.split, dataset=ref.dataset, allow_hub=False)
                    if ref in sources:
                        catalog.find("dictionary", ref.pair, "full", allow_hub=False)
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
        for path in catalog.find(kind, pair, "full", allow_hub=False).files:
            read_muse(path)
    return data


def aligner_files(run: RunConfig, pair: str) -> list[tuple[str, str]]:
    """``(kind, language pair)`` of the catalog files the run's aligner needs for ``pair``."""
    return run.aligner.catalog_files(pair) if run.aligner is not None else []


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


@dataclass
class GridState:
    done: dict[str, list[dict]] = field(default_factory=dict)
    failed: dict[str, dict] = field(default_factory=dict)


def grid_state(out_dir: Path) -> GridState:
    done = reconcile(out_dir)
    failed = {}
    for path in sorted((out_dir / "runs").glob(f"*/{FAILED_FILE}")):
        if path.parent.name not in done:
            try:
                failed[path.parent.name] = json.loads(path.read_text())
            except ValueError:
                failed[path.parent.name] = {"error": "unreadable failed.json"}
    return GridState(done, failed)


#: Seconds per unit of work for e5-small on a 2-core CPU, from the README demo's runs
#: (realignment 46-55 s for 25 steps of 16 pairs; fine-tuning 84-102 s for 126 optimiser
#: steps of 32 sentences; PoS evaluation ~100 sentences/s). Used when the output folder has
#: no finished run to measure from.
REFERENCE_COST = {"realign_step": 2.0, "finetune_step": 0.8, "eval_example": 0.01}


def observed_cost(out_dir: Path) -> dict[str, float] | None:
    """Median seconds per realignment step and per fine-tuning optimiser step of the runs
    already finished in ``out_dir`` (None when there are none)."""
    import statistics

    realign, finetune = [], []
    for path in (out_dir / "runs").glob("*/metrics.json"):
        try:
            m = json.loads(path.read_text())
        except ValueError:
            continue
        if m.get("realign", {}).get("losses"):
            realign.append(m["realign"]["seconds"] / len(m["realign"]["losses"]))
        if m.get("finetune", {}).get("optimizer_steps"):
            finetune.append(m["finetune"]["seconds"] / m["finetune"]["optimizer_steps"])
    if not finetune:
        return None
    return {
        "realign_step": statistics.median(realign) if realign else REFERENCE_COST["realign_step"],
        "finetune_step": statistics.median(finetune),
        "eval_example": REFERENCE_COST["eval_example"],
    }


def _tokenizer(model: str):
    """The model's tokenizer if it can be had without a download, else None."""
    from transformers import AutoTokenizer

    from alignfreeze.models import resolve_model

    try:
        return AutoTokenizer.from_pretrained(resolve_model(model), local_files_only=True)  # a dry run downloads nothing
    except Exception:  # noqa: BLE001 -- not local, not cached: the count is estimated instead
        return None


def estimate_cost(runs: list[RunConfig], catalog, out_dir: Path) -> tuple[list[dict], str]:
    """Per run: realignment steps, fine-tuning optimiser steps, evaluation examples and
    estimated seconds; and where the per-unit costs came from.

    Fine-tuning steps are exact when the training data is local and the model's tokenizer
    can be loaded offline (the training features are built as the run builds them), an
    estimate from the record count otherwise (``exact_steps`` False): when the training data
    is not local, from the hub split's number of examples that ``hub_configs.json`` records
    (:func:`~alignfreeze.data.catalog.hub_split_size`), and None where none is known.
    ``realignment.steps: match`` realigns for as many steps."""
    from alignfreeze.data.catalog import hub_split_size
    from alignfreeze.finetune import get_task, total_optimizer_steps

    records: dict[str, list | None] = {}
    features: dict[str, int | None] = {}
    tokenizers: dict[str, object] = {}

    def load(task: str, ref) -> list | None:
        key = f"{task}:{ref.model_dump_json()}"
        if key not in records:
            try:
                catalog.find(task, ref.language, ref.split, dataset=ref.dataset, allow_hub=False)
                records[key] = load_records(catalog, task, ref)
            except DataFormatError:  # a local file that is malformed: an error here too, with its file:line
                raise
            except AlignfreezeError:  # not local: nothing is downloaded for a dry run
                records[key] = None
        return records[key]

    def hub_records(task: str, ref) -> int | None:
        """Records of a DataRef that is not local, from its hub split's recorded size (None:
        unknown, or split by premise, which keeps an unknown share)."""
        if ref.premise_split is not None:
            return None
        n = hub_split_size(task, ref.language, ref.split, ref.dataset)
        return min(n, ref.limit) if n is not None and ref.limit else n

    def n_features(run: RunConfig, train: list) -> int | None:
        key = json.dumps(
            [
                run.model,
                run.task,
                [r.model_dump(mode="json") for r in run.train],
                run.training.model_dump(mode="json"),
                run.tokenization.model_dump(mode="json"),
            ]
        )
        if key not in features:
            if run.model not in tokenizers:
                tokenizers[run.model] = _tokenizer(run.model)
            tokenizer = tokenizers[run.model]
            task = get_task(run.task, run.training, run.evaluation, run.tokenization, run.train[0].language)
            features[key] = (
                len(task.encode(train, tokenizer, run.training.max_length, task.label_list(train)))
                if tokenizer
                else None
            )
        return features[key]

    cost = observed_cost(out_dir)
    basis = "measured on the runs already in this folder" if cost else "reference: e5-small on 2 CPU cores"
    cost = cost or REFERENCE_COST
    out = []
    for run in runs:
        train_parts = [load(run.task, ref) for ref in run.train]
        n_eval = [load(run.task, ref) for ref in run.eval]
        train = None if any(t is None for t in train_parts) else [r for t in train_parts for r in t]
        examples = None if any(e is None for e in n_eval) else sum(len(e) for e in n_eval)
        steps, exact = None, False
        if train is not None:
            count = n_features(run, train)
            exact = count is not None
            steps = total_optimizer_steps(count if exact else len(train), run.training)
        else:
            # Not local (nothing is downloaded for a dry run): records, not features, so an
            # estimate, from the hub's recorded split sizes (and the local parts' records).
            sizes = [len(t) if t is not None else hub_records(run.task, ref) for t, ref in zip(train_parts, run.train)]
            if all(n is not None for n in sizes):
                steps = total_optimizer_steps(sum(sizes), run.training)
        before = run.realignment_steps(steps)
        realign: int | str = MATCH if before is None else before  # "match": as many as fine-tuning's, not known
        # Sentence pairs realignment will draw: one batch per realignment step, and one per
        # fine-tuning optimiser step for "during" (an upper bound under batching "mixed",
        # whose epochs may end with a short batch).
        draws: int | None = 0
        if run.method != "baseline":
            during = steps if run.method.realigns_during else 0
            draws = None if before is None or during is None else (before + during) * run.realignment.batch_size
        seconds = None
        if steps is not None and examples is not None and before is not None:
            joint = 1.0 + (0.5 if run.method.realigns_during else 0.0)  # one realignment batch per step
            seconds = (
                before * cost["realign_step"] + steps * cost["finetune_step"] * joint + examples * cost["eval_example"]
            )
        out.append(
            {
                "run": run,
                "realign_steps": realign,
                "realign_draws": draws,
                "finetune_steps": steps,
                "exact_steps": exact,
                "eval_examples": examples,
                "seconds": seconds,
            }
        )
    return out, basis


@dataclass
class PlannedRun:
    """One run of a grid's plan: its steps, cost estimate and state in the output folder."""

    run: RunConfig
    realign_steps: int | str | None
    #: Sentence pairs realignment will draw (None: depends on fine-tuning steps not known offline).
    realign_draws: int | None
    finetune_steps: int | None
    exact_steps: bool
    eval_examples: int | None
    seconds: float | None
    state: str  # "done", "failed" or "to do"


@dataclass
class GridPlan:
    """What ``alignfreeze grid --dry-run`` shows: every run, the cost of those to do (and
    where the per-step costs come from), and the data not under the data root."""

    runs: list[PlannedRun]
    seconds_to_do: float
    not_estimated: int
    basis: str
    missing_data: list


def plan_grid(runs: list[RunConfig], out_dir: str | Path, catalog) -> GridPlan:
    """Plan a grid without running it: the state of each run in ``out_dir``, its steps and
    estimated cost (:func:`estimate_cost`), and the data sets it needs that are not local,
    with where they would come from. Nothing is downloaded.

    Example::

        name, runs, resources = af.load_grid("configs/paper/pos.yaml")
        plan = af.plan_grid(runs, "runs/paper-pos", af.DataCatalog())
        plan.seconds_to_do / 3600, [need.what for need in plan.missing_data]
    """
    check_freeze_specs(runs)  # from each model's config.json: nothing loaded, nothing downloaded
    out_dir = Path(out_dir)
    state = grid_state(out_dir) if out_dir.exists() else GridState()
    estimates, basis = estimate_cost(runs, catalog, out_dir)
    planned, total, unknown = [], 0.0, 0
    for e in estimates:
        run_id = e["run"].run_id
        status = "done" if run_id in state.done else "failed" if run_id in state.failed else "to do"
        if status != "done":
            if e["seconds"] is None:
                unknown += 1
            else:
                total += e["seconds"]
        planned.append(
            PlannedRun(
                e["run"],
                e["realign_steps"],
                e["realign_draws"],
                e["finetune_steps"],
                e["exact_steps"],
                e["eval_examples"],
                e["seconds"],
                status,
            )
        )
    missing = [need for need in data_needs(runs, catalog) if not need.files]
    return GridPlan(planned, total, unknown, basis, missing)
