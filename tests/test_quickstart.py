"""examples/quickstart.py, run as a user runs it, on a tiny model and toy data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def test_quickstart_realigns_finetunes_and_prints_scores_per_language(toy):
    root, model, tmp = toy
    args = ["--model", str(model), "--data-dir", str(root), "--languages", "fr", "--train-dataset", "toy"]
    args += ["--train-split", "train", "--eval-dataset", "toy", "--train-sentences", "40", "--realign-steps", "3"]
    result = subprocess.run(
        [sys.executable, str(QUICKSTART), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "ALIGNFREEZE_HOME": str(tmp / "home")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"en-fr: \d+ word links in \d+ sentence pairs", out), out
    assert re.search(r"realignment loss \d+\.\d+ -> \d+\.\d+", out), out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if re.match(r"^(en|fr) +\d", line)}
    assert set(rows) == {"en", "fr"}, out
    for language, cells in rows.items():
        base, realigned, delta = float(cells[0]), float(cells[1]), float(cells[2].strip("()"))
        assert 0 <= base <= 100 and 0 <= realigned <= 100
        assert abs((realigned - base) - delta) < 0.11, (language, cells)
