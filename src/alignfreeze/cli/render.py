"""How the command line shows things: rich tables and progress bars. No computation lives
here; every function draws what a library function returned."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

#: Output piped or logged, not shown in a terminal (and COLUMNS does not say a width).
PIPED = not sys.stdout.isatty() and "COLUMNS" not in os.environ
#: Piped, the width help text is set in: wide enough that no option name is cut (``--help | grep``).
PIPED_HELP_WIDTH = 200
# Piped, nothing is cut to a terminal's 80 columns: a table takes the width it needs (a
# sweep's 13 layers, a grid plan's paths), and a line is not wrapped.
console = Console(width=100_000 if PIPED else None)
err_console = Console(stderr=True)


# --- progress ------------------------------------------------------------------------------


def _count_progress() -> Progress:
    """Rich progress bars (description, bar, done/total, ETA) on stderr."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console
    )


@contextlib.contextmanager
def count_bar(description: str, total: float) -> Iterator[Callable[[int], None]]:
    """One bar; yields the callback that advances it by n."""
    progress = _count_progress()
    task = progress.add_task(description, total=total)
    with progress:
        yield lambda n: progress.advance(task, n)


@contextlib.contextmanager
def bars() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """Bars made on demand: yields ``new_bar(description, total)``, which returns the bar's
    advance callback."""
    progress = _count_progress()

    def new_bar(description: str, total: int) -> Callable[[int], None]:
        task = progress.add_task(description, total=total)
        return lambda n: progress.advance(task, n)

    with progress:
        yield new_bar


def _steps_progress() -> Progress:
    """Bars of named steps with done/total counts, on stderr, gone when finished."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err_console,
        transient=True,
    )


@contextlib.contextmanager
def step_bars() -> Iterator[Callable[[str, int, int], None]]:
    """One bar per named step: yields ``on_progress(step, done, total)``."""
    progress = _steps_progress()
    ids: dict[str, Any] = {}

    def on_progress(step: str, done: int, total: int) -> None:
        if step not in ids:
            ids[step] = progress.add_task(step, total=total)
        progress.update(ids[step], completed=done, total=total)

    with progress:
        yield on_progress


def log_handler():
    from rich.logging import RichHandler

    return RichHandler(console=err_console, show_path=False)


# --- setup ---------------------------------------------------------------------------------


def doctor(info: dict) -> None:
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
    if info.get("sources"):
        columns = ("name", "kind", "splits", "fetched from", "licence")
        sources = Table(*columns, title="data sources (alignfreeze fetch)")
        for source in info["sources"]:
            sources.add_row(*(source[c] for c in columns))
        console.print(sources)
    model = Table(title="embedded models", show_header=False, box=None)
    for key, value in info["model"].items():
        model.add_row(key, value)
    console.print(model)


# --- analysis ------------------------------------------------------------------------------


def translation_checks(checks, title: str) -> None:
    table = Table("pair", "pairs", "translation closer", "mean cos (translation)", "mean cos (random)", title=title)
    for c in checks:
        table.add_row(
            c.pair, str(c.n_pairs), f"{c.accuracy:.1%}", f"{c.mean_cos_translation:.3f}", f"{c.mean_cos_random:.3f}"
        )
    console.print(table)


def alignment_summary(rows: list[dict], meta: dict, settings, out: Path) -> None:
    """Retrieval at every hidden state measured (x100), one column per language pair, mode and
    direction; each column's best hidden state in bold."""
    layers = sorted({r["layer"] for r in rows})
    pairs = list(meta["pairs"])
    columns = [(p, m, d) for p in pairs for m in settings.modes for d in settings.directions]
    cells = {(f"{r['src_lang']}-{r['language']}", r["mode"], r["direction"], r["layer"]): r["accuracy"] for r in rows}
    best = {c: max(layers, key=lambda layer: cells.get((*c, layer), -1.0)) for c in columns}
    table = Table(
        "hidden state",
        *(f"{p} {m} {d}" for p, m, d in columns),
        title=f"word retrieval (x100) per hidden state (0 = embeddings); {out / 'alignment.csv'}",
    )
    for layer in layers:
        values = []
        for c in columns:
            value = cells.get((*c, layer))
            text = "" if value is None else f"{100 * value:.1f}"
            values.append(f"[bold]{text}[/bold]" if best[c] == layer and text else text)
        table.add_row(str(layer), *values)
    console.print(table)
    sizes = ", ".join(f"{pair}: {stats['pairs']} word pairs" for pair, stats in meta["pairs"].items())
    excluded = sum(s["excluded_for_leakage"] for s in meta["pairs"].values())
    console.print(f"{sizes}; {excluded} sentence pairs left out as realignment data; figure: {out / 'alignment.png'}")


def correlations(stats, title: str) -> None:
    table = Table("group", "points", "Spearman rho", "p-value", "95% CI", title=title)
    for c in stats:
        table.add_row(c.group, str(c.n), f"{c.rho:.3f}", f"{c.p_value:.2g}", f"[{c.ci_low:.3f}, {c.ci_high:.3f}]")
    console.print(table)


def sweep(ks, layers, delta, downstream: dict | None) -> None:
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


# --- experiments ---------------------------------------------------------------------------


def run_done(outcome) -> None:
    state = "already done" if outcome.skipped else f"done in {outcome.seconds:.0f}s"
    console.print(f"  {outcome.run.run_id}  {outcome.run.model} {outcome.run.label} seed {outcome.run.seed}: {state}")


def results(summary, title: str) -> None:
    """Per language, each method's mean over seeds (x100) and its difference to the baseline
    (:func:`alignfreeze.experiments.run_summary.summary_by_language`)."""
    languages, methods, cells = summary
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
    console.print(table)


def grid_plan(name: str, plan, data_root: Path) -> None:
    """A grid's runs with their steps, estimated cost and state, and the data not local."""
    table = Table(
        "run_id",
        "model",
        "task",
        "method",
        "seed",
        "corpora",
        "sampling",
        "pairs drawn",
        "realign steps",
        "fine-tune steps",
        "eval examples",
        "estimate",
        "state",
        title=f"{name}: {len(plan.runs)} run(s)",
    )
    for p in plan.runs:
        run = p.run
        steps = "?" if p.finetune_steps is None else f"{p.finetune_steps}" + ("" if p.exact_steps else " ~")
        realign_text = "= fine-tune (match)" if p.realign_steps == "match" else str(p.realign_steps)
        if run.realignment.steps == "match" and isinstance(p.realign_steps, int) and run.method != "baseline":
            realign_text += " (match)"
        table.add_row(
            run.run_id,
            run.model,
            run.task,
            run.label,
            str(run.seed),
            str(len(run.realignment_pairs)) if run.method != "baseline" else "",
            run.realignment.sampling if run.method != "baseline" else "",
            ("?" if p.realign_draws is None else f"{p.realign_draws:,}") if run.method != "baseline" else "",
            realign_text,
            steps,
            "?" if p.eval_examples is None else str(p.eval_examples),
            "?" if p.seconds is None else f"{p.seconds / 60:.1f} min",
            p.state,
        )
    console.print(table)
    console.print(
        "fine-tune steps: exact where the training data and the model's tokenizer are local; '~' estimated "
        "from the number of records; '?' training data not local. pairs drawn: realignment batches x batch size "
        "(sentence pairs read and aligned lazily, a chunk at a time)"
    )
    realigned = [p.run.realignment_pairs for p in plan.runs if p.run.method != "baseline"]
    for refs in dict.fromkeys(tuple((r.pair, r.dataset or "", r.split) for r in refs) for refs in realigned):
        corpora = ", ".join(sorted({f"{dataset or 'any'}/{split}" for _, dataset, split in refs}))
        console.print(f"realignment languages ({len(refs)}, {corpora}): {' '.join(pair for pair, _, _ in refs)}")
    if plan.missing_data:
        fetch = Table(
            "data",
            "source",
            title=f"{len(plan.missing_data)} data set(s) not under {data_root}; a run would read them from:",
        )
        for need in plan.missing_data:
            fetch.add_row(escape(need.what), escape(need.remote or ""))
        console.print(fetch)
    console.print(
        f"estimated cost of the runs to do: {plan.seconds_to_do / 3600:.2f} h of one worker ({plan.basis})"
        + (f"; {plan.not_estimated} run(s) not estimated (data not local)" if plan.not_estimated else "")
    )


class GridBars:
    """The grid's bar, and under it one bar per running run (its phase, step and loss), fed
    from the workers' progress files or, in this process, straight from the run's bars."""

    def __init__(self, n_runs: int):
        self.n_runs = n_runs
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err_console,
        )
        self.run_bars: dict[str, tuple[Any, str]] = {}  # run_id -> (rich task id, phase)

    def __enter__(self) -> "GridBars":
        self.progress.__enter__()
        self.bar = self.progress.add_task("grid", total=self.n_runs, count=f"0/{self.n_runs}")
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def _update(self, summary) -> None:
        self.progress.update(
            self.bar,
            completed=summary.finished,
            description=f"grid: {summary.done} done, {summary.failed} failed, {summary.remaining} remaining",
            count=f"{summary.finished}/{self.n_runs}",
        )

    def on_result(self, result: dict, summary) -> None:
        self._update(summary)
        state = "done" if result["status"] == "done" else f"[red]failed[/red]: {result['error']}"
        self.progress.console.print(f"  {result['run_id']}: {state}", highlight=False)

    def on_status(self, run_id: str, status: dict | None) -> None:
        bars, progress = self.run_bars, self.progress
        if status is None:  # the run has finished: its bar goes, the grid's bar moves
            if run_id in bars:
                progress.remove_task(bars.pop(run_id)[0])
            return
        description = f"  {run_id} {status['desc']}" + (f" ({status['postfix']})" if status.get("postfix") else "")
        total = status.get("total")
        count = f"{status['done']}/{total}" if total else ""
        if run_id not in bars:
            bars[run_id] = (progress.add_task(description, total=total, count=count), status["desc"])
        elif bars[run_id][1] != status["desc"]:  # a new phase restarts the bar and its ETA
            progress.reset(bars[run_id][0], total=total)
            bars[run_id] = (bars[run_id][0], status["desc"])
        progress.update(bars[run_id][0], completed=status["done"], description=description, count=count)

    def finish(self, summary) -> None:
        self._update(summary)


def grid_summary(summary) -> None:
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


def fetch_plan(plan) -> None:
    """What ``fetch --dry-run`` would do: every data set, present (its files) or to fetch
    (the files it becomes, and its source)."""
    table = Table("data", "state", "files", "source", title=f"data root: {plan.root}")
    for what, files in plan.present.items():
        table.add_row(what, "present", "\n".join(str(f) for f in files), "")
    for target in plan.targets:
        if target.source is None:
            table.add_row(target.what, "[red]no source[/red]", "", escape(target.reason))
        else:
            table.add_row(target.what, "to fetch", "\n".join(target.files), escape(target.source.describe()))
    console.print(table)
    to_fetch = sum(t.source is not None for t in plan.targets)
    console.print(
        f"{len(plan.present)} present, {to_fetch} to fetch, {len(plan.targets) - to_fetch} without a known source"
    )


@contextlib.contextmanager
def fetch_bars():
    """A bar over the data sets and one over the bytes of the current download: yields
    ``(on_target, on_bytes)`` for :func:`alignfreeze.fetch`."""
    progress = _steps_progress()
    ids: dict[str, Any] = {}

    def on_target(target, index: int, count: int) -> None:
        if "sets" not in ids:
            ids["sets"] = progress.add_task("data sets", total=count)
        progress.update(ids["sets"], completed=index, description=f"fetching {target.what}")
        ids.pop("bytes", None)

    def on_bytes(done: int, total: int | None) -> None:
        if "bytes" not in ids:
            ids["bytes"] = progress.add_task("bytes", total=total)
        progress.update(ids["bytes"], completed=done, total=total)

    with progress:
        yield on_target, on_bytes


def fetch_results(results) -> None:
    for r in results:
        if r.status == "fetched":
            console.print(f"fetched {r.target.what}: {', '.join(str(f) for f in r.files)}")
        else:
            err_console.print(f"[red]failed[/red] {escape(r.detail)}")
    failed = sum(r.status == "failed" for r in results)
    console.print(f"{len(results) - failed} fetched, {failed} failed" if results else "nothing to fetch")
