"""The figures draw what they are given: axes, lines, labels and pixels read back."""

from __future__ import annotations

import numpy as np
import pytest

from alignfreeze.analysis.plots import (
    curves_by_language_figure,
    layer_curves_figure,
    plot_sweep,
    scatter_figure,
    sweep_figure,
)
from alignfreeze.errors import AlignfreezeError


def rows(labels=("m",), languages=("fr", "zh"), modes=("weak", "strong")):
    out = []
    for li, label in enumerate(labels):
        for lj, language in enumerate(languages):
            for mode in modes:
                for layer in range(3):
                    accuracy = 0.1 * layer + 0.01 * lj + 0.3 * li + (0.05 if mode == "strong" else 0)
                    row = {"label": label, "language": language, "layer": layer, "mode": mode}
                    out.append({**row, "direction": "fwd", "accuracy": accuracy})
    return out


def lines_of(ax) -> dict[str, tuple[list, list]]:
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()}


def test_layer_curves_one_panel_per_mode_one_line_per_language():
    fig = layer_curves_figure(rows(), title="e5-small")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["weak, source → target", "strong, source → target"]
    weak = lines_of(axes[0])
    assert set(weak) == {"fr", "zh"}
    assert weak["fr"][0] == [0, 1, 2]
    assert weak["zh"][1] == pytest.approx([1.0, 11.0, 21.0])  # accuracy x100
    assert lines_of(axes[1])["fr"][1] == pytest.approx([5.0, 15.0, 25.0])
    assert axes[0].get_ylabel() == "retrieval accuracy (%)"
    assert fig._suptitle.get_text() == "e5-small"


def test_curves_by_language_one_panel_per_language_one_line_per_model():
    fig = curves_by_language_figure(rows(labels=("pretrained", "front")), "strong", "fwd")
    panels = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in panels] == ["fr", "zh"]
    fr = lines_of(panels[0])
    assert set(fr) == {"pretrained", "front"}
    assert fr["front"][1] == pytest.approx([35.0, 45.0, 55.0])
    assert [t.get_text() for t in panels[0].get_legend().get_texts()] == ["pretrained", "front"]
    with pytest.raises(AlignfreezeError, match="no rows for mode 'weak' and direction 'bwd'"):
        curves_by_language_figure(rows(), "weak", "bwd")


def test_scatter_places_each_point_and_names_its_language():
    points = [
        {"x": 0.2, "y": -0.3, "model": "a", "language": "fr"},
        {"x": 0.6, "y": -0.1, "model": "a", "language": "zh"},
        {"x": 0.4, "y": -0.2, "model": "b", "language": "ar"},
    ]
    fig = scatter_figure(points, "alignment", "transfer gap", title="ρ = 1.00")
    ax = fig.axes[0]
    offsets = {c.get_label(): c.get_offsets().tolist() for c in ax.collections}
    assert offsets == {"a": [[0.2, -0.3], [0.6, -0.1]], "b": [[0.4, -0.2]]}
    assert sorted(t.get_text() for t in ax.texts) == ["ar", "fr", "zh"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("alignment", "transfer gap", "ρ = 1.00")


def test_sweep_heat_map_shows_the_matrix_and_the_downstream_scores():
    matrix = [[0.0, -4.0, -8.0], [0.0, 0.0, -3.0], [0.0, 0.0, 0.0]]
    fig = sweep_figure(matrix, [0, 1, 2], [0, 1, 2], "sweep", downstream={0: 70.0, 2: 75.5})
    heat, side = fig.axes[0], fig.axes[1]
    np.testing.assert_array_equal(heat.get_images()[0].get_array(), np.asarray(matrix))
    assert [t.get_text() for t in heat.get_yticklabels()] == ["0", "1", "2"]
    assert "-8" in [t.get_text() for t in heat.texts] and "+0" in [t.get_text() for t in heat.texts]
    widths = [bar.get_width() for bar in side.patches]
    assert widths[0] == 70.0 and np.isnan(widths[1]) and widths[2] == 75.5


def test_saved_sweep_png_has_red_where_alignment_drops_and_blue_where_it_rises(tmp_path):
    import matplotlib.image

    path = plot_sweep([[-10.0, 10.0]], [0], [0, 1], tmp_path / "sweep.png")
    pixels = matplotlib.image.imread(path)[..., :3]
    # RdBu at its ends: dark red (0.40, 0.00, 0.12) for -10, dark blue (0.02, 0.19, 0.38) for +10.
    red = np.abs(pixels - [0.40, 0.00, 0.12]).max(-1) < 0.03
    blue = np.abs(pixels - [0.02, 0.19, 0.38]).max(-1) < 0.03
    assert red.sum() > 10_000 and blue.sum() > 10_000
    # Red (negative) sits left of blue (positive), as the columns are.
    assert np.nonzero(red)[1].mean() < np.nonzero(blue)[1].mean()
