"""The reference protocol's fine-tuning settings, against values worked out by hand: the batch
order (a plain seeded shuffle, no length grouping), the learning-rate schedule counted in
micro-batches, the QA epochs of the released runs, and the name-prefix freeze of
``during_partial_freeze_*`` (posos-tech/multilingual-alignment-and-transfer,
``multilingual_eval/training/training_loops.py`` 218-225, 622-627, 739, 758)."""

from __future__ import annotations

import numpy as np
import pytest

from alignfreeze.experiments import load_experiment
from alignfreeze.finetune import TrainingSettings, finetune, get_task, resolve_training
from alignfreeze.finetune.trainer import schedule_lengths, step_groups, total_optimizer_steps
from alignfreeze.models.layers import transformer_layers
from alignfreeze.paths import REPO_ROOT
from alignfreeze.realign import FreezeSpec, frozen_parameters
from alignfreeze.realign.freeze import frozen_layer_indices
from fixtures_tasks import experiment_yaml
from tiny_models import tiny_model

# --------------------------------------------------------------------------- row 2: batch order


def test_reference_protocol_turns_length_grouping_off():
    paper = REPO_ROOT / "configs" / "paper" / "pos.yaml"
    runs = load_experiment(paper).runs()
    assert runs and all(run.training.group_by_length is False for run in runs)
    assert all(run.training.group_by_length for run in load_experiment(paper, ["protocol=corrected"]).runs())
    demo = REPO_ROOT / "configs" / "demo.yaml"
    assert all(run.training.group_by_length for run in load_experiment(demo).runs())
    assert not any(run.training.group_by_length for run in load_experiment(demo, ["protocol=reference"]).runs())


def shuffled_steps(n: int, micro: int, accumulation: int, seed: int, epochs: int) -> list[list[list[int]]]:
    """By hand: each epoch a fresh permutation from the seeded generator, cut into
    micro-batches, ``accumulation`` of them per step."""
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(epochs):
        order = rng.permutation(n).tolist()
        micro_batches = [order[i : i + micro] for i in range(0, n, micro)]
        steps += [micro_batches[i : i + accumulation] for i in range(0, len(micro_batches), accumulation)]
    return steps


def test_without_length_grouping_the_order_is_a_plain_seeded_shuffle():
    settings = TrainingSettings(epochs=2, batch_size=8, micro_batch_size=4, group_by_length=False)
    lengths = list(range(1, 38))  # 37 examples: 10 micro-batches an epoch, the last of 1; 5 steps
    groups = step_groups(lengths, settings, np.random.default_rng(7))
    got = [next(groups) for _ in range(10)]
    assert got == shuffled_steps(37, 4, 2, seed=7, epochs=2)
    assert [len(b) for b in got[4]] == [4, 1]  # an epoch's last step: what is left
    # The lengths play no part, and every epoch holds every example once.
    again = step_groups(lengths[::-1], settings, np.random.default_rng(7))
    assert [next(again) for _ in range(10)] == got
    for epoch in (got[:5], got[5:]):
        assert sorted(i for step in epoch for batch in step for i in batch) == list(range(37))
    other = step_groups(lengths, settings, np.random.default_rng(8))
    assert [next(other) for _ in range(5)] != got[:5]
    # Length grouping, by contrast, sorts each window of micro-batches by length.
    grouped = step_groups(lengths, settings.model_copy(update={"group_by_length": True}), np.random.default_rng(7))
    first = [batch for _ in range(5) for batch in next(grouped)]
    assert all(lengths[b[0]] >= lengths[b[-1]] for b in first) and first != [b for s in got[:5] for b in s]


def tagging_features(n: int) -> list[dict]:
    """``n`` features of varied lengths, example i recognisable by its first token (10 + i)."""
    return [{"input_ids": [10 + i] + [5] * (i % 5), "labels": [0] + [1] * (i % 5)} for i in range(n)]


def test_finetune_feeds_the_seeded_shuffle(xlmr_tokenizer):
    task = get_task("pos")
    model = tiny_model(head="token", vocab_size=200, layers=2)
    seen: list[list[int]] = []
    hook = model.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append((kwargs["input_ids"][:, 0] - 10).tolist()), with_kwargs=True
    )
    settings = TrainingSettings(
        epochs=2, batch_size=8, micro_batch_size=4, group_by_length=False, learning_rate=1e-4, max_grad_norm=None
    )
    try:
        result = finetune(model, xlmr_tokenizer, task, tagging_features(30), settings, seed=3, progress=False)
    finally:
        hook.remove()
    expected = shuffled_steps(30, 4, 2, seed=3, epochs=2)
    assert result.optimizer_steps == len(expected) == 8  # ceil(30 / 8) = 4 steps an epoch
    assert seen == [batch for step in expected for batch in step]


# --------------------------------------------------------------------------- row 3: the schedule


def learning_rates(tokenizer, settings: TrainingSettings, n: int = 100) -> tuple[list[float], object]:
    task = get_task("pos")
    rates: list[float] = []
    result = finetune(
        tiny_model(head="token", vocab_size=200, layers=2),
        tokenizer,
        task,
        tagging_features(n),
        settings,
        seed=0,
        progress=False,
        on_losses=lambda first, losses, lrs: rates.extend(lrs),
    )
    return rates, result


def test_warm_up_counted_in_micro_batches(xlmr_tokenizer):
    # 100 examples, batch 32, micro-batch 4 (8 accumulated), 2 epochs.
    # Micro-batches: ceil(100 / 4) = 25 an epoch, 50 in all; optimiser steps: ceil(25 / 8) = 4 an
    # epoch, 8 in all. Reference schedule: warm-up int(0.1 * 25 * 2) = 5, length 50, stepped once
    # per optimiser step: step s (from 0) runs at s/5 of the rate while s < 5, then (50 - s)/45.
    lr = 1e-3
    settings = TrainingSettings(
        epochs=2, batch_size=32, micro_batch_size=4, learning_rate=lr, schedule_unit="micro_batches"
    )
    settings = resolve_training(settings, "tiny", "pos")
    assert settings.schedule_micro_batch_size == 4  # null: the run's own micro-batch
    assert schedule_lengths(100, settings) == (5, 50)
    rates, result = learning_rates(xlmr_tokenizer, settings)
    assert (result.optimizer_steps, result.warmup_steps) == (8, 5)
    assert rates == pytest.approx([lr * f for f in (0, 1 / 5, 2 / 5, 3 / 5, 4 / 5, 45 / 45, 44 / 45, 43 / 45)])
    # Ours: 8 optimiser steps, warm-up int(0.1 * 8) = 0, down to 0 at step 8: (8 - s)/8.
    ours = resolve_training(settings.model_copy(update={"schedule_unit": "optimizer_steps"}), "tiny", "pos")
    assert ours.schedule_micro_batch_size is None and schedule_lengths(100, ours) == (0, 8)
    rates, _ = learning_rates(xlmr_tokenizer, ours)
    assert rates == pytest.approx([lr * (8 - s) / 8 for s in range(8)])
    # The counted micro-batch can be the reference's while the run computes 32 at a time
    # (no accumulation): the same 8 steps, the same rates as above.
    decoupled = resolve_training(
        settings.model_copy(update={"micro_batch_size": 32, "schedule_micro_batch_size": 4}), "tiny", "pos"
    )
    rates, result = learning_rates(xlmr_tokenizer, decoupled)
    assert result.optimizer_steps == 8
    assert rates == pytest.approx([lr * f for f in (0, 1 / 5, 2 / 5, 3 / 5, 4 / 5, 1, 44 / 45, 43 / 45)])


def test_reference_micro_batches_by_model():
    settings = TrainingSettings(schedule_unit="micro_batches", schedule_micro_batch_size="reference")
    counted = {
        model: resolve_training(settings, model, "pos").schedule_micro_batch_size
        for model in (
            "xlm-roberta-base",
            "FacebookAI/xlm-roberta-base",
            "bert-base-multilingual-cased",
            "distilbert-base-multilingual-cased",
            "e5-small",
        )
    }
    assert counted == {
        "xlm-roberta-base": 2,
        "FacebookAI/xlm-roberta-base": 2,
        "bert-base-multilingual-cased": 4,
        "distilbert-base-multilingual-cased": 8,
        "e5-small": 4,  # batch_sizes.py: 4 for a model it does not list
    }
    # The micro-batch the run computes with stays ours unless asked; 'reference' there too.
    assert resolve_training(settings, "xlm-roberta-base", "pos").micro_batch_size == 32
    assert (
        resolve_training(TrainingSettings(micro_batch_size="reference"), "xlm-roberta-base", "pos").micro_batch_size
        == 2
    )
    assert (
        resolve_training(TrainingSettings(batch_size=2, micro_batch_size="reference"), "x", "pos").micro_batch_size == 2
    )


def test_paper_schedule_of_mbert_pos_by_hand():
    # The released mBERT PoS runs: 1,965 optimiser steps = 5 epochs x 393 (ceil(F / 32) = 393).
    # Take F = 12,560 windows: micro-batches of 4 -> 3,140 an epoch, 15,700 in all; warm-up
    # int(0.1 * 3140 * 5) = 1,570 steps, 80% of the run; the last step (1,964) runs at
    # (15,700 - 1,964) / (15,700 - 1,570) of the peak.
    run = next(
        r
        for r in load_experiment(REPO_ROOT / "configs" / "paper" / "pos.yaml").runs()
        if r.model == "bert-base-multilingual-cased"
    )
    assert (run.training.schedule_unit, run.training.schedule_micro_batch_size) == ("micro_batches", 4)
    assert total_optimizer_steps(12_560, run.training) == 1_965
    assert schedule_lengths(12_560, run.training) == (1_570, 15_700)


# --------------------------------------------------------------------------- row 4: QA epochs


def test_reference_qa_epochs_are_those_of_the_released_runs():
    qa = REPO_ROOT / "configs" / "paper" / "qa.yaml"
    runs = load_experiment(qa).runs()
    assert {run.training.epochs for run in runs} == {2}
    assert {run.training.epochs for run in load_experiment(qa, ["protocol=corrected"]).runs()} == {5}
    assert {run.training.epochs for run in load_experiment(qa, ["training.epochs=5"]).runs()} == {5}
    # Only QA changes: the other tasks keep the paper's epochs under the reference protocol.
    for task, epochs in (("pos", 5), ("ner", 5), ("nli", 2), ("qa", 2)):
        assert resolve_training(TrainingSettings(default_epochs="reference"), "m", task).epochs == epochs
    # The released mBERT XQuAD runs: 18,010 optimiser steps = 2 x ceil(F / 32) for any F in
    # 288,129..288,160 windows; 5 epochs of the same windows would be 45,025.
    mbert = next(r for r in runs if r.model == "bert-base-multilingual-cased")
    assert total_optimizer_steps(288_129, mbert.training) == 18_010 == total_optimizer_steps(288_160, mbert.training)
    corrected = next(r for r in load_experiment(qa, ["protocol=corrected"]).runs() if r.model == mbert.model)
    assert total_optimizer_steps(288_160, corrected.training) == 45_025


# --------------------------------------------------------------------------- row 6: freeze matching


def encoder(layers: int, kind: str = "bert"):
    return tiny_model(kind, vocab_size=100, layers=layers, hidden=16)


@pytest.mark.parametrize(
    ("kind", "layers", "spec", "exact", "prefix"),
    [
        ("bert", 12, "front", list(range(6)), [0, 1, 2, 3, 4, 5, 10, 11]),  # layer.1 matches layer.10, layer.11
        ("bert", 12, "back", list(range(6, 12)), list(range(6, 12))),
        ("distilbert", 6, "front", [0, 1, 2], [0, 1, 2]),  # DistilmBERT: no layer 10
        ("distilbert", 6, "back", [3, 4, 5], [3, 4, 5]),
        ("bert", 24, "front", list(range(12)), list(range(24))),  # layer.1 -> 10-19, layer.2 -> 20-23
        ("bert", 12, "layers:1-2", [1, 2], [1, 2, 10, 11]),
    ],
)
def test_freeze_by_name_prefix_as_the_reference(kind, layers, spec, exact, prefix):
    model = encoder(layers, kind)
    parsed = FreezeSpec.parse(spec)
    assert frozen_layer_indices(model, parsed) == exact
    assert frozen_layer_indices(model, parsed, "name_prefix") == prefix
    # Whole layers only, nothing else (embeddings, pooler) unless the spec says so.
    chosen = {id(p) for p in frozen_parameters(model, parsed, "name_prefix")}
    _, stack = transformer_layers(model)
    expected = {id(p) for i in prefix for p in stack[i].parameters()}
    assert chosen == expected


def test_freeze_matching_keeps_embeddings_and_rejects_unknown_values():
    from alignfreeze.errors import AlignfreezeError

    model = encoder(12)
    spec = FreezeSpec.parse("front+embeddings")
    names = {id(p): n for n, p in model.named_parameters()}
    frozen = {names[id(p)] for p in frozen_parameters(model, spec, "name_prefix")}
    assert any(n.startswith("embeddings.") for n in frozen) and any(n.startswith("encoder.layer.11.") for n in frozen)
    assert not any(n.startswith(("encoder.layer.6.", "pooler.")) for n in frozen)
    with pytest.raises(AlignfreezeError, match="unknown freeze matching"):
        frozen_parameters(model, spec, "prefix")


def test_reference_protocol_matches_freeze_prefixes(toy):
    _, model, tmp = toy
    methods = [{"method": "during", "freeze": "front"}]
    reference = load_experiment(experiment_yaml(tmp / "r.yaml", model, methods, protocol="reference")).runs()[0]
    corrected = load_experiment(experiment_yaml(tmp / "c.yaml", model, methods)).runs()[0]
    assert (reference.realignment.freeze_matching, corrected.realignment.freeze_matching) == ("name_prefix", "exact")
