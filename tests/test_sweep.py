"""The freeze sweep on a tiny model and toy data."""

from __future__ import annotations

import csv

from typer.testing import CliRunner

from alignfreeze.cli import app
from conftest import assert_png_drawn
from fixtures_tasks import experiment_yaml, make_data_root, make_tiny_model


def test_sweep_freeze_maps_frozen_layers_resumes_and_runs_downstream(tmp_path, xlmr_tokenizer, monkeypatch):
    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path / "home"))
    root = make_data_root(tmp_path / "data")
    model = make_tiny_model(tmp_path / "tiny", xlmr_tokenizer)  # 2 layers
    experiment = experiment_yaml(tmp_path / "exp.yaml", model, [{"method": "baseline"}])
    args = [
        "sweep-freeze",
        "--model",
        str(model),
        "--realign-pairs",
        "en-fr",
        "--realign-dataset",
        "un",
        "--eval-pairs",
        "en-fr",
        "--eval-dataset",
        "un",
        "--n-pairs",
        "8",
        "--steps",
        "3",
        "--learning-rate",
        "1e-2",
        "--with-embeddings",
        "--data-dir",
        str(root),
        "--out",
        str(tmp_path / "sweep"),
    ]
    result = CliRunner().invoke(app, [*args, "--experiment", str(experiment)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(tmp_path / "sweep" / "sweep.csv")))
    assert {r["k"] for r in rows} == {"-1", "0", "1", "2"}
    assert {r["freeze"] for r in rows} == {"pretrained", "embeddings", "bottom:1+embeddings", "bottom:2+embeddings"}
    assert {(r["mode"], r["direction"]) for r in rows} == {(m, d) for m in ("weak", "strong") for d in ("fwd", "bwd")}
    acc = {(int(r["k"]), int(r["layer"]), r["mode"], r["direction"]): float(r["accuracy"]) for r in rows}
    for mode in ("weak", "strong"):
        for direction in ("fwd", "bwd"):
            for layer in range(3):
                # everything frozen: nothing changes; bottom 1 (+ embeddings) frozen: hidden states 0-1 unchanged
                assert acc[(2, layer, mode, direction)] == acc[(-1, layer, mode, direction)]
                if layer <= 1:
                    assert acc[(1, layer, mode, direction)] == acc[(-1, layer, mode, direction)]
                assert acc[(0, 0, mode, direction)] == acc[(-1, 0, mode, direction)]
    assert_png_drawn(tmp_path / "sweep" / "sweep.png")
    downstream = list(csv.DictReader(open(tmp_path / "sweep" / "downstream" / "results.csv")))
    assert {r["freeze"] for r in downstream} == {"none", "embeddings", "bottom:1+embeddings", "bottom:2+embeddings"}
    assert "downstream" in result.output
    # Resuming does no realignment again; other settings in the same folder are refused.
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "realigned in" not in again.output
    other = CliRunner().invoke(app, [*args[:-2], "--step", "2", "--out", str(tmp_path / "sweep")])
    assert other.exit_code != 0 and "other settings" in str(other.exception)
