"""`alignfreeze grid --dry-run` with no data under the data root and the hub unreachable: the
fine-tuning steps (and so realignment's under ``steps: match`` and the sentence pairs it draws)
are estimated from the hub split sizes that hub_configs.json records."""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import pytest

from alignfreeze.data import sources as sources_module
from alignfreeze.data.catalog import DataCatalog, hub_split_size
from alignfreeze.experiments.grid import load_grid
from alignfreeze.experiments.planning import data_needs, plan_grid

REPO_ROOT = Path(__file__).resolve().parents[1]
PAPER_POS = REPO_ROOT / "configs" / "paper" / "pos.yaml"
EWT_TRAIN = 12_543  # sentences of UD 2.7 en_ewt train


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def plan(tmp_path, overrides=None):
    _, runs, _ = load_grid(PAPER_POS, overrides)
    return plan_grid(runs, tmp_path / "runs", DataCatalog(tmp_path / "empty"))


def expected_steps(training, records: int) -> int:
    """Optimiser steps by hand: one per batch, every epoch (no accumulation, no max_steps)."""
    assert training.micro_batch_size == training.batch_size and training.max_steps is None
    assert float(training.epochs).is_integer()
    return int(training.epochs) * math.ceil(records / training.batch_size)


def test_hub_split_sizes_of_the_presets_training_data():
    assert hub_split_size("pos", "en", "train", "ewt") == EWT_TRAIN
    assert hub_split_size("pos", "en", "train", "reference") == EWT_TRAIN  # the reference treebank: en_ewt
    assert hub_split_size("pos", "en", "train") == 21_253  # XTREME's udpos.English
    assert hub_split_size("ner", "en", "train") == 20_000  # WikiANN en
    assert hub_split_size("nli", "en", "train") == 392_702  # XNLI en (MultiNLI)
    assert hub_split_size("qa", "en", "train", "squad") == 87_599
    assert hub_split_size("qa", "fr", "test") is None  # XQuAD has no French: no source
    assert hub_split_size("pos", "en", "train", "pud") is None  # en_pud: test only
    assert hub_split_size("dictionary", "en-fr", "full") is None  # a URL, not a hub split


def test_paper_pos_dry_run_estimates_steps_and_draws_offline(tmp_path):
    start = time.monotonic()
    planned = plan(tmp_path).runs
    assert time.monotonic() - start < 60
    assert len(planned) == 60
    mbert = [p for p in planned if p.run.model == "bert-base-multilingual-cased"]
    assert len(mbert) == 20 and sum(p.run.method == "baseline" for p in mbert) == 5
    for p in planned:
        steps = expected_steps(p.run.training, EWT_TRAIN)
        assert (p.finetune_steps, p.exact_steps) == (steps, False), p.run.run_id  # estimated from records
        if p.run.method == "baseline":
            assert (p.realign_steps, p.realign_draws) == (0, 0)
        else:
            assert p.run.realignment.steps == "match" and p.run.realignment.batch_size == 16
            assert p.realign_steps == steps
            assert p.realign_draws == steps * 16
    # mBERT under the reference protocol: 5 epochs of batches of 32.
    training = mbert[0].run.training
    assert (training.epochs, training.batch_size) == (5, 32)
    assert {p.finetune_steps for p in mbert} == {5 * math.ceil(EWT_TRAIN / 32)}


def test_a_training_limit_caps_the_estimate(tmp_path):
    for p in plan(tmp_path, ["train.limit=1000"]).runs:
        steps = expected_steps(p.run.training, 1000)
        assert p.finetune_steps == steps
        assert p.realign_draws == (0 if p.run.method == "baseline" else steps * p.run.realignment.batch_size)


def test_no_known_size_leaves_steps_and_draws_unknown(tmp_path, monkeypatch):
    # No hub source at all: en_pud has a test split only; data_needs says why.
    result = plan(tmp_path, ["train.dataset=pud"])
    for p in result.runs:
        assert p.finetune_steps is None and p.exact_steps is False
        if p.run.method != "baseline":
            assert p.realign_steps == "match" and p.realign_draws is None
    needs = data_needs(load_grid(PAPER_POS, ["train.dataset=pud"])[1], DataCatalog(tmp_path / "empty"))
    (train,) = [n for n in needs if n.language == "en" and n.split == "train"]
    assert train.remote == (
        "no known source: universal-dependencies/universal_dependencies en_pud has no split 'train' (it has: test)"
    )
    # A listed split whose count is not recorded (null): no estimate either.
    listed = copy.deepcopy(sources_module._hub_catalog())
    listed["universal-dependencies/universal_dependencies"]["configs"]["en_ewt"]["train"] = None
    monkeypatch.setattr(sources_module, "_hub_catalog", lambda: listed)
    assert hub_split_size("pos", "en", "train", "ewt") is None
    for p in plan(tmp_path).runs:
        assert p.finetune_steps is None
        assert p.realign_draws == (0 if p.run.method == "baseline" else None)
