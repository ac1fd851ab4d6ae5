"""bench/realign_data_bench.py --smoke: the scale benchmark's code path on the real model and
data, and its claim at small scale: a corpus 10x larger aligns the same one chunk before the
first step and costs no more memory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from alignfreeze.paths import REPO_ROOT


@pytest.mark.slow
@pytest.mark.integration
def test_realign_data_bench_smoke(shared_data, e5_small_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "realign_data_bench.py"),
            "--smoke",
            "--samplings",
            "uniform",
            "--data-root",
            str(shared_data),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    ratios = summary["ratios"]["uniform"]
    assert ratios["sizes"] == [2_000, 20_000]
    assert ratios["peak_rss"] <= 1.2, ratios
    lines = [line for line in result.stdout.splitlines() if "lines aligned" in line]
    assert len(lines) == 2 and all("1,024 lines aligned" in line for line in lines)  # one chunk, at either size
