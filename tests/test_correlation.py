"""Correlation between alignment and transfer, on synthetic result rows."""

from __future__ import annotations

import csv
import json
import math

import pytest
from typer.testing import CliRunner

from alignfreeze.analysis.correlation import correlate_points, correlation_points, spearman_with_ci
from alignfreeze.errors import AlignfreezeError
from alignfreeze.schema import COLUMNS
from conftest import assert_png_drawn


def run_rows(model: str, seed: int, en: float, targets: dict[str, tuple[float, float]], layers=(0, 1, 2)) -> list[dict]:
    """One run: English score ``en``; per target language ``(alignment at the top layer, score)``."""
    run_id = f"{model}-{seed}"
    base = {
        "run_id": run_id,
        "model": model,
        "task": "pos",
        "method": "baseline",
        "aligner": "none",
        "freeze": "none",
        "seed": seed,
    }
    rows = [{**base, "language": "en", "stage": "finetuned", "metric": "accuracy", "value": en}]
    for language, (alignment, score) in targets.items():
        rows.append({**base, "language": language, "stage": "finetuned", "metric": "accuracy", "value": score})
        for layer in layers:
            for direction in ("fwd", "bwd"):
                value = alignment if layer == layers[-1] else 0.5 - alignment / 10  # other layers: reversed order
                rows.append(
                    {
                        **base,
                        "language": language,
                        "stage": "finetuned",
                        "metric": f"alignment_strong_{direction}_L{layer}",
                        "value": value,
                    }
                )
                rows.append(
                    {
                        **base,
                        "language": language,
                        "stage": "initial",
                        "metric": f"alignment_strong_{direction}_L{layer}",
                        "value": 1 - value,
                    }
                )
    return rows


def monotone_rows() -> list[dict]:
    """Transfer is a strictly increasing (non-linear) function of last-layer alignment."""
    rows = []
    languages = ["ar", "es", "fr", "ru", "zh", "de"]
    for m, model in enumerate(["m1", "m2"]):
        for seed in range(3):
            targets = {}
            for i, language in enumerate(languages):
                alignment = 0.1 + 0.05 * i + 0.3 * m + 0.01 * seed
                targets[language] = (alignment, 0.9 * (1 - math.exp(-3 * alignment)) ** 2)
            rows += run_rows(model, seed, 0.9, targets)
    return rows


def test_monotone_relation_gives_rho_one_pooled_and_per_model():
    points = correlation_points(monotone_rows(), "pos")
    assert len(points) == 2 * 3 * 6  # model x seed x language
    assert {p["layer"] for p in points} == {2}
    for c in correlate_points(points):
        assert c.rho == pytest.approx(1.0) and c.ci_low == pytest.approx(1.0) and c.ci_high == pytest.approx(1.0)
        assert c.p_value < 1e-6
    assert [c.group for c in correlate_points(points)] == ["pooled", "m1", "m2"]
    # At a lower layer the synthetic alignment is reversed: rho = -1. At the initial stage too.
    assert correlate_points(correlation_points(monotone_rows(), "pos", layer=1))[0].rho == pytest.approx(-1.0)
    assert correlate_points(correlation_points(monotone_rows(), "pos", stage="initial"))[0].rho == pytest.approx(-1.0)


def test_transfer_is_the_relative_gap_to_english():
    rows = run_rows("m", 0, 0.8, {"fr": (0.5, 0.6), "zh": (0.2, 0.4)})
    points = {p["language"]: p for p in correlation_points(rows, "pos", direction="fwd")}
    assert points["fr"]["y"] == pytest.approx((0.6 - 0.8) / 0.8)
    assert points["zh"]["y"] == pytest.approx(-0.5)
    assert points["fr"]["x"] == 0.5


def test_spearman_matches_a_hand_computation_and_the_ci_brackets_it():
    x = [1, 2, 3, 4, 5, 6, 7, 8]
    y = [2, 1, 4, 3, 6, 5, 8, 7]  # d^2 = 1 for every point: rho = 1 - 6*8/(8*63) = 0.9048
    rho, p, low, high = spearman_with_ci(x, y, n_resamples=500)
    assert rho == pytest.approx(1 - 6 * 8 / (8 * 63))
    assert low <= rho <= high and high <= 1.0 and p < 0.01


def test_small_samples_get_the_exact_permutation_p_value():
    # 5 perfectly ranked points: 2 of the 5! = 120 pairings reach |rho| = 1, so p = 2/120.
    # (scipy's t approximation says ~1e-24 here.)
    rho, p, _, _ = spearman_with_ci([1, 2, 3, 4, 5], [2, 3, 4, 5, 9], n_resamples=50)
    assert rho == pytest.approx(1.0) and p == pytest.approx(2 / 120)
    rho, p, _, _ = spearman_with_ci([1, 2, 3, 4], [1, 3, 2, 4], n_resamples=50)
    # rho = 0.8; pairings of 4 with |rho| >= 0.8: rho = 1, 0.8 (x3) and their mirrors = 8 of 24.
    assert rho == pytest.approx(0.8) and p == pytest.approx(8 / 24)


def test_errors_name_what_is_missing():
    rows = monotone_rows()
    with pytest.raises(AlignfreezeError, match="no nli rows"):
        correlation_points(rows, "nli")
    with pytest.raises(AlignfreezeError, match=r"method 'before/front/dictionary' \(found: baseline\)"):
        correlation_points(rows, "pos", method="before/front/dictionary")
    with pytest.raises(AlignfreezeError, match="no weak alignment rows"):
        correlation_points(rows, "pos", mode="weak")


def test_correlate_cli_writes_tables_and_plot(tmp_path):
    from alignfreeze.cli import app

    path = tmp_path / "results.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(monotone_rows())
    result = CliRunner().invoke(
        app, ["correlate", str(path), "--task", "pos", "--out", str(tmp_path / "c"), "--resamples", "300"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "c" / "correlation.json").read_text())
    assert data["correlations"][0]["rho"] == pytest.approx(1.0) and len(data["points"]) == 36
    assert "| pooled | 36 | 1.000 |" in (tmp_path / "c" / "correlation.md").read_text()
    assert_png_drawn(tmp_path / "c" / "correlation.png")
