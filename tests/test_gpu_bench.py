"""bench/gpu_bench.py --smoke: the GPU benchmark's code path, on the CPU with a tiny model."""

from __future__ import annotations

import json
import subprocess
import sys

from alignfreeze.paths import REPO_ROOT


def test_gpu_bench_smoke_runs_on_the_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "gpu_bench.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    assert data["smoke"] is True and data["device"] == "cpu" and data["machine"]["cpu"]
    got = {(r["model"], r["step"], r["precision"]) for r in data["results"]}
    assert got == {("tiny", step, p) for step in ("realign", "finetune") for p in ("fp32", "bf16")}
    assert all(r["seconds_per_step"] > 0 and r["tokens_per_second"] > 0 and r["mfu"] is None for r in data["results"])
    assert data["projection"]["fp32"]["demo_sized_runs_per_hour_training_only"] > 0
