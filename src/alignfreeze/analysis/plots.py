"""Figures of the analysis: alignment curves, correlation scatter plots, freeze sweeps.

Every ``*_figure`` function takes plain rows (dicts) or arrays and returns a matplotlib
figure (Agg backend, no display needed), which tests read back; its ``plot_*`` twin saves
it as one PNG, atomically, and returns the path.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Sequence

from alignfreeze.errors import AlignfreezeError


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _version() -> str:
    from importlib.metadata import version

    return version("alignfreeze")


def _save(fig, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    # "alignfreeze" in the PNG's Software chunk: how a rerun knows the figure is its own to replace
    fig.savefig(tmp, dpi=120, bbox_inches="tight", metadata={"Software": f"alignfreeze {_version()} (matplotlib)"})
    tmp.replace(out)  # a crash never leaves a half-written figure
    _pyplot().close(fig)
    return out


def plot_layer_curves(rows: Sequence[dict], out: str | Path, title: str = "") -> Path:
    """:func:`layer_curves_figure`, saved as a PNG."""
    return _save(layer_curves_figure(rows, title), out)


def layer_curves_figure(rows: Sequence[dict], title: str = ""):
    """Accuracy against layer, one line per language, one panel per mode x direction.

    ``rows`` have ``language``, ``layer``, ``mode``, ``direction``, ``accuracy``."""
    plt = _pyplot()
    panels = sorted({(r["mode"], r["direction"]) for r in rows}, key=lambda p: (p[0] != "weak", p[1] != "fwd"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False, sharey=True)
    for ax, (mode, direction) in zip(axes[0], panels):
        lines: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for r in rows:
            if r["mode"] == mode and r["direction"] == direction:
                lines[r["language"]].append((int(r["layer"]), float(r["accuracy"])))
        for language, points in sorted(lines.items()):
            points.sort()
            ax.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", markersize=3, label=language)
        ax.set_title(f"{mode}, {'source → target' if direction == 'fwd' else 'target → source'}", fontsize=10)
        ax.set_xlabel("hidden state (0 = embeddings)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("retrieval accuracy (%)")
    axes[0][-1].legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_curves_by_language(rows: Sequence[dict], out: str | Path, mode: str, direction: str, title: str = "") -> Path:
    """:func:`curves_by_language_figure`, saved as a PNG."""
    return _save(curves_by_language_figure(rows, mode, direction, title), out)


def curves_by_language_figure(rows: Sequence[dict], mode: str, direction: str, title: str = ""):
    """One panel per language, one line per ``label`` (e.g. pretrained / realigned models)."""
    plt = _pyplot()
    selected = [r for r in rows if r["mode"] == mode and r["direction"] == direction]
    languages = sorted({r["language"] for r in selected})
    labels = list(dict.fromkeys(r["label"] for r in selected))
    if not languages:
        raise AlignfreezeError(f"no rows for mode {mode!r} and direction {direction!r}")
    cols = min(len(languages), 5)
    nrows = (len(languages) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.3 * cols, 3.0 * nrows), squeeze=False, sharey=True)
    for ax, language in zip(axes.flat, languages):
        for label in labels:
            points = sorted(
                (int(r["layer"]), float(r["accuracy"]))
                for r in selected
                if r["language"] == language and r["label"] == label
            )
            if points:
                ax.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", markersize=3, label=label)
        ax.set_title(language, fontsize=10)
        ax.set_xlabel("hidden state")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(languages) :]:
        ax.axis("off")
    for row in axes:
        row[0].set_ylabel("retrieval accuracy (%)")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle(title or f"{mode} alignment, {direction}", fontsize=11)
    fig.tight_layout()
    return fig


def plot_scatter(points: Sequence[dict], out: str | Path, x_label: str, y_label: str, title: str = "") -> Path:
    """:func:`scatter_figure`, saved as a PNG."""
    return _save(scatter_figure(points, x_label, y_label, title), out)


def scatter_figure(points: Sequence[dict], x_label: str, y_label: str, title: str = ""):
    """``points`` have ``x``, ``y``, ``model`` and ``language``; one colour per model, each
    point labelled with its language."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    for model in sorted({p["model"] for p in points}):
        mine = [p for p in points if p["model"] == model]
        ax.scatter([p["x"] for p in mine], [p["y"] for p in mine], s=18, alpha=0.8, label=model)
        for p in mine:
            ax.annotate(
                p["language"], (p["x"], p["y"]), fontsize=6, alpha=0.7, xytext=(2, 2), textcoords="offset points"
            )
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_sweep(
    matrix,
    ks: Sequence[int],
    layers: Sequence[int],
    out: str | Path,
    title: str = "",
    downstream: dict[int, float] | None = None,
) -> Path:
    """The freeze sweep's heat map: rows = number of frozen bottom layers k, columns = hidden
    state, value = change in retrieval accuracy (points) against the model before
    realignment. With ``downstream``, a side panel shows the mean transfer score per k.
    Returns the PNG's path.

    Example::

        ks, layers, delta = af.sweep_matrix(rows, mode="strong", direction="fwd")
        af.plot_sweep(delta, ks, layers, "sweep.png")
    """
    return _save(sweep_figure(matrix, ks, layers, title, downstream), out)


def sweep_figure(
    matrix, ks: Sequence[int], layers: Sequence[int], title: str = "", downstream: dict[int, float] | None = None
):
    """The heat map of :func:`plot_sweep` as a matplotlib figure."""
    import numpy as np

    plt = _pyplot()
    matrix = np.asarray(matrix, dtype=float)
    width = 1 if not downstream else 2
    fig, axes = plt.subplots(
        1,
        width,
        figsize=(6.5 + 2.5 * (width - 1), 0.35 * len(ks) + 2.2),
        squeeze=False,
        gridspec_kw={"width_ratios": [3, 1][:width]},
    )
    ax = axes[0][0]
    bound = max(1e-9, float(np.nanmax(np.abs(matrix))))
    image = ax.imshow(matrix, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(len(layers)), [str(layer) for layer in layers])
    ax.set_yticks(range(len(ks)), [str(k) for k in ks])
    ax.set_xlabel("hidden state (0 = embeddings)")
    ax.set_ylabel("bottom layers frozen (k)")
    for i in range(len(ks)):
        for j in range(len(layers)):
            if np.isfinite(matrix[i, j]):
                ax.text(j, i, f"{matrix[i, j]:+.0f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="Δ retrieval accuracy vs. before realignment (points)")
    if downstream:
        side = axes[0][1]
        side.barh(range(len(ks)), [downstream.get(k, float("nan")) for k in ks], color="tab:gray")
        side.set_yticks(range(len(ks)), [str(k) for k in ks])
        side.invert_yaxis()
        side.set_xlabel("mean zero-shot score ×100")
        side.grid(alpha=0.3, axis="x")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
