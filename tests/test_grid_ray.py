"""The Ray executor: a local 2-CPU cluster, a worker killed mid-way, a driver killed and restarted."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from fixtures_tasks import experiment_yaml

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'alignfreeze[ray]')")
pytestmark = pytest.mark.integration

METHODS = [{"method": "baseline"}, {"method": "before", "freeze": ["none", "front", "back"]}]


def rows_per_run(path) -> Counter:
    rows = list(csv.DictReader(open(path)))
    keys = Counter((r["run_id"], r["language"], r["stage"], r["metric"]) for r in rows)
    assert max(keys.values()) == 1, "a row is duplicated"
    return Counter(r["run_id"] for r in rows if r["stage"] != "run")  # a realigning run also has its counts


@pytest.mark.slow
def test_four_runs_on_a_two_cpu_cluster_survive_a_killed_worker(toy):
    import psutil

    from alignfreeze.experiments.grid import load_grid
    from alignfreeze.experiments.grid_runner import run_grid

    root, model, tmp = toy
    _, runs, resources = load_grid(experiment_yaml(tmp / "g.yaml", model, METHODS, tracking="tensorboard"))
    assert len(runs) == 4
    killed: list[int] = []

    def kill_one_worker() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            for proc in psutil.process_iter(["pid", "cmdline"]):
                if "ray::run_one" in " ".join(proc.info["cmdline"] or []):
                    time.sleep(1.0)  # let it get into the run
                    proc.kill()
                    killed.append(proc.info["pid"])
                    return
            time.sleep(0.2)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        killer = threading.Thread(target=kill_one_worker)
        killer.start()
        statuses: list = []
        summary = run_grid(
            runs,
            tmp / "out",
            root,
            executor="ray",
            resources=resources,
            progress=False,
            on_status=lambda run_id, status: statuses.append((run_id, status)),
        )
        killer.join()
    finally:
        ray.shutdown()
    assert killed, "no Ray worker was found to kill"
    assert (summary.done, summary.failed) == (4, 0), summary.failures
    counts = rows_per_run(tmp / "out" / "results.csv")
    assert set(counts) == {r.run_id for r in runs}
    assert len(set(counts.values())) == 1  # every run has all its rows
    # Each run logged to its own tracker run, named by its id, from the Ray worker that ran it.
    for run in runs:
        assert list((tmp / "out" / "tracking" / run.run_id).glob("events.out.tfevents.*")), run.run_id
    # Without --max-parallel, Ray runs as many tasks as the cluster fits: two at once here.
    spans = []
    for run in runs:
        lines = (tmp / "out" / "runs" / run.run_id / "log.txt").read_text().splitlines()
        stamp = lambda line: datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")  # noqa: E731
        spans.append((stamp(lines[0]), stamp(lines[-1])))
    assert any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1 :]), spans
    # The workers' progress files reached the driver while the runs were going.
    assert any(
        status
        and status["desc"] in ("loading model and data", "evaluate")
        or status
        and status["desc"].startswith(("realign", "fine-tune"))
        for _, status in statuses
    )


@pytest.mark.slow
def test_grid_cli_on_ray_resumes_after_the_driver_is_killed(toy):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "g8.yaml", model, METHODS, seeds=[0, 1])  # 8 runs
    out = tmp / "out"
    cmd = [
        sys.executable,
        "-m",
        "alignfreeze.cli",
        "grid",
        str(cfg),
        "--out",
        str(out),
        "--executor",
        "ray",
        "--data-dir",
        str(root),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and len(list(out.glob("runs/*/metrics.json"))) < 2:
        time.sleep(0.2)
    assert proc.poll() is None, "the grid ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the cluster it started
    proc.wait()
    ray_cli = Path(sys.executable).with_name("ray")  # the venv's, which need not be on PATH
    subprocess.run([str(ray_cli), "stop", "--force"], env=env, capture_output=True, check=False)
    done_before = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("runs/*/metrics.json")}
    assert 2 <= len(done_before) < 8
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = rows_per_run(out / "results.csv")
    assert len(counts) == 8 and len(set(counts.values())) == 1
    for run_id, mtime in done_before.items():  # finished runs were not run again
        assert (out / "runs" / run_id / "metrics.json").stat().st_mtime_ns == mtime
    assert f"{8 - len(done_before)} run(s) done now, {len(done_before)} already done" in result.stdout


@pytest.mark.slow
def test_four_quarter_gpu_runs_share_one_gpu(toy):
    """resources: {num_gpus: 0.25} packs four runs on one GPU. A Ray cluster started with a
    logical GPU (no CUDA here) schedules them as it would on a real one: all four at once,
    each told to use GPU 0."""
    from alignfreeze.experiments.grid import load_grid
    from alignfreeze.experiments.grid_runner import run_grid

    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "g.yaml", model, METHODS, resources={"num_cpus": 0.5, "num_gpus": 0.25})
    _, runs, resources = load_grid(cfg)
    assert (len(runs), resources.num_gpus) == (4, 0.25)
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_grid(runs, tmp / "out", root, executor="ray", resources=resources, progress=False)
    finally:
        ray.shutdown()
    assert (summary.done, summary.failed) == (4, 0), summary.failures
    import json

    metrics = [json.loads((tmp / "out" / "runs" / r.run_id / "metrics.json").read_text()) for r in runs]
    assert {m["cuda_visible_devices"] for m in metrics} == {"0"}
    spans = [(datetime.fromisoformat(m["started"]), datetime.fromisoformat(m["finished"])) for m in metrics]
    latest_start, earliest_end = max(s for s, _ in spans), min(e for _, e in spans)
    assert latest_start <= earliest_end, f"the four runs did not overlap: {spans}"
