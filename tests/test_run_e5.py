"""One short run of the real pipeline: e5-small fine-tuned on a slice of English EWT."""

from __future__ import annotations

import json

import pytest

from alignfreeze.experiments import load_experiment, run_experiment

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_short_pos_run_on_e5_small(e5_small_path, shared_data, tmp_path):
    config = {
        "name": "e5-short",
        "model": "e5-small",
        "task": "pos",
        "methods": [{"method": "baseline"}],
        "seeds": [0],
        "train": {"language": "en", "split": "dev", "dataset": "ewt", "limit": 640},
        "eval": [
            {"language": "en", "split": "test", "dataset": "ewt", "limit": 200},
            {"language": "fr", "split": "test", "dataset": "pud", "limit": 200},
        ],
        "training": {"epochs": 1, "learning_rate": 2e-4, "micro_batch_size": 32},
    }
    path = tmp_path / "short.yaml"
    path.write_text(json.dumps(config))
    (outcome,) = run_experiment(load_experiment(path), tmp_path / "out", data_dir=shared_data, progress=False)
    scores = {r["language"]: r["value"] for r in outcome.rows}
    # 20 optimiser steps on 640 sentences: far from converged (the full demo reaches 0.91),
    # but well above what 10 steps give (0.22 / 0.20, the level of always answering NOUN).
    # Measured on the 2-core VM: en 0.448, fr 0.435.
    assert scores["en"] > 0.35 and scores["fr"] > 0.30, scores
