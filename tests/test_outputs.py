"""What a run keeps besides its results: tracker logs (read back from tensorboard's event
files) and its models (loaded back with AutoModel*, measured, and added to a report)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from alignfreeze.cli import app
from alignfreeze.experiments import load_experiment, run_experiment
from conftest import assert_png_drawn
from fixtures_tasks import experiment_yaml

pytest.importorskip("tensorboard", reason="tracking tests need tensorboard (pip install tensorboard)")


def scalars(folder):
    """Every scalar of the tensorboard event files under ``folder``: tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_tracking_and_saved_models(toy):
    root, model, tmp = toy
    methods = [{"method": "baseline"}, {"method": "before", "freeze": "front"}]
    cfg = experiment_yaml(tmp / "toy.yaml", model, methods)
    plain = load_experiment(cfg).runs()[1]
    tracked = load_experiment(cfg, ["tracking=tensorboard", "save_model=final"])
    run = tracked.runs()[1]
    assert run.run_id == plain.run_id  # outputs are not part of a run's identity
    out = tmp / "out"
    _, outcome = run_experiment(tracked, out, data_dir=root, progress=False)
    metrics = json.loads((out / "runs" / run.run_id / "metrics.json").read_text())

    logged = scalars(out / "tracking" / run.run_id)
    assert [v for _, v in logged["realign/loss"]] == pytest.approx(metrics["realign"]["losses"], rel=1e-6)
    assert [s for s, _ in logged["realign/loss"]] == list(range(1, len(metrics["realign"]["losses"]) + 1))
    assert [v for _, v in logged["finetune/loss"]] == pytest.approx(metrics["finetune"]["losses"], rel=1e-6)
    realign_rate = float(run.realignment.learning_rate)
    assert [v for _, v in logged["realign/learning_rate"]] == pytest.approx([realign_rate] * 2, rel=1e-6)
    rates = [v for _, v in logged["finetune/learning_rate"]]
    assert len(rates) == metrics["finetune"]["optimizer_steps"] and rates[0] >= rates[-1]  # linear decay
    fr = next(r["value"] for r in outcome.rows if r["language"] == "fr")
    assert logged["score/fr/accuracy"] == [(0, pytest.approx(fr, abs=1e-6))]

    # The models, in safetensors with their tokenizer, load with AutoModel*.
    from transformers import AutoModel, AutoModelForTokenClassification, AutoTokenizer

    assert metrics["saved_models"] == {"model": f"runs/{run.run_id}/model", "realigned": f"runs/{run.run_id}/realigned"}
    finetuned = out / metrics["saved_models"]["model"]
    assert (finetuned / "model.safetensors").is_file()
    loaded = AutoModelForTokenClassification.from_pretrained(finetuned)
    assert loaded.config.num_labels == len(metrics["labels"])
    assert AutoTokenizer.from_pretrained(finetuned)("le chat")["input_ids"]
    AutoModel.from_pretrained(out / metrics["saved_models"]["realigned"])

    # Alignment measured afterwards on the saved model, then added to the report.
    measured = tmp / "alignment"
    result = CliRunner().invoke(
        app,
        ["measure-alignment", "--model", str(finetuned), "--pairs", "en-fr", "--dataset", "un", "--split", "test"]
        + ["--out", str(measured), "--data-dir", str(root), "--n-pairs", "20"],
    )
    assert result.exit_code == 0, result.output
    report_dir = tmp / "report"
    result = CliRunner().invoke(
        app, ["report", str(out), "--alignment", str(measured), "--format", "json", "--out", str(report_dir)]
    )
    assert result.exit_code == 0, result.output
    # The runs measured no alignment: the report's alignment figure comes from the file added.
    figures = [p for p in report_dir.iterdir() if p.name.startswith("alignment_")]
    assert len(figures) == 1, sorted(p.name for p in report_dir.iterdir())
    assert_png_drawn(figures[0])


def test_alignment_of_a_model_that_is_not_a_runs_is_refused(tmp_path):
    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.experiments.results import alignment_rows_of_saved_models

    (tmp_path / "alignment.csv").write_text(
        "label,model,src_lang,language,layer,mode,direction,scoring,centred,n_pairs,accuracy\n"
    )
    (tmp_path / "alignment.json").write_text(json.dumps({"model": "e5-small"}))
    with pytest.raises(AlignfreezeError, match="not the model or realigned folder of a run"):
        alignment_rows_of_saved_models([tmp_path], [])
