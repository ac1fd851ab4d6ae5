"""One short run of the real pipeline: e5-small fine-tuned on a slice of English EWT."""

from __future__ import annotations

import json

import pytest

from alignfreeze.experiments import load_experiment, run_experiment

pytestmark = pytest.mark.integration


def test_short_pos_run_on_e5_small(e5_small_path, shared_data, tmp_path):
    config = {
        "name": "e5-short", "model": "e5-small", "task": "pos", "methods": [{"method": "baseline"}], "seeds": [0],
        "train": {"language": "en", "split": "dev", "dataset": "ewt", "limit": 320},
        "eval": [{"language": "en", "split": "test", "dataset": "ewt", "limit": 200},
                 {"language": "fr", "split": "test", "dataset": "pud", "limit": 200}],
        "training": {"epochs": 1, "learning_rate": 1e-4, "micro_batch_size": 32},
    }  # fmt: skip
    path = tmp_path / "short.yaml"
    path.write_text(json.dumps(config))
    (outcome,) = run_experiment(load_experiment(path), tmp_path / "out", data_dir=shared_data, progress=False)
    scores = {r["language"]: r["value"] for r in outcome.rows}
    # 10 optimiser steps on 320 sentences: far from converged, but clearly learning PoS.
    assert scores["en"] > 0.3 and scores["fr"] > 0.25, scores
