"""``alignfreeze report``: the paper table as markdown, CSV, JSON or one self-contained HTML
file, with figures (heat maps of per-language deltas, averages with error bars, per-layer
alignment curves when the results contain them)."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from alignfreeze.experiments.paper_table import TASK_ORDER, TableRow, Total, table_json
from alignfreeze.metric_names import parse_alignment_metric

TASK_TITLES = {"pos": "PoS", "ner": "NER", "nli": "NLI", "qa": "QA"}


def _fmt(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _count(value) -> str:
    return "–" if value is None else str(value)


def _has_released(table: Sequence[TableRow]) -> bool:
    return any(r.released_mean is not None for r in table)


def _has_distinct(table: Sequence[TableRow]) -> bool:
    return any(r.distinct_pairs is not None for r in table)


def _distinct(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def render_markdown(table: Sequence[TableRow], totals: Sequence[Total]) -> str:
    released, distinct = _has_released(table), _has_distinct(table)
    extra_head, extra_rule = (" released avg |", "---:|") if released else ("", "")
    pairs_head, pairs_rule = (" distinct pairs |", "---:|") if distinct else ("", "")
    lines = [
        f"| model | task | method | metric | Average |{extra_head} #↓ | #↑ | sig. ↓ | sig. ↑ | languages | seeds "
        f"|{pairs_head}",
        f"|---|---|---|---|---:|{extra_rule}---:|---:|---:|---:|---:|---:|{pairs_rule}",
    ]
    for r in table:
        extra = f" {_fmt(r.released_mean)} |" if released else ""
        pairs = f" {_distinct(r.distinct_pairs)} |" if distinct else ""
        lines.append(
            f"| {r.model} | {TASK_TITLES.get(r.task, r.task)} | {r.label} | {r.metric} | {r.mean:.1f} |{extra} "
            f"{_count(r.n_down)} | {_count(r.n_up)} | {_count(r.sig_down)} | {_count(r.sig_up)} | "
            f"{r.n_languages} | {r.n_seeds} |{pairs}"
        )
    if totals:
        tasks = (
            [t for t in TASK_ORDER if any(x.task == t for x in totals)]
            + sorted({x.task for x in totals} - set(TASK_ORDER) - {"all"})
            + ["all"]
        )
        methods = list(dict.fromkeys(x.method for x in totals))
        by = {(x.task, x.method): x for x in totals}
        lines += [
            "",
            "Totals over models (#↓ / #↑):",
            "",
            "| method | " + " | ".join(TASK_TITLES.get(t, t) if t != "all" else "all tasks" for t in tasks) + " |",
            "|---|" + "---:|" * len(tasks),
        ]
        for m in methods:
            cells = [f"{by[(t, m)].n_down} / {by[(t, m)].n_up}" if (t, m) in by else "" for t in tasks]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Average: mean over target languages of the mean over seeds, x100"
        + (" (released avg: the mean over seeds of each released run's own average)" if released else "")
        + ". #↓/#↑: languages where the rounded mean is below/above the rounded baseline mean minus/plus its "
        "rounded standard deviation (ddof=0). sig.: Welch t-test against the baseline per language, "
        "Holm-corrected, p < 0.05."
        + (
            " distinct pairs: sentence pairs realignment drew, each counted once, mean over seeds (the released "
            "files' distinct_realignment_samples)."
            if distinct
            else ""
        ),
    ]
    return "\n".join(lines) + "\n"


def render_csv(table: Sequence[TableRow], totals: Sequence[Total]) -> str:
    fields = [
        "model",
        "task",
        "method",
        "freeze",
        "aligner",
        "metric",
        "mean",
        "std",
        "n_down",
        "n_up",
        "n_significant_down",
        "n_significant_up",
        "n_languages",
        "n_seeds",
    ]
    if _has_released(table):
        fields.insert(7, "released_mean")
    if _has_distinct(table):
        fields.append("distinct_pairs")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(table_json(table, totals))
    return buffer.getvalue()


def render_json(table: Sequence[TableRow], totals: Sequence[Total]) -> str:
    return json.dumps(table_json(table, totals), indent=2, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------- figures


def _png(fig) -> bytes:
    from alignfreeze.analysis.plots import _pyplot

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def heatmap_figures(table: Sequence[TableRow], baseline: str = "baseline") -> dict[str, bytes]:
    """Per (model, task): methods x languages, delta of the mean over seeds to the baseline (points)."""
    from alignfreeze.analysis.plots import _pyplot

    plt = _pyplot()
    groups: dict[tuple[str, str], list[TableRow]] = defaultdict(list)
    for r in table:
        groups[(r.model, r.task)].append(r)
    out = {}
    for (model, task), rows in groups.items():
        base = next((r for r in rows if r.label == baseline), None)
        methods = [r for r in rows if r.label != baseline]
        if base is None or not methods:
            continue
        languages = sorted(base.languages)
        delta = np.array(
            [
                [
                    r.languages[lang].mean - base.languages[lang].mean if lang in r.languages else np.nan
                    for lang in languages
                ]
                for r in methods
            ]
        )
        fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(languages) + 2.5), 0.5 * len(methods) + 1.6))
        bound = max(0.5, float(np.nanmax(np.abs(delta))) if np.isfinite(delta).any() else 0.5)
        image = ax.imshow(delta, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
        ax.set_xticks(range(len(languages)), languages, fontsize=8)
        ax.set_yticks(range(len(methods)), [r.label for r in methods], fontsize=8)
        if len(languages) <= 20:
            for i in range(len(methods)):
                for j in range(len(languages)):
                    if np.isfinite(delta[i, j]):
                        ax.text(j, i, f"{delta[i, j]:+.1f}", ha="center", va="center", fontsize=6)
        fig.colorbar(image, ax=ax, label=f"Δ {base.metric} vs {baseline} (points)")
        ax.set_title(f"{model} – {TASK_TITLES.get(task, task)}", fontsize=10)
        out[f"heatmap_{model}_{task}"] = _png(fig)
    return out


def error_bar_figures(table: Sequence[TableRow]) -> dict[str, bytes]:
    """Per task: the Average of every (model, method), with its standard deviation over seeds."""
    from alignfreeze.analysis.plots import _pyplot

    plt = _pyplot()
    out = {}
    for task in dict.fromkeys(r.task for r in table):
        rows = [r for r in table if r.task == task]
        models = list(dict.fromkeys(r.model for r in rows))
        methods = list(dict.fromkeys(r.label for r in rows))
        fig, ax = plt.subplots(figsize=(max(4.5, 1.2 * len(models) * len(methods) ** 0.5 + 2), 3.4))
        width = 0.8 / len(methods)
        for k, method in enumerate(methods):
            xs, ys, es = [], [], []
            for i, model in enumerate(models):
                r = next((r for r in rows if r.model == model and r.label == method), None)
                if r is not None:
                    xs.append(i + (k - (len(methods) - 1) / 2) * width)
                    ys.append(r.mean)
                    es.append(r.std)
            ax.bar(xs, ys, width * 0.95, yerr=es, capsize=3, label=method)
        ax.set_xticks(range(len(models)), models, fontsize=8)
        low = min(r.mean - r.std for r in rows)
        ax.set_ylim(max(0.0, low - 5), min(100.0, max(r.mean + r.std for r in rows) + 3))
        ax.set_ylabel(f"Average ({rows[0].metric}, x100)")
        ax.set_title(f"{TASK_TITLES.get(task, task)}: average over target languages ± std over seeds", fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, axis="y")
        out[f"averages_{task}"] = _png(fig)
    return out


def alignment_figures(rows: Sequence[dict], mode: str = "strong") -> dict[str, bytes]:
    """Per (model, task): retrieval accuracy against layer (mean over languages, seeds and
    directions), one line per method and stage."""
    from alignfreeze.analysis.plots import _pyplot
    from alignfreeze.schema import method_label

    values: dict[tuple, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        found = parse_alignment_metric(r["metric"])
        if found and found[0] == mode:
            key = (r["model"], r["task"], method_label(r), r.get("stage", "finetuned"))
            values[key][found[2]].append(100 * float(r["value"]))
    if not values:
        return {}
    plt = _pyplot()
    out = {}
    for model, task in dict.fromkeys((k[0], k[1]) for k in values):
        fig, ax = plt.subplots(figsize=(6.0, 3.6))
        styles = {"initial": ":", "realigned": "--", "finetuned": "-"}
        for (m, t, label, stage), by_layer in sorted(values.items()):
            if (m, t) != (model, task) or (
                stage == "initial"
                and label != "baseline"
                and any(k[2] == "baseline" and k[3] == "initial" and k[:2] == (m, t) for k in values)
            ):
                continue  # every run starts from the same model: draw "initial" once
            layers = sorted(by_layer)
            ax.plot(
                layers,
                [np.mean(by_layer[layer]) for layer in layers],
                styles.get(stage, "-"),
                marker="o",
                markersize=2.5,
                label=f"{label} ({stage})",
            )
        ax.set_xlabel("hidden state (0 = embeddings)")
        ax.set_ylabel(f"{mode} retrieval accuracy (%)")
        ax.set_title(f"{model} – {TASK_TITLES.get(task, task)}: word alignment per layer", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
        out[f"alignment_{model}_{task}"] = _png(fig)
    return out


def language_weight_figures(weights: dict[str, list[dict]]) -> dict[str, bytes]:
    """Per run with a language weighting: each language pair's sampling probability over
    the batches (``realignment.language_weighting``)."""
    if not weights:
        return {}
    from alignfreeze.analysis.plots import _pyplot

    plt = _pyplot()
    out = {}
    for run_id, records in weights.items():
        if not records:
            continue
        pairs = list(records[-1]["probabilities"])
        fig, ax = plt.subplots(figsize=(6.0, 3.6))
        batches = [r["batch"] for r in records]
        for pair in pairs:
            ax.plot(batches, [r["probabilities"].get(pair, np.nan) for r in records], label=pair, linewidth=1)
        ax.set_xlabel("batch (meta: of the phase that learns the weights)")
        ax.set_ylabel("sampling probability")
        ax.set_title(f"run {run_id}: language weights", fontsize=10)
        ax.grid(alpha=0.3)
        if len(pairs) <= 12:
            ax.legend(fontsize=6)
        out[f"language_weights_{run_id}"] = _png(fig)
    return out


def _table_html(table: Sequence[TableRow], totals: Sequence[Total]) -> str:
    esc = html.escape
    released, distinct = _has_released(table), _has_distinct(table)
    out = [
        "<table><thead><tr><th>model</th><th>task</th><th>method</th><th>metric</th><th>Average</th>"
        + ("<th>released avg</th>" if released else "")
        + "<th>#↓</th>"
        "<th>#↑</th><th>sig. ↓</th><th>sig. ↑</th><th>languages</th><th>seeds</th>"
        + ("<th>distinct pairs</th>" if distinct else "")
        + "</tr></thead><tbody>"
    ]
    for r in table:
        extra = f"<td class='num'>{_fmt(r.released_mean)}</td>" if released else ""
        down = f'<td class="down">{r.n_down}</td>' if r.n_down else f"<td>{_count(r.n_down)}</td>"
        up = f'<td class="up">{r.n_up}</td>' if r.n_up else f"<td>{_count(r.n_up)}</td>"
        out.append(
            f"<tr><td>{esc(r.model)}</td><td>{esc(TASK_TITLES.get(r.task, r.task))}</td><td>{esc(r.label)}</td>"
            f"<td>{esc(r.metric)}</td><td class='num'>{r.mean:.1f}</td>{extra}{down}{up}<td>{_count(r.sig_down)}</td>"
            f"<td>{_count(r.sig_up)}</td><td>{r.n_languages}</td><td>{r.n_seeds}</td>"
            + (f"<td class='num'>{_distinct(r.distinct_pairs)}</td>" if distinct else "")
            + "</tr>"
        )
    out.append("</tbody></table>")
    if totals:
        tasks = list(dict.fromkeys(t.task for t in totals))
        by = {(t.task, t.method): t for t in totals}
        out.append(
            "<h2>Totals over models (#↓ / #↑)</h2><table><thead><tr><th>method</th>"
            + "".join(f"<th>{esc(TASK_TITLES.get(t, t) if t != 'all' else 'all tasks')}</th>" for t in tasks)
            + "</tr></thead><tbody>"
        )
        for m in dict.fromkeys(t.method for t in totals):
            cells = "".join(
                f"<td>{by[(t, m)].n_down} / {by[(t, m)].n_up}</td>" if (t, m) in by else "<td></td>" for t in tasks
            )
            out.append(f"<tr><td>{esc(m)}</td>{cells}</tr>")
        out.append("</tbody></table>")
    return "\n".join(out)


def _languages_html(table: Sequence[TableRow]) -> str:
    esc = html.escape
    out = []
    for model, task in dict.fromkeys((r.model, r.task) for r in table):
        rows = [r for r in table if (r.model, r.task) == (model, task)]
        languages = sorted({lang for r in rows for lang in r.languages})
        out.append(f"<h3>{esc(model)} – {esc(TASK_TITLES.get(task, task))}: mean ± std over seeds (x100)</h3>")
        out.append(
            "<table class='small'><thead><tr><th>method</th>"
            + "".join(f"<th>{esc(lang)}</th>" for lang in languages)
            + "</tr></thead><tbody>"
        )
        for r in rows:
            cells = "".join(
                f"<td>{r.languages[lang].mean:.1f} ± {r.languages[lang].std:.1f}</td>"
                if lang in r.languages
                else "<td></td>"
                for lang in languages
            )
            out.append(f"<tr><td>{esc(r.label)}</td>{cells}</tr>")
        out.append("</tbody></table>")
    return "\n".join(out)


STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.8em 0 1.6em; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f2f2f2; }
td.num { text-align: right; }
td.down { background: #f6d5d5; }
td.up { background: #d5ecd5; }
table.small { font-size: 12px; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; vertical-align: top; }
figcaption { font-size: 12px; color: #555; }
p.note { font-size: 13px; color: #444; max-width: 60em; }
"""


def html_page(
    table: Sequence[TableRow],
    totals: Sequence[Total],
    figures: dict[str, bytes],
    title: str,
    sources: Sequence[str],
    note: str,
) -> str:
    """One self-contained page: the table, totals, per-language details and the figures as
    data: URIs (no external file, script or font)."""
    esc = html.escape
    images = "\n".join(
        f'<figure><img alt="{esc(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{esc(name.replace('_', ' '))}</figcaption></figure>"
        for name, png in figures.items()
    )
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{STYLE}</style></head><body>\n<h1>{esc(title)}</h1>\n"
        f"<p class='note'>Sources: {esc(', '.join(sources))}</p>\n{_table_html(table, totals)}\n"
        f"<p class='note'>{esc(note)}</p>\n<h2>Figures</h2>\n{images}\n<h2>Per language</h2>\n{_languages_html(table)}\n"
        "</body></html>\n"
    )


def write_report(
    rows: Sequence[dict],
    table,
    totals,
    fmt: str,
    out: Path | None,
    title: str,
    sources: Sequence[str],
    baseline: str = "baseline",
    language_weights: dict[str, list[dict]] | None = None,
) -> tuple[str, list[Path]]:
    """Render ``fmt``; with ``out``, write ``report.<fmt>`` (and the figures as PNG files for
    md/csv/json). Returns the rendered text and the files written."""
    note = render_markdown([], []).strip()
    if fmt == "md":
        text = render_markdown(table, totals)
    elif fmt == "csv":
        text = render_csv(table, totals)
    elif fmt == "json":
        text = render_json(table, totals)
    else:
        figures = {
            **heatmap_figures(table, baseline),
            **error_bar_figures(table),
            **alignment_figures(rows),
            **language_weight_figures(language_weights or {}),
        }
        text = html_page(table, totals, figures, title, sources, note.split("\n")[-1])
    written: list[Path] = []
    if out is not None:
        from alignfreeze.fileio import atomic_write_text

        out.mkdir(parents=True, exist_ok=True)
        written.append(atomic_write_text(out / f"report.{fmt}", text))
        if fmt != "html":
            for name, png in {
                **heatmap_figures(table, baseline),
                **error_bar_figures(table),
                **alignment_figures(rows),
                **language_weight_figures(language_weights or {}),
            }.items():
                path = out / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
                path.write_bytes(png)
                written.append(path)
    return text, written


REPORT_FORMATS = ("md", "csv", "json", "html")


def make_report(
    rows: Sequence[dict],
    *,
    fmt: str = "md",
    out: str | Path | None = None,
    baseline: str = "baseline",
    metrics: dict[str, str] | None = None,
    source_languages: Sequence[str] = ("en",),
    rounding: str = "format",
    title: str = "alignfreeze report",
    sources: Sequence[str] = (),
    language_weights: dict[str, list[dict]] | None = None,
) -> tuple[str, list[Path]]:
    """The AlignFreeze paper's table (Bakos, Gaschi et al., NAACL 2025) for results rows:
    per model, task and method the average over target languages, the number of languages
    where a method loses (#down) or gains (#up) more than one baseline standard deviation,
    totals and significance (:func:`~alignfreeze.experiments.paper_table.paper_table`),
    rendered as ``md``, ``csv``, ``json`` or a self-contained ``html`` page with figures.

    Args:
        rows: long-format results (:func:`~alignfreeze.experiments.results.read_results`).
        fmt: md, csv, json or html (html needs ``out``).
        out: a folder for ``report.<fmt>`` and the figures; None renders only.
        baseline: the method label the others are compared with.
        metrics: task -> metric, over the tasks' primary metrics (``{"ner": "f1"}``).
        source_languages: languages that are not targets (the authors' XNLI counts also left out ru).
        rounding: ``format`` (the authors' notebook) or ``half_up``.
        language_weights: run id -> its language weights over time
            (:func:`~alignfreeze.experiments.results.read_language_weights`), drawn one figure per run.

    Returns:
        ``(text, files written)``.

    Example::

        text, _ = af.make_report(af.read_results(["runs/demo"]), fmt="md")
    """
    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.experiments.paper_table import paper_table

    if fmt not in REPORT_FORMATS:
        raise AlignfreezeError(f"format {fmt!r}: use {', '.join(REPORT_FORMATS)}")
    if fmt == "html" and out is None:
        raise AlignfreezeError(
            "the html report needs an output folder (the page is one file with its figures embedded)"
        )
    table, totals = paper_table(rows, baseline, metrics, source_languages, rounding=rounding)
    if not any(r.label == baseline for r in table):
        labels = sorted({r.label for r in table})
        raise AlignfreezeError(
            f"no {baseline!r} rows to compare with (methods found: {', '.join(labels)}); choose another baseline"
        )
    return write_report(
        rows, table, totals, fmt, None if out is None else Path(out), title, sources, baseline, language_weights
    )
