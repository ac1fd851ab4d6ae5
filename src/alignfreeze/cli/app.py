"""The ``alignfreeze`` command line: a thin layer over the Python API.

Each command parses its arguments, calls library functions and renders what they return.
Options that are settings come from the config classes' fields, and the others' defaults
from the signatures of the functions they are passed to (:mod:`alignfreeze.cli.options`),
so a setting's default and help exist once. Errors the user can fix
(:class:`alignfreeze.errors.AlignfreezeError`) print as one line and exit with status 2,
without a traceback.

Only the settings are imported here: each command imports what it calls, from the module
that defines it, so that ``alignfreeze --help`` and the quick commands do not load torch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from typer.core import TyperGroup

from alignfreeze.align.config import ALIGNER_CONFIGS
from alignfreeze.analysis.config import AlignmentMeasureSettings, parse_layers
from alignfreeze.cli import outputs, render
from alignfreeze.cli.options import Configs, config_options, field_option, signature_default
from alignfreeze.cli.render import console, err_console
from alignfreeze.data.refs import check_language
from alignfreeze.data.subwords import TokenizationSettings
from alignfreeze.errors import AlignfreezeError
from alignfreeze.finetune.config import TrainingSettings
from alignfreeze.models.e5_small import E5_SMALL
from alignfreeze.models.embedded import EMBEDDED_MODELS, embedded_model
from alignfreeze.paths import check_can_create
from alignfreeze.realign.config import RealignConfig

try:  # typer 0.26 and later carry their own click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover -- older typer, on click
    from click.exceptions import UsageError
#: No arguments at all (click 8.2 and later raise it to show the help), left as it is.
NoArgsIsHelpError = next((c for c in UsageError.__subclasses__() if c.__name__ == "NoArgsIsHelpError"), ())


@contextlib.contextmanager
def _usage_errors_in_one_line():
    """click's usage errors (an unknown option, a value of the wrong type, a missing option)
    as an :class:`AlignfreezeError`: one line naming the option, exit status 2, like every
    other user error, instead of a usage banner and a box."""
    try:
        yield
    except NoArgsIsHelpError:
        raise  # no arguments at all: the help
    except UsageError as exc:
        message = " ".join(exc.format_message().replace("Value error, ", "").split())
        command = exc.ctx.command_path if exc.ctx is not None else "alignfreeze"
        raise AlignfreezeError(f"{message} (see: {command} --help)") from None


class _Commands(TyperGroup):
    """The command group, with usage errors in one line (:func:`_usage_errors_in_one_line`):
    the group's own, and those of each command's arguments (parsed in ``invoke``)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        with _usage_errors_in_one_line():
            return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors_in_one_line():
            return super().invoke(ctx)


app = typer.Typer(
    name="alignfreeze",
    cls=_Commands,
    help="Cross-lingual realignment research on multilingual encoders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _data_dir_folder(value: Optional[Path]) -> Optional[Path]:
    if value is not None and value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file, not a folder")
    return value


def _loadable_model(value: str) -> str:
    """A model a command can load: an embedded model (``e5-small``, ``gemma3-270m``), a hub id
    (``org/name``), or a folder with a ``config.json`` (not a file, nor an empty folder)."""
    from alignfreeze.models.embedded import EMBEDDED_MODELS

    path = Path(value).expanduser()
    if path.exists():
        if not path.is_dir():
            raise typer.BadParameter(f"{value} is a file; a model is a folder with a config.json, or a hub id")
        if not (path / "config.json").is_file():
            raise typer.BadParameter(f"the folder {value} has no config.json (is it a saved model?)")
    elif value not in EMBEDDED_MODELS and (
        value.startswith((".", "/", "~")) or not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", value)
    ):
        raise typer.BadParameter(
            f"{value!r} is neither an embedded model ({', '.join(EMBEDDED_MODELS)}), an existing folder, nor a hub id "
            "(org/name)"
        )
    return value


def _out(path: Optional[Path], option: str = "--out") -> None:
    """``path`` (an output that need not exist) can be created: before any work."""
    if path is not None:
        check_can_create(path, option)


def _language(option: str):
    def check(value: str) -> str:
        try:
            return check_language(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return typer.Option(option, callback=check, help="ISO 639 code (en, fr, zh...).")


def _language_pair(value: str, option: str) -> str:
    """``en-fr`` as the configs check it (:class:`~alignfreeze.data.refs.ParallelRef`)."""
    from pydantic import ValidationError

    from alignfreeze.data.refs import ParallelRef

    try:
        return ParallelRef(pair=value).pair
    except ValidationError as exc:
        raise AlignfreezeError(f"{option} {value!r}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None


DataDir = Annotated[
    Optional[Path],
    typer.Option(
        "--data-dir",
        help="Data root (default: $ALIGNFREEZE_DATA, else ../shared/data).",
        callback=_data_dir_folder,
    ),
]
ModelOption = Annotated[str, typer.Option(help="'e5-small', a hub id or a local path.", callback=_loadable_model)]
Overrides = Annotated[Optional[list[str]], typer.Option("--set", help="Override a field: a.b=value (YAML value).")]
OutFolder = Annotated[
    Optional[Path],
    typer.Option(help="Output folder: results.csv and runs/<run_id>/ (default: runs/<the config's name>)."),
]


def _precision_option():
    return field_option(TrainingSettings, "precision")


def _quiet_transformers() -> None:
    import transformers

    transformers.logging.set_verbosity_error()  # "newly initialized head" notes are expected here


# --- setup -------------------------------------------------------------------------------


def PairsOption(flag: str, help: str):  # noqa: N802 -- used as a type, like typer's Annotated aliases
    """A repeatable option naming aligned pairs: files, or catalog language pairs (``en-fr``)."""
    return Annotated[list[str], typer.Option(flag, help=help)]


PAIRS_HELP = "Aligned-pairs file, or a language pair in the data catalog (en-fr), dictionary-aligned with MUSE. Repeat for several."
REALIGN_PAIRS_HELP = "Realignment data: aligned-pairs files, or catalog language pairs (en-fr), dictionary-aligned."
EVAL_PAIRS_HELP = (
    "Alignment test data: aligned-pairs files or catalog language pairs (held out from the realignment data)."
)


@app.command("prepare-model")
def prepare_model(
    name: Annotated[
        str,
        typer.Argument(
            help="The embedded model: "
            + "; ".join(f"{m.name}: {m.description}" for m in EMBEDDED_MODELS.values())
            + "."
        ),
    ] = E5_SMALL,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the cache is valid.")] = False,
) -> None:
    """Convert an embedded model (default: multilingual-e5-small) into a cached HF checkpoint once; print its folder."""
    model = embedded_model(name)
    with render.step_bars() as on_progress:
        folder = model.prepare(force=force, on_progress=on_progress)
    print(folder)


@app.command()
def doctor(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    devices: Annotated[
        bool, typer.Option("--devices", help="Also torch's threads and the CUDA device (imports torch: seconds).")
    ] = signature_default("alignfreeze.doctor:doctor_report", "devices"),
) -> None:
    """Print versions, threads, the data root with the tasks and languages found, and the model state."""
    from alignfreeze.doctor import doctor_report

    info = doctor_report(data_dir, devices=devices)
    if as_json:
        print(json.dumps(info, indent=2))
    else:
        render.doctor(info)


FORMATS = ("conllu", "panx", "xnli", "squad", "parallel", "muse", "pharaoh")


@app.command("read-data")
def read_data(
    path: Annotated[Path, typer.Argument(help="The file to read.")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")],
    tgt: Annotated[Optional[Path], typer.Option("--tgt", help="parallel: the target-side file.")] = None,
    one_based: Annotated[Optional[bool], typer.Option("--one-based/--zero-based", help="pharaoh: index base.")] = None,
) -> None:
    """Read one data file with its reader, check it, and print what it holds."""
    from alignfreeze.data import read_dataset_file

    records = read_dataset_file(path, fmt, tgt=tgt, one_based=one_based)
    console.print(f"{path}: {len(records)} records ({fmt})")
    for record in records[:3]:
        console.print(record, highlight=False)


# --- word alignment ----------------------------------------------------------------------


def _pharaoh_links(arguments: dict) -> dict:
    """The pharaoh aligner's links file, for the one language pair of the command."""
    if arguments["method"] != "pharaoh":
        if arguments["links"] is not None:
            raise AlignfreezeError("--links applies to --method pharaoh only")
        return {}
    if arguments["links"] is None:
        raise AlignfreezeError("--method pharaoh needs --links FILE")
    return {"links": {f"{arguments['src_lang']}-{arguments['tgt_lang']}": arguments["links"]}}


@app.command()
@config_options(
    Configs(
        "aligner",
        ALIGNER_CONFIGS,
        select="method",
        # The embedding aligner's encoder is --model; eflomal's model number and the
        # embedding aligner's method get their own names.
        rename={
            "eflomal": {"model": "eflomal_model"},
            "embedding": {"method": "embedding_method"},
            "pharaoh": {"one_based": "links_one_based"},
        },
        exclude=("links",),
        fill=_pharaoh_links,
    )
)
def align(
    method: Annotated[str, typer.Option(help=f"The aligner: {', '.join(ALIGNER_CONFIGS)}.")],
    out: Annotated[Path, typer.Option(help="Aligned-pairs file to write (JSON Lines).")],
    src_lang: Annotated[str, _language("--src-lang")],
    tgt_lang: Annotated[str, _language("--tgt-lang")],
    aligner: Any = None,
    src_file: Annotated[Optional[Path], typer.Option("--src-file", help="Source side, one sentence a line.")] = None,
    tgt_file: Annotated[
        Optional[Path], typer.Option("--tgt-file", help="Target side, line-aligned with --src-file.")
    ] = None,
    parallel_file: Annotated[
        Optional[Path], typer.Option("--parallel-file", help="One 'src ||| tgt' file instead.")
    ] = None,
    links: Annotated[Optional[Path], typer.Option(help="pharaoh: links file from an external aligner.")] = None,
    pretokenized: Annotated[
        bool, typer.Option("--pretokenized", help="Split on whitespace only; keep tokens.")
    ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Recompute even if cached.")] = False,
    limit: Annotated[Optional[int], typer.Option(help="Use only the first N sentence pairs.", min=1)] = None,
    data_dir: DataDir = None,
) -> None:
    """Word-align a parallel corpus and write the linked sentence pairs.

    The aligner's settings are options (see each aligner's config in alignfreeze.align);
    the embedding aligner's encoder is --model (default: e5-small)."""
    from alignfreeze.align.config import align_with
    from alignfreeze.data.catalog import DataCatalog
    from alignfreeze.data.parallel import read_parallel

    outputs.pairs_file(out)
    _out(out)
    if parallel_file is not None:
        pairs = read_parallel(parallel_file)
    elif src_file is not None and tgt_file is not None:
        pairs = read_parallel(src_file, tgt_file)
    else:
        raise AlignfreezeError("give --src-file and --tgt-file, or --parallel-file")
    pairs = pairs[:limit] if limit is not None else pairs
    with render.count_bar(f"aligning ({method})", len(pairs)) as advance:
        corpus = align_with(
            aligner,
            pairs,
            src_lang=src_lang,
            tgt_lang=tgt_lang,
            catalog=DataCatalog(data_dir),
            model="e5-small",
            pretokenized=pretokenized,
            use_cache=not no_cache,
            on_progress=advance,
        )
    corpus.save(out)
    console.print(
        f"{len(corpus.pairs)} aligned pairs from {corpus.n_sentence_pairs} sentence pairs, "
        f"{corpus.n_links} links -> {out}"
    )


@app.command("align-eval")
def align_eval(
    gold: Annotated[Path, typer.Option(help="Gold links (Pharaoh, sure i-j and possible ipj).")],
    pred: Annotated[Path, typer.Option(help="Predicted links: an aligned-pairs file or a Pharaoh file (0-based).")],
    gold_one_based: Annotated[bool, typer.Option("--gold-one-based", help="Gold indices start at 1.")] = False,
    pred_one_based: Annotated[bool, typer.Option("--pred-one-based", help="Pharaoh predictions start at 1.")] = False,
    sentences: Annotated[
        Optional[Path],
        typer.Option(
            help="The gold set's 'source ||| target' file (tokenised): every link is checked to fit its sentences "
            "(default: X.src-tgt beside a gold file X.gold, as the gold sets come)."
        ),
    ] = None,
) -> None:
    """Score predicted links against a gold standard; print precision, recall and AER as JSON."""
    beside = gold.with_suffix(".src-tgt")  # how the gold sets come: enfr.gold with enfr.src-tgt
    if sentences is None and gold.suffix == ".gold" and beside.is_file():
        sentences = beside
    from alignfreeze.align.metrics import score_alignment_file

    scores = score_alignment_file(
        gold, pred, gold_one_based=gold_one_based, predicted_one_based=pred_one_based, sentences=sentences
    )
    print(json.dumps(scores.as_dict(), indent=2))


# --- realignment -------------------------------------------------------------------------


REALIGN_FILES = "alignfreeze.realign.trainer:realign_files"


def _freeze_spec(value: str) -> str:
    from alignfreeze.realign.freeze import FreezeSpec

    try:
        FreezeSpec.parse(value)
    except (AlignfreezeError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def _freeze_schedule(value: str | None) -> str | None:
    from alignfreeze.realign.freeze import parse_schedule

    try:
        parse_schedule(value)
    except AlignfreezeError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def _adapter(value: str | None) -> str | None:
    """``--adapter``: ``lora`` or a YAML mapping of :class:`~alignfreeze.models.adapters.LoraAdapter`,
    checked here (realign_files reads it again)."""
    if value is None:
        return None
    import yaml
    from pydantic import ValidationError

    from alignfreeze.models.adapters import AdapterSettings

    try:
        AdapterSettings.model_validate(yaml.safe_load(value))
    except (yaml.YAMLError, ValidationError) as exc:
        if isinstance(exc, ValidationError):
            error = exc.errors()[0]
            problem = f"{'.'.join(map(str, error['loc'])) or 'adapter'}: {error['msg']}"
        else:
            problem = "not valid YAML"
        raise typer.BadParameter(f"{value!r}: {problem}") from None
    return value


@app.command()
@config_options(
    # freeze_matching is for "during" runs; the task-data settings are for fine-tuning data.
    Configs("realignment", RealignConfig, exclude=("freeze_matching",)),
    Configs("tokenization", TokenizationSettings, exclude=("multiword_tokens", "zh_ner_segmentation")),
)
def realign(
    pairs: Annotated[list[Path], typer.Option("--pairs", help="Aligned-pairs file(s) from `alignfreeze align`.")],
    realignment: Any = None,
    tokenization: Any = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder to save the realigned encoder to.")] = None,
    model: ModelOption = "e5-small",
    freeze: Annotated[
        str,
        typer.Option(
            help="Layers kept fixed: none, front, back, layers:A-B, bottom:K, embeddings; a layer selection "
            "followed by /attention or /ffn keeps that sub-module only (front/attention, layers:0-5/ffn); "
            "join with '+'.",
            callback=_freeze_spec,
        ),
    ] = signature_default(REALIGN_FILES, "freeze"),
    freeze_schedule: Annotated[
        Optional[str],
        typer.Option(
            help="Gradual unfreezing: the frozen layers are released one every K steps, lowest (bottom_up) or "
            "highest (top_down) first; ORDER:K, e.g. bottom_up:100.",
            callback=_freeze_schedule,
            metavar="ORDER:K",
        ),
    ] = signature_default(REALIGN_FILES, "freeze_schedule"),
    adapter: Annotated[
        Optional[str],
        typer.Option(
            help="Train a LoRA adapter on the encoder instead of its weights: 'lora' (r 8, alpha 32, dropout 0.1), "
            "or a YAML mapping like '{type: lora, r: 4, target_modules: [query, value]}' (as training.adapter).",
            callback=_adapter,
            metavar="ADAPTER",
        ),
    ] = signature_default(REALIGN_FILES, "adapter"),
    seed: Annotated[
        int, typer.Option(help="Seed of the batch order, the head's initialisation and dropout.", min=0)
    ] = signature_default(REALIGN_FILES, "seed"),
    precision: str = _precision_option(),
) -> None:
    """Realign an encoder with a realignment objective, by default the contrastive word-alignment loss (optionally
    freezing layers).

    Every realignment setting has an option here (see RealignConfig); the defaults are ours,
    the reference code's values are in the README's protocol table."""
    _out(out)
    outputs.on_interrupt(lambda: f"nothing was written{f' to {out}' if out else ''}; run the same command again")
    import yaml

    from alignfreeze.realign.trainer import realign_files

    result = realign_files(
        model,
        pairs,
        realignment,
        freeze=freeze,
        seed=seed,
        tokenization=tokenization,
        out=out,
        precision=precision,
        freeze_schedule=freeze_schedule,
        adapter=None if adapter is None else yaml.safe_load(adapter),
    )
    tenth = max(1, len(result.losses) // 10)
    first, last = result.losses[:tenth], result.losses[-tenth:]
    console.print(
        f"realigned {model}{' (a LoRA adapter)' if adapter else ''} for {len(result.losses)} steps (freeze {freeze}"
        + (f", unfreezing {freeze_schedule}" if freeze_schedule else "")
        + "): loss "
        f"{sum(first) / len(first):.3f} (first 10%) -> {sum(last) / len(last):.3f} (last 10%), "
        f"{result.seconds:.0f}s" + (f"; saved to {out}" if out else "")
    )


# --- alignment analysis ------------------------------------------------------------------


CHECK_TRANSLATIONS = "alignfreeze.analysis.translation:check_translations"


@app.command("translation-check")
def translation_check(
    model: ModelOption = signature_default(CHECK_TRANSLATIONS, "model_name"),
    pair: Annotated[list[str], typer.Option("--pair", help="Language pair(s) in the catalog.")] = signature_default(
        CHECK_TRANSLATIONS, "pairs"
    ),
    dataset: Annotated[str, typer.Option(help="Parallel dataset in the catalog.")] = signature_default(
        CHECK_TRANSLATIONS, "dataset"
    ),
    split: Annotated[str, typer.Option(help="Split of the parallel dataset.")] = signature_default(
        CHECK_TRANSLATIONS, "split"
    ),
    n: Annotated[
        int, typer.Option("-n", help="Number of sentence pairs per language pair (2 or more).", min=2)
    ] = signature_default(CHECK_TRANSLATIONS, "n"),
    seed: Annotated[int, typer.Option(help="Seed of the random other sentences.", min=0)] = signature_default(
        CHECK_TRANSLATIONS, "seed"
    ),
    data_dir: DataDir = None,
) -> None:
    """Check that sentences embed closer to their translation than to a random other one."""
    from alignfreeze.analysis.translation import check_translations

    for item in pair:
        _language_pair(item, "--pair")
    with console.status(f"embedding up to {n} sentence pairs per language pair"):
        checks = check_translations(model, pairs=pair, dataset=dataset, split=split, n=n, seed=seed, data_dir=data_dir)
    render.translation_checks(checks, f"translation check: {model}, {dataset} {split}")


@app.command("measure-alignment")
@config_options(("settings", AlignmentMeasureSettings))
def measure_alignment(
    pairs: PairsOption("--pairs", PAIRS_HELP),
    settings: Any = None,
    out: Annotated[
        Optional[Path],
        typer.Option(
            help="Folder for alignment.csv, alignment.json and alignment.png (default: alignment-<label or model "
            "folder name> in the current folder)."
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            help="'e5-small', 'gemma3-270m', a hub id or a local path (e.g. a realigned model).",
            callback=_loadable_model,
        ),
    ] = "e5-small",
    dataset: Annotated[Optional[str], typer.Option(help="Catalog pairs: parallel dataset (un, tatoeba...).")] = None,
    split: Annotated[str, typer.Option(help="Catalog pairs: split of the parallel dataset.")] = "test",
    exclude: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--exclude",
            help="Aligned-pairs file(s) used for realignment: their sentences are left out "
            "(a realigned model's own are excluded automatically).",
        ),
    ] = None,
    label: Annotated[Optional[str], typer.Option(help="Name of this model in the CSV and plots.")] = None,
    precision: str = _precision_option(),
    data_dir: DataDir = None,
) -> None:
    """Word retrieval accuracy of translated word pairs in context, at every layer (Gaschi et al., 2023).

    Every measurement setting has an option (see AlignmentMeasureSettings)."""
    from alignfreeze.align.corpus import AlignedCorpus
    from alignfreeze.analysis.measure import check_out_folder, measure_corpora
    from alignfreeze.analysis.word_pairs import load_aligned_corpus
    from alignfreeze.data.catalog import DataCatalog
    from alignfreeze.models.layers import model_layer_count

    if out is None:
        out = Path("alignment-" + re.sub(r"[^A-Za-z0-9._-]+", "_", label or Path(model).name or "model"))
    _out(out)
    check_out_folder(out)
    depth = model_layer_count(model)
    if depth is not None:  # the layer list against the model's depth, read from its config, before it loads
        parse_layers(settings.layers, depth)
    catalog = DataCatalog(data_dir)
    corpora = [load_aligned_corpus(spec, catalog, split=split, dataset=dataset, given_as="--pairs") for spec in pairs]
    excluded = [AlignedCorpus.load(path) for path in exclude or []]
    with render.bars() as new_bar:
        rows, meta = measure_corpora(
            model,
            corpora,
            out,
            settings=settings,
            exclude=excluded,
            label=label,
            on_progress=lambda pair, total: new_bar(f"encoding {pair} sentences", total),
            precision=precision,
        )
    render.alignment_summary(rows, meta, settings, out)


PLOT_ALIGNMENT_FILES = "alignfreeze.analysis.measure:plot_alignment_files"


@app.command("plot-alignment")
def plot_alignment(
    csv_files: Annotated[
        list[Path], typer.Argument(help="alignment.csv files from measure-alignment (one line each).")
    ],
    out: Annotated[Path, typer.Option(help="PNG to write.")],
    mode: Annotated[Literal["weak", "strong"], typer.Option(help="weak or strong.")] = signature_default(
        PLOT_ALIGNMENT_FILES, "mode"
    ),
    direction: Annotated[Literal["fwd", "bwd"], typer.Option(help="fwd or bwd.")] = signature_default(
        PLOT_ALIGNMENT_FILES, "direction"
    ),
    title: Annotated[str, typer.Option(help="Figure title.")] = signature_default(PLOT_ALIGNMENT_FILES, "title"),
) -> None:
    """Compare alignment curves of several models: one panel per language, one line per CSV."""
    from alignfreeze.analysis.measure import plot_alignment_files

    outputs.png_file(out)
    _out(out)
    console.print(f"wrote {plot_alignment_files(csv_files, out, mode=mode, direction=direction, title=title)}")


CORRELATE = "alignfreeze.analysis.correlation:correlate"


@app.command()
def correlate(
    results: Annotated[list[Path], typer.Argument(help="results.csv files (or run output folders).")],
    task: Annotated[Literal["pos", "ner", "nli", "qa"], typer.Option(help="pos, ner, nli or qa.")],
    out: Annotated[Path, typer.Option(help="Folder for correlation.{md,csv,json} and correlation.png.")] = Path(
        "correlation"
    ),
    layer: Annotated[str, typer.Option(help="last, penultimate, or a hidden-state index.")] = signature_default(
        CORRELATE, "layer"
    ),
    mode: Annotated[Literal["weak", "strong"], typer.Option(help="weak or strong alignment.")] = signature_default(
        CORRELATE, "mode"
    ),
    direction: Annotated[
        Literal["fwd", "bwd", "mean"], typer.Option(help="fwd, bwd, or mean of both.")
    ] = signature_default(CORRELATE, "direction"),
    stage: Annotated[
        Literal["initial", "realigned", "finetuned"],
        typer.Option(help="Alignment measured at: initial, realigned or finetuned."),
    ] = signature_default(CORRELATE, "stage"),
    method: Annotated[
        str, typer.Option(help="Runs of this method label (baseline, before/front/dictionary...).")
    ] = signature_default(CORRELATE, "method"),
    metric: Annotated[
        Optional[str], typer.Option(help="Task metric (default: the task's primary metric).")
    ] = signature_default(CORRELATE, "metric"),
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% CI.", min=1)] = signature_default(
        CORRELATE, "resamples"
    ),
    seed: Annotated[int, typer.Option(help="Bootstrap seed.", min=0)] = signature_default(CORRELATE, "seed"),
) -> None:
    """Spearman correlation between per-layer alignment and relative transfer gap (Gaschi et al., 2023)."""
    from alignfreeze.analysis.correlation import correlate
    from alignfreeze.experiments.results import read_results

    if layer not in ("last", "penultimate") and not layer.isdigit():
        raise AlignfreezeError(f"--layer {layer!r}: use last, penultimate or a hidden-state index (0, 1, ...)")
    _out(out)
    outputs.correlation_folder(out)
    stats, _ = correlate(
        read_results(results),
        task=task,
        layer=layer,
        mode=mode,
        direction=direction,
        stage=stage,
        method=method,
        metric=metric,
        resamples=resamples,
        seed=seed,
        out=out,
    )
    outputs.claim(out, "correlation", outputs.CORRELATION_FILES)
    render.correlations(stats, f"alignment vs transfer: {task}, {method}")
    console.print(f"written to {out}/correlation.{{md,csv,json,png}}")


SWEEP_FREEZE = "alignfreeze.analysis.sweep:sweep_freeze"
SWEEP_MATRIX = "alignfreeze.analysis.sweep:sweep_matrix"


@app.command("sweep-freeze")
@config_options(
    # The retrieval mode shown is --mode; the loss's mode is --realign-mode. Measurement
    # settings that share a name with a realignment one take a --measure- prefix.
    Configs("realignment", RealignConfig, rename={"mode": "realign_mode"}, exclude=("freeze_matching",)),
    Configs(
        "measure",
        AlignmentMeasureSettings,
        rename={
            "batch_size": "measure_batch_size",
            "max_length": "measure_max_length",
            "word_vector": "measure_word_vector",
        },
        exclude=("layers", "modes", "directions"),  # every hidden state, mode and direction is measured
    ),
)
def sweep_freeze(
    realign_pairs: PairsOption("--realign-pairs", REALIGN_PAIRS_HELP),
    eval_pairs: PairsOption("--eval-pairs", EVAL_PAIRS_HELP),
    out: Annotated[Path, typer.Option(help="Folder for sweep.csv, sweep.json, sweep.png (resumable).")],
    realignment: Any = None,
    measure: Any = None,
    model: ModelOption = "e5-small",
    step: Annotated[
        int, typer.Option(help="Frozen-layer counts k = 0, step, 2*step, ..., L.", min=1)
    ] = signature_default(SWEEP_FREEZE, "step"),
    with_embeddings: Annotated[
        bool, typer.Option("--with-embeddings", help="Freeze the embeddings too (k >= 0).")
    ] = signature_default(SWEEP_FREEZE, "with_embeddings"),
    mode: Annotated[
        Literal["weak", "strong"], typer.Option(help="Retrieval shown in the figure: weak or strong.")
    ] = signature_default(SWEEP_MATRIX, "mode"),
    direction: Annotated[
        Literal["fwd", "bwd"], typer.Option(help="Direction shown in the figure: fwd or bwd.")
    ] = signature_default(SWEEP_MATRIX, "direction"),
    realign_dataset: Annotated[Optional[str], typer.Option("--realign-dataset")] = None,
    realign_split: Annotated[str, typer.Option("--realign-split")] = "dev",
    eval_dataset: Annotated[Optional[str], typer.Option("--eval-dataset")] = None,
    eval_split: Annotated[str, typer.Option("--eval-split")] = "test",
    experiment: Annotated[
        Optional[Path],
        typer.Option(
            help="Experiment YAML: also fine-tune and evaluate each k (downstream transfer), into OUT/downstream."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the realignments.", min=0)] = signature_default(
        SWEEP_FREEZE, "seed"
    ),
    precision: str = _precision_option(),
    data_dir: DataDir = None,
) -> None:
    """Realign with the bottom k layers frozen for every k; map per-layer alignment changes.

    Every realignment setting has an option (the loss's --mode is --realign-mode here)."""
    from alignfreeze.analysis.plots import plot_sweep
    from alignfreeze.analysis.sweep import sweep_freeze, sweep_matrix
    from alignfreeze.analysis.word_pairs import load_aligned_corpus
    from alignfreeze.data.catalog import DataCatalog
    from alignfreeze.experiments.config import load_experiment
    from alignfreeze.experiments.sweep import sweep_downstream

    outputs.folder(out, ["sweep.csv", "sweep.json", "sweep.png"], owned=lambda p: (p / "sweep.json").is_file())
    _out(out)
    outputs.on_interrupt(
        lambda: f"the finished k are saved in {out / 'sweep.csv'}; run the same command again to resume"
    )
    catalog = DataCatalog(data_dir)
    train = [
        load_aligned_corpus(spec, catalog, split=realign_split, dataset=realign_dataset, given_as="--realign-pairs")
        for spec in realign_pairs
    ]
    test = [
        load_aligned_corpus(spec, catalog, split=eval_split, dataset=eval_dataset, given_as="--eval-pairs")
        for spec in eval_pairs
    ]
    # A bad experiment file fails before hours of realignment.
    loaded = load_experiment(experiment) if experiment is not None else None
    rows = sweep_freeze(
        model,
        realignment,
        train,
        test,
        out,
        step=step,
        with_embeddings=with_embeddings,
        measure=measure,
        seed=seed,
        on_k=lambda k, seconds: console.print(f"  k = {k}: realigned in {seconds:.0f}s"),
        precision=precision,
    )
    ks, layers, delta = sweep_matrix(rows, mode=mode, direction=direction)
    outputs.claim(out, "sweep", ["sweep.csv", "sweep.json"])
    downstream = (
        sweep_downstream(loaded, ks, with_embeddings=with_embeddings, out_dir=out / "downstream", data_dir=data_dir)
        if loaded
        else None
    )
    figure = plot_sweep(
        delta,
        ks,
        layers,
        out / "sweep.png",
        downstream=downstream,
        title=f"{model}: {mode} retrieval ({direction}) after {realignment.steps} realignment steps, bottom k layers frozen",
    )
    outputs.claim(out, "sweep", ["downstream", "sweep.png"] if downstream else ["sweep.png"])
    render.sweep(ks, layers, delta, downstream)
    console.print(f"figure: {figure}")


# --- experiments -------------------------------------------------------------------------


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Experiment YAML (see configs/).")],
    out: OutFolder = None,
    overrides: Overrides = None,
    data_dir: DataDir = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Fine-tune (with or without realignment) and evaluate zero-shot; resumable."""
    from alignfreeze.experiments.config import load_experiment
    from alignfreeze.experiments.run_summary import summary_by_language
    from alignfreeze.experiments.runner import run_experiment

    _quiet_transformers()
    experiment = load_experiment(config, overrides)
    out = out or Path("runs") / experiment.name
    _out(out)
    outputs.results_folder(out, [r.run_id for r in experiment.runs()])
    logging.getLogger("alignfreeze").addHandler(render.log_handler())
    console.print(f"[bold]{experiment.name}[/bold]: {len(experiment.runs())} run(s) -> {out}")
    outcomes = run_experiment(experiment, out, data_dir=data_dir, progress=not quiet, on_run=render.run_done)
    model = experiment.models[0] if len(experiment.models) == 1 else "all models"
    render.results(
        summary_by_language([row for o in outcomes for row in o.rows]),
        f"{experiment.name}: {experiment.task} ({model})",
    )


@app.command()
def fetch(
    configs: Annotated[list[Path], typer.Argument(help="Experiment or grid YAML files.")],
    data_dir: DataDir = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List every data file and its source; fetch nothing.")
    ] = False,
    hub_mirror: Annotated[
        Optional[Path],
        typer.Option(
            help="A local mirror of the hub's dataset repositories (default: $ALIGNFREEZE_HUB_MIRROR).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    url_mirror: Annotated[
        Optional[str], typer.Option(help="Serve URLs from here instead (default: $ALIGNFREEZE_URL_MIRROR).")
    ] = None,
    overrides: Overrides = None,
) -> None:
    """Fetch every data file the configs need that is not under the data root (Hugging Face
    datasets, OPUS-100, MUSE dictionaries), in the catalog's layout."""
    from alignfreeze.experiments.fetch import fetch, plan_fetch

    if dry_run:
        render.fetch_plan(plan_fetch(configs, data_dir=data_dir, overrides=overrides))
        return
    with render.fetch_bars() as (on_target, on_bytes):
        results = fetch(
            configs,
            data_dir=data_dir,
            overrides=overrides,
            hub_mirror=hub_mirror,
            url_mirror=url_mirror,
            on_target=on_target,
            on_bytes=on_bytes,
        )
    render.fetch_results(results)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


@app.command()
def grid(
    config: Annotated[
        Path, typer.Argument(help="Grid YAML: an experiment file whose settings may be lists (see README).")
    ],
    out: OutFolder = None,
    executor: Annotated[Literal["local", "ray"], typer.Option(help="local or ray.")] = "local",
    address: Annotated[Optional[str], typer.Option(help="ray: join this cluster (e.g. auto, or host:6379).")] = None,
    max_parallel: Annotated[
        Optional[int],
        typer.Option(
            "--max-parallel", help="Runs at a time (default: 1 locally; on ray as many as the cluster fits, also 0)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the runs and their estimated cost; run nothing.")
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run the runs that failed before again.")
    ] = False,
    overrides: Overrides = None,
    data_dir: DataDir = None,
) -> None:
    """Run a grid of runs (cartesian product of list settings), resumably, locally or on Ray."""
    from alignfreeze.data.catalog import DataCatalog
    from alignfreeze.experiments.grid import load_grid
    from alignfreeze.experiments.grid_runner import check_max_parallel, run_grid
    from alignfreeze.experiments.planning import plan_grid

    if address is not None and executor != "ray":
        raise AlignfreezeError(f"--address {address!r} applies to --executor ray only (the executor is {executor})")
    check_max_parallel(max_parallel, executor)
    _quiet_transformers()
    name, runs, resources = load_grid(config, overrides)
    out = out or Path("runs") / name
    if not dry_run:
        _out(out)
    outputs.results_folder(out, [r.run_id for r in runs], claim=not dry_run)
    if dry_run:
        catalog = DataCatalog(data_dir)
        render.grid_plan(name, plan_grid(runs, out, catalog), catalog.root)
        return
    console.print(f"[bold]{name}[/bold]: {len(runs)} run(s) -> {out} ({executor} executor)")
    with render.GridBars(len(runs)) as bars:
        summary = run_grid(
            runs,
            out,
            data_dir=data_dir,
            executor=executor,
            max_parallel=max_parallel,
            address=address,
            resources=resources,
            retry_failed=retry_failed,
            progress=False,
            on_result=bars.on_result,
            on_status=bars.on_status,
        )
        bars.finish(summary)
    render.grid_summary(summary)
    if summary.failures:
        raise typer.Exit(1)


MAKE_REPORT = "alignfreeze.experiments.full_report:make_report"


@app.command()
def report(
    results: Annotated[list[Path], typer.Argument(help="results.csv files (or run output folders).")],
    baseline: Annotated[str, typer.Option(help="Method label of the reference method.")] = signature_default(
        MAKE_REPORT, "baseline"
    ),
    metric: Annotated[
        Optional[list[str]], typer.Option("--metric", help="task=metric, e.g. ner=f1 (repeatable).")
    ] = None,
    fmt: Annotated[
        Literal["md", "csv", "json", "html"], typer.Option("--format", help="md, csv, json or html.")
    ] = signature_default(MAKE_REPORT, "fmt"),
    out: Annotated[
        Optional[Path], typer.Option(help="Folder for report.<format> (and figures); default: print.")
    ] = None,
    source_language: Annotated[
        list[str],
        typer.Option(
            "--source-language",
            help="Languages that are not targets (repeat; the authors' XNLI counts left out ru too).",
        ),
    ] = signature_default(MAKE_REPORT, "source_languages"),
    rounding: Annotated[
        Literal["format", "half_up"],
        typer.Option(
            help="format: the authors' notebook (.1f, half to even on the binary value); half_up: decimal half up."
        ),
    ] = signature_default(MAKE_REPORT, "rounding"),
    title: Annotated[str, typer.Option(help="HTML title.")] = signature_default(MAKE_REPORT, "title"),
    alignment: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--alignment",
            help="alignment.csv (or its folder) measured afterwards on a run's saved model "
            "(measure-alignment --model runs/<run_id>/model); repeatable.",
        ),
    ] = None,
) -> None:
    """The paper table (averages, #down/#up vs baseline, totals, significance) with figures."""
    from alignfreeze.experiments.full_report import make_report
    from alignfreeze.experiments.results import alignment_rows_of_saved_models, read_language_weights, read_results
    from alignfreeze.schema import TaskName

    for language in source_language:
        try:
            check_language(language)
        except ValueError as exc:
            raise AlignfreezeError(f"--source-language {language!r}: {exc}") from None
    metrics = {}
    for item in metric or []:
        task, sep, name = item.partition("=")
        if not sep or task not in [t.value for t in TaskName] or not name:
            raise AlignfreezeError(f"--metric {item!r}: expected task=metric with task pos, ner, nli or qa")
        metrics[task] = name
    if fmt == "html" and out is None:
        raise AlignfreezeError("--format html needs --out DIR (the page is one file with its figures embedded)")
    if out is not None:
        _out(out)
        outputs.report_folder(out, fmt)
    rows = read_results(results)
    rows += alignment_rows_of_saved_models(alignment or [], rows)
    text, written = make_report(
        rows,
        fmt=fmt,
        out=out,
        baseline=baseline,
        metrics=metrics,
        source_languages=source_language,
        rounding=rounding,
        title=title,
        sources=[str(p) for p in results],
        language_weights=read_language_weights(results),
    )
    if out is None:
        sys.stdout.write(text)
    else:
        outputs.claim(out, "report", written)
    for path in written:
        console.print(f"wrote {path}")


@app.command("import-reference")
def import_reference(
    csv_files: Annotated[
        list[Path],
        typer.Argument(
            help="Result CSVs released with the AlignFreeze paper, or the emnlp-2026 successor's "
            "(scripts/ours/results/<model>/<folder>/<model>__mix_opus100_nllb__<strategy>__<task>__<steps>__<batch>.csv, "
            "kept in their folder: it names the selection and weighting)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Long-format results CSV to write.")],
) -> None:
    """Convert the AlignFreeze paper's result CSVs, or the emnlp-2026 successor's, into
    alignfreeze's long-format results."""
    from alignfreeze.experiments.reference import import_reference

    _out(out)
    outputs.results_file(out)
    _, summary = import_reference(csv_files, out)
    console.print(f"{summary.rows} rows from {summary.runs} runs in {len(csv_files)} file(s) -> {out}")
    if summary.repeated_runs:
        console.print(f"{summary.repeated_runs} row(s) repeating a run's folder, steps and seed: the first kept")
    if summary.duplicated_cells:
        same = summary.duplicated_cells - summary.differing_cells
        console.print(
            f"eval_ and final_eval_ columns: {summary.duplicated_cells} cells have both, {same} identical"
            + (f", {summary.differing_cells} different (final_eval_ kept)" if summary.differing_cells else "")
        )


@app.command()
def demo(
    data_dir: DataDir = None,
    out: Annotated[Path, typer.Option(help="Output folder of the demo experiment.")] = Path("runs/demo"),
    overrides: Overrides = None,
) -> None:
    """The README demo: doctor, then the configs/demo.yaml experiment (e5-small, PoS)."""
    from alignfreeze.experiments.config import load_experiment
    from alignfreeze.paths import REPO_ROOT, alignfreeze_home

    config = REPO_ROOT / "configs" / "demo.yaml"
    # What can be checked is, before the doctor's report: the --set options, --out, the cache.
    load_experiment(config, overrides)
    _out(out)
    alignfreeze_home()
    doctor(data_dir=data_dir, as_json=False, devices=True)
    run(config=config, out=out, overrides=overrides, data_dir=data_dir, quiet=False)


def main() -> None:
    if render.PIPED:
        # typer reads TERMINAL_WIDTH when it first formats help, which is after this.
        os.environ.setdefault("TERMINAL_WIDTH", str(render.PIPED_HELP_WIDTH))
    outputs.catch_interrupts()
    try:
        app(standalone_mode=True)
    except AlignfreezeError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (KeyboardInterrupt, SystemExit) as exc:
        # typer turns Ctrl-C into exit status 130; say what was saved and how to go on.
        if isinstance(exc, SystemExit) and not (exc.code == 130 and outputs.interrupted()):
            raise
        err_console.print(f"interrupted: {outputs.interrupt_note()}", highlight=False, soft_wrap=True)
        sys.exit(130)
