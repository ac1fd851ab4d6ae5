"""Weighted language sampling: UCB and the decoupled meta weights on values worked out by
hand, and the weighting wired into realignment (batches drawn by weight, losses reported
back, the weights logged)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from alignfreeze.errors import AlignfreezeError
from alignfreeze.realign import RealignConfig, RealignmentObjective, realign
from alignfreeze.realign.weighting import MetaWeights, UCBWeights, softmax
from test_realign import corpus
from tiny_models import tiny_model

PAIRS = ["en-fr", "en-de"]


def test_ucb_choice_on_a_hand_made_reward_sequence():
    ucb = UCBWeights(PAIRS, exploration=1.0, every=1)
    # nothing pulled: both score 1 + 10, uniform
    assert ucb.probabilities().tolist() == [0.5, 0.5]
    ucb.observe(0, 2.0)  # t=1: fr mean 2, bonus sqrt(ln 1 / 1) = 0 -> 2; de never pulled -> 2 + 10
    assert ucb.scores().tolist() == [2.0, 12.0]
    assert ucb.probabilities() == pytest.approx(softmax(np.array([2.0, 12.0])))
    assert int(np.argmax(ucb.probabilities())) == 1  # explore de
    ucb.observe(1, 1.0)  # t=2: bonus sqrt(ln 2) = 0.8326 for both: fr 2.8326, de 1.8326
    assert ucb.scores() == pytest.approx([2 + math.sqrt(math.log(2)), 1 + math.sqrt(math.log(2))])
    assert int(np.argmax(ucb.probabilities())) == 0  # fr has the higher loss
    ucb.observe(0, 0.5)  # t=3: fr mean 1.25 + sqrt(ln 3 / 2) = 1.9911; de 1 + sqrt(ln 3) = 2.0481
    assert ucb.scores() == pytest.approx([1.25 + math.sqrt(math.log(3) / 2), 1 + math.sqrt(math.log(3))])
    assert int(np.argmax(ucb.probabilities())) == 1  # de: less pulled, its bonus wins
    assert [r["pulls"] for r in ucb.log][-1] == {"en-fr": 2, "en-de": 1}


def test_ucb_updates_every_k_batches_and_scales_exploration():
    ucb = UCBWeights(PAIRS, exploration=0.0, every=2)
    ucb.observe(0, 3.0)
    assert ucb.probabilities().tolist() == [0.5, 0.5]  # not updated before 2 batches
    ucb.observe(1, 1.0)
    # c = 0: scores are the mean rewards 3 and 1
    assert ucb.probabilities() == pytest.approx(
        [math.exp(3) / (math.exp(3) + math.exp(1)), math.exp(1) / (math.exp(3) + math.exp(1))]
    )
    assert len(ucb.log) == 1 and ucb.log[0]["batch"] == 2


def test_meta_weight_update_by_hand():
    meta = MetaWeights(PAIRS, learning_rate=1e-2, every=2)
    # w = (1, 1): p = (1/2, 1/2). Group: fr loss 2, de loss 1. meta = (p0*2 + p1*1) / (p0 + p1) = 1.5
    # d meta / d p_j = (L_j - meta) / (p0 + p1) = (0.5, -0.5); softmax Jacobian diag(p) - p p^T =
    # [[.25, -.25], [-.25, .25]] -> d meta / d w = (0.25, -0.25). Adam's first step is lr * sign:
    # ascent moves w to (1.01, 0.99).
    assert meta.meta_step([(0, 2.0), (1, 1.0)]) == pytest.approx(1.5)
    assert meta.logits.grad.tolist() == pytest.approx([-0.25, 0.25])  # of -meta: gradient ascent
    assert meta.logits.detach().tolist() == pytest.approx([1.01, 0.99], abs=1e-6)


def test_meta_phase_one_learns_towards_the_harder_pair_and_closed_form_is_mean_loss():
    losses = {0: 2.0, 1: 1.0}  # fr is always harder
    meta = MetaWeights(PAIRS, learning_rate=0.1, every=4, seed=0)
    meta.learn(lambda k: k, lambda k: torch.tensor(losses[k]), batches=40)
    p = meta.probabilities()
    assert p[0] > 0.5 > p[1]
    assert len(meta.log) == 10 and meta.log[0]["batch"] == 4
    closed = MetaWeights(PAIRS, every=4, closed=True)
    closed.learn(lambda k: k, lambda k: torch.tensor(losses[k]), batches=6)
    assert closed.logits.tolist() == [2.0, 1.0]  # w := mean loss of each pair
    assert closed.probabilities() == pytest.approx(softmax(np.array([2.0, 1.0])))


def test_meta_weights_must_be_learned_first():
    with pytest.raises(AlignfreezeError, match="method before"):
        MetaWeights(PAIRS).probabilities()


def test_weighted_realignment_draws_by_weight_and_logs(xlmr_tokenizer):
    cfg = RealignConfig(steps=6, batch_size=2, learning_rate=1e-3, language_weighting="ucb", weighting_every=2)
    result = realign(tiny_model(), xlmr_tokenizer, [corpus("fr"), corpus("de")], cfg, progress=False)
    assert len(result.language_weights) == 3  # 6 batches, updated every 2
    last = result.language_weights[-1]
    assert sum(last["pulls"].values()) == 6 and set(last["probabilities"]) == {"en-fr", "en-de"}
    assert last["probabilities"]["en-fr"] + last["probabilities"]["en-de"] == pytest.approx(1.0)

    meta = RealignConfig(steps=4, batch_size=2, learning_rate=1e-3, language_weighting="meta", weighting_every=2)
    result = realign(tiny_model(), xlmr_tokenizer, [corpus("fr"), corpus("de")], meta, progress=False)
    assert [r["batch"] for r in result.language_weights] == [2, 4]  # phase 1: 4 batches, a meta step every 2
    # phase 1 and phase 2 both drew: 4 + 4 batches of 2 pairs
    assert result.drawn["drawn"] == 16


def test_uniform_keeps_the_turns_and_mixed_batching_is_refused(xlmr_tokenizer):
    objective = RealignmentObjective(
        tiny_model(), xlmr_tokenizer, [corpus("fr"), corpus("de")], RealignConfig(batch_size=2)
    )
    assert objective.batches.weighting is None
    assert [next(objective.batches).language_pair for _ in range(3)] == ["en-fr", "en-de", "en-fr"]
    with pytest.raises(AlignfreezeError, match="by_pair"):
        RealignmentObjective(
            tiny_model(),
            xlmr_tokenizer,
            [corpus("fr")],
            RealignConfig(batching="mixed", language_weighting="ucb"),
        )


def test_new_fields_keep_run_ids():
    from alignfreeze.schema import identity_values

    default = RealignConfig()
    assert identity_values(default, default.model_dump(mode="json")) == identity_values(
        RealignConfig(), RealignConfig().model_dump(mode="json")
    )
    assert "language_weighting" not in identity_values(default, default.model_dump(mode="json"))
    ucb = RealignConfig(language_weighting="ucb")
    assert identity_values(ucb, ucb.model_dump(mode="json"))["language_weighting"] == "ucb"


def test_weights_go_to_the_run_folder_the_tracker_and_the_report(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from alignfreeze.experiments.full_report import language_weight_figures
    from alignfreeze.experiments.results import read_language_weights, write_language_weights
    from alignfreeze.experiments.tracking import RunTracker

    ucb = UCBWeights(PAIRS, every=1)
    for index, loss in [(0, 2.0), (1, 1.0), (0, 0.5)]:
        ucb.observe(index, loss)
    write_language_weights(tmp_path / "runs" / "abc", ucb.log)
    weights = read_language_weights([tmp_path])
    assert weights == {"abc": ucb.log}
    assert language_weight_figures(weights)["language_weights_abc"][:4] == b"\x89PNG"

    tracker = RunTracker("tensorboard", "abc", tmp_path)
    tracker.log_language_weights(ucb.log)
    tracker.finish()
    events = EventAccumulator(str(tmp_path / "tracking" / "abc"), size_guidance={"scalars": 0})
    events.Reload()
    curve = [(e.step, e.value) for e in events.Scalars("language_weights/en-de")]
    assert curve == [(r["batch"], pytest.approx(r["probabilities"]["en-de"])) for r in ucb.log]


def test_experiment_refuses_weightings_that_cannot_run(tmp_path):
    import alignfreeze as af
    from test_language_selection import EXPERIMENT

    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT + "realignment_languages: [fr, de]\n")
    runs = af.load_experiment(path, ["realignment.language_weighting=ucb"]).runs()
    assert runs[0].realignment.language_weighting == "ucb"
    with pytest.raises(AlignfreezeError, match="needs realignment.batching by_pair"):
        af.load_experiment(path, ["realignment.language_weighting=ucb", "realignment.batching=mixed"])
    with pytest.raises(AlignfreezeError, match="method before only"):
        af.load_experiment(path, ["realignment.language_weighting=meta", "methods=[{method: during}]"])
