"""Grid configs and the grid runner (local executor; Ray in test_grid_ray.py)."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from alignfreeze.cli import app
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.grid import expand_grid
from alignfreeze.experiments.grid_runner import run_grid
from fixtures_tasks import experiment_yaml

BASE = {
    "model": "e5-small",
    "task": "pos",
    "train": {"language": "en", "split": "train"},
    "eval_languages": ["fr"],
    "realignment_pairs": [{"pair": "en-fr"}],
}


def test_lists_are_axes_and_exclude_drops_partial_matches():
    grid = {
        **BASE,
        "task": ["pos", "ner"],
        "seeds": [0, 1],
        "methods": [
            {"method": "baseline", "freeze": ["none", "front"]},
            {"method": "before", "freeze": ["front", "back"], "aligner": ["dictionary", "eflomal"]},
        ],
        "realignment": {"steps": [100, 200]},
        "exclude": [{"task": "ner", "aligner": "eflomal"}, {"realignment.steps": 100, "freeze": ["back"]}],
    }
    runs = expand_grid(grid)
    assert len({r.run_id for r in runs}) == len(runs)  # no duplicate ids
    labels = Counter((r.task, r.method, r.freeze, r.aligner_name, r.realignment.steps) for r in runs)
    # baseline: the freeze axis and the realignment axis collapse (a baseline has neither): 2 tasks x 2 seeds
    assert sum(n for (t, m, *_), n in labels.items() if m == "baseline") == 4
    assert ("ner", "before", "front", "eflomal", 200) not in labels
    assert ("pos", "before", "back", "dictionary", 100) not in labels
    assert labels[("pos", "before", "back", "dictionary", 200)] == 2
    # pos: front x {dict, eflomal} x {100, 200} + back x {dict, eflomal} x {200}; ner: dictionary only
    before = [k for k in labels if k[1] == "before"]
    assert len(before) == 6 + 3
    assert len(runs) == 4 + (6 + 3) * 2


def test_list_fields_need_a_list_of_lists_to_become_axes():
    runs = expand_grid({**BASE, "methods": [{"method": "baseline"}], "eval_languages": [["fr", "de"], ["zh"]]})
    assert sorted(tuple(ref.language for ref in r.eval) for r in runs) == [("fr", "de"), ("zh",)]
    runs = expand_grid({**BASE, "methods": [{"method": "baseline"}], "eval_languages": ["fr", "de"]})
    assert len(runs) == 1


def test_grid_errors_are_clear():
    with pytest.raises(AlignfreezeError, match=r"task=xx.*task: Input should be"):
        expand_grid({**BASE, "methods": [{"method": "baseline"}], "task": ["pos", "xx"]})
    with pytest.raises(AlignfreezeError, match="'colour' is not a run setting"):
        expand_grid({**BASE, "methods": [{"method": "baseline"}], "exclude": [{"colour": "red"}]})
    with pytest.raises(AlignfreezeError, match="no run left"):
        expand_grid({**BASE, "methods": [{"method": "baseline"}], "exclude": [{"task": "pos"}]})


def test_a_failed_run_is_recorded_the_grid_goes_on_and_retry_reruns_it(toy):
    """A run that fails for real (its model's weights are unreadable: preflight reads only
    config.json) is recorded, the grid goes on, and --retry-failed reruns it once mended."""
    import shutil

    from alignfreeze.experiments.grid import load_grid

    root, model, tmp = toy
    broken_model = tmp / "broken-model"
    shutil.copytree(model, broken_model)
    (weights,) = broken_model.glob("*.safetensors")
    weights.write_bytes(b"not a safetensors file")
    cfg = experiment_yaml(
        tmp / "g.yaml",
        model,
        [{"method": "baseline"}, {"method": "before", "freeze": "front"}],
        exclude=[{"model": str(broken_model), "method": "before"}],
    )
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "model": [str(model), str(broken_model)]}))
    _, runs, _ = load_grid(cfg)
    assert [(r.model, r.method) for r in runs] == [
        (str(model), "baseline"),
        (str(model), "before"),
        (str(broken_model), "baseline"),
    ]
    broken = runs[2].run_id
    statuses: list[tuple[str, dict | None]] = []
    summary = run_grid(
        runs, tmp / "out", root, progress=False, on_status=lambda run_id, s: statuses.append((run_id, s))
    )
    assert (summary.done, summary.failed) == (2, 1) and list(summary.failures) == [broken]
    # In this process every run's bars report straight to on_status, phase by phase, and a
    # finished run (done or failed) is announced with None.
    phases = {run.run_id: [s["desc"] for rid, s in statuses if rid == run.run_id and s] for run in runs}
    assert phases[runs[0].run_id][0] == "loading model and data" and phases[runs[0].run_id][-1] == "evaluate"
    assert "realign (front)" in phases[runs[1].run_id] and phases[broken] == ["loading model and data"]
    ends = [s for rid, s in statuses if rid == runs[1].run_id and s and s["desc"].startswith("fine-tune")]
    assert ends[-1]["done"] == ends[-1]["total"] > 0 and "loss=" in ends[-1]["postfix"]
    assert [rid for rid, s in statuses if s is None] == [r.run_id for r in runs]
    failed = json.loads((tmp / "out" / "runs" / broken / "failed.json").read_text())
    assert failed["error"] == summary.failures[broken] and failed["traceback"] == "error.txt"
    assert failed["error"].split(":")[0] in (tmp / "out" / "runs" / broken / "error.txt").read_text()
    rows = list(csv.DictReader(open(tmp / "out" / "results.csv")))
    assert {r["run_id"] for r in rows} == {r.run_id for r in runs} - {broken}
    # A restart skips done and failed runs; --retry-failed reruns the failed one only.
    again = run_grid(runs, tmp / "out", root, progress=False)
    assert (again.done, again.failed, again.skipped) == (0, 0, 3) and broken in again.failures
    shutil.copy(next(model.glob("*.safetensors")), weights)
    retried = run_grid(runs, tmp / "out", root, progress=False, retry_failed=True)
    assert (retried.done, retried.failed, retried.skipped) == (1, 0, 2) and not retried.failures
    assert not (tmp / "out" / "runs" / broken / "failed.json").exists()
    rows = list(csv.DictReader(open(tmp / "out" / "results.csv")))
    assert Counter((r["run_id"], r["language"], r["metric"]) for r in rows).most_common(1)[0][1] == 1
    assert {r["run_id"] for r in rows} == {r.run_id for r in runs}


def test_grid_cli_dry_run_lists_runs_and_estimates(toy):
    root, model, tmp = toy
    cfg = experiment_yaml(
        tmp / "g.yaml", model, [{"method": "baseline"}, {"method": "before", "freeze": ["front", "back"]}], seeds=[0, 1]
    )
    result = CliRunner().invoke(
        app, ["grid", str(cfg), "--out", str(tmp / "out"), "--dry-run", "--data-dir", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert "6 run(s)" in result.output and "estimated cost" in result.output
    assert not (tmp / "out" / "results.csv").exists()


def test_local_executor_runs_processes_in_parallel_and_the_cli_reports(toy):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "g.yaml", model, [{"method": "baseline"}, {"method": "before", "freeze": "front"}])
    result = CliRunner().invoke(
        app, ["grid", str(cfg), "--out", str(tmp / "out"), "--max-parallel", "2", "--data-dir", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert "2 run(s) done now, 0 already done" in result.output
    rows = list(csv.DictReader(open(tmp / "out" / "results.csv")))
    assert len({r["run_id"] for r in rows}) == 2
    again = CliRunner().invoke(app, ["grid", str(cfg), "--out", str(tmp / "out"), "--data-dir", str(root)])
    assert again.exit_code == 0 and "0 run(s) done now, 2 already done" in again.output


def test_pool_workers_report_progress_through_files(toy):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "g.yaml", model, [{"method": "baseline"}, {"method": "before", "freeze": "front"}])
    from alignfreeze.experiments.grid import load_grid

    _, runs, _ = load_grid(cfg)
    statuses: list[tuple[str, dict | None]] = []
    summary = run_grid(
        runs,
        tmp / "out",
        root,
        max_parallel=2,
        progress=False,
        on_status=lambda run_id, s: statuses.append((run_id, s)),
    )
    assert (summary.done, summary.failed) == (2, 0)
    # Each worker left its last state in runs/<id>/progress.json ...
    for run in runs:
        last = json.loads((tmp / "out" / "runs" / run.run_id / "progress.json").read_text())
        assert last["desc"] == "evaluate" and last["done"] == last["total"] == len(run.eval)
    # ... and the driver passed on what it saw while the runs were going (it polls every
    # second; a spawned worker takes several seconds to import torch and load the model).
    seen = [(rid, s) for rid, s in statuses if s is not None]
    assert seen and {rid for rid, _ in seen} <= {r.run_id for r in runs}
    assert all({"desc", "done", "total", "postfix"} <= set(s) for _, s in seen)
    assert [rid for rid, s in statuses if s is None and rid in {r.run_id for r in runs}]
    finished_at = {rid: i for i, (rid, s) in enumerate(statuses) if s is None}
    assert all(i < finished_at[rid] for i, (rid, s) in enumerate(statuses) if s is not None)


def test_local_pool_spreads_processes_over_gpus_and_fills_them():
    from alignfreeze.experiments.grid_runner import Resources, _pin_to_gpu, gpu_slots, local_parallelism

    assert gpu_slots(5, 2) == ["0", "1", "0", "1", "0"] and gpu_slots(3, 0) == [None, None, None]
    assert local_parallelism(Resources(num_cpus=1, num_gpus=0.25), 1) == 4
    assert local_parallelism(Resources(num_cpus=1, num_gpus=0.5), 2) == 4
    assert local_parallelism(Resources(num_cpus=1, num_gpus=0.25), 0) == 1  # no GPU: one at a time
    assert Resources.parse({"num_gpus": 0.25}).num_gpus == 0.25
    import os
    import queue

    slots = queue.Queue()
    slots.put("1")
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        _pin_to_gpu(slots)
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "1"
    finally:
        if before is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = before
