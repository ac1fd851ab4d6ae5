"""Realignment objectives (``realignment.objective``), ``realignment.layers`` and
``realignment.budget``: each loss on a two-pair example computed by hand, the L2
regulariser, gradients of a layer list, and the default objective bit-identical to the loss
before objectives existed."""

from __future__ import annotations

import math

import pytest
import torch

from alignfreeze.align.sources import SentencePairFile
from alignfreeze.data.parallel import ParallelFile
from alignfreeze.errors import AlignfreezeError
from alignfreeze.realign import RealignConfig, RealignmentObjective, realign
from alignfreeze.realign.batches import PairBatch
from alignfreeze.realign.config import resolve_layers
from alignfreeze.realign.loss import ContrastiveAlignmentLoss
from alignfreeze.realign.objectives import OBJECTIVES, objective_class
from alignfreeze.realign.objectives.base import pool_word_vectors
from alignfreeze.realign.objectives.contrastive_sentence import mean_pool, pooling_mask, sentence_info_nce
from alignfreeze.realign.projection import projection_head
from test_realign import corpus
from tiny_models import tiny_model

# Two pairs of 2-d vectors with known cosines: s0 = (1, 0), s1 = (0, 1), t0 = (1, 1), t1 = (0, 2).
# cos(s0, t0) = cos(s1, t0) = cos(t0, t1) = 1/sqrt(2) =: A; cos(s1, t1) = 1; cos(s0, s1) = cos(s0, t1) = 0.
S = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
T = torch.tensor([[1.0, 1.0], [0.0, 2.0]])
LINKS = torch.tensor([[0, 0], [1, 1]])
A = 1 / math.sqrt(2)


def by_hand_info_nce(tau: float) -> float:
    """The strong InfoNCE of the two pairs: four queries, each against the three others."""
    e = lambda cos: math.exp(cos / tau)  # noqa: E731
    s0 = -math.log(e(A) / (e(0) + e(A) + e(0)))  # candidates s1, t0 (positive), t1
    s1 = -math.log(e(1) / (e(0) + e(A) + e(1)))  # s0, t0, t1 (positive)
    t0 = -math.log(e(A) / (e(A) + e(A) + e(A)))  # s0 (positive), s1, t1: log 3
    t1 = -math.log(e(1) / (e(0) + e(1) + e(A)))  # s0, s1 (positive), t0
    return (s0 + s1 + t0 + t1) / 4


def build(name: str, layers=(12,), pairs=("en-fr",), **settings):
    config = RealignConfig(objective=name, projection="none", **settings)
    return objective_class(name)(config, 2, list(layers), list(pairs))


def test_the_registry_names_the_four_objectives():
    assert list(OBJECTIVES) == ["contrastive_word", "contrastive_sentence", "l2", "linear_map"]
    assert [objective_class(n).needs_links for n in OBJECTIVES] == [True, False, True, True]
    with pytest.raises(AlignfreezeError, match="unknown realignment objective 'cosine'"):
        objective_class("cosine")


def test_contrastive_word_on_two_pairs():
    loss = build("contrastive_word", temperature=0.5).pair_loss(12, S, T, LINKS)
    assert loss.item() == pytest.approx(by_hand_info_nce(0.5), rel=1e-6)


def test_contrastive_sentence_on_two_pairs():
    loss = build("contrastive_sentence", temperature=0.5).pair_loss(12, S, T)
    assert loss.item() == pytest.approx(by_hand_info_nce(0.5), rel=1e-6)
    # weak: a source query sees the targets only, a target query the sources only
    weak = sentence_info_nce(S, T, 1.0, "weak").item()
    e = math.exp
    by_hand = (
        -math.log(e(A) / (e(A) + e(0)))  # s0: t0 (positive), t1
        - math.log(e(1) / (e(A) + e(1)))  # s1: t0, t1 (positive)
        - math.log(e(A) / (e(A) + e(A)))  # t0: s0 (positive), s1
        - math.log(e(1) / (e(0) + e(1)))  # t1: s0, s1 (positive)
    ) / 4
    assert weak == pytest.approx(by_hand, rel=1e-6)


def test_sentence_pooling_mask_and_reference_prefix():
    # One pair (rows: source, target) of 4 positions; the source has 3 real tokens and 2 words.
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 0.0], [5.0, 6.0], [9.0, 9.0]]] * 2)
    batch = PairBatch(
        input_ids=torch.zeros(2, 4, dtype=torch.long),
        attention_mask=torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]),
        src_token_index=torch.tensor([]),
        src_token_word=torch.tensor([]),
        n_src_words=0,
        tgt_token_index=torch.tensor([]),
        tgt_token_word=torch.tensor([]),
        n_tgt_words=0,
        links=torch.zeros(0, 2, dtype=torch.long),
        language_pair="en-fr",
        row_words=torch.tensor([2, 1]),
    )
    masked = mean_pool(hidden, pooling_mask(batch, "mask"))
    assert masked.tolist() == [[3.0, 2.0], [4.5, 3.75]]  # (1+3+5)/3, (0+0+6)/3; all four
    prefix = mean_pool(hidden, pooling_mask(batch, "reference_prefix"))
    assert prefix.tolist() == [[2.0, 0.0], [1.0, 0.0]]  # positions [0, 2) and [0, 1)


def test_l2_and_its_regulariser_by_hand():
    l2 = build("l2", regularization_weight=0.5)
    # (s0 - t0) = (0, -1), (s1 - t1) = (0, -1): squares 0 + 1 + 0 + 1 over 4 values
    assert l2.pair_loss(S, T, LINKS).item() == pytest.approx(0.5)
    # Rows: one source, one target; 3 positions, the source's third is padding.
    current = torch.zeros(2, 3, 2)
    initial = torch.zeros(2, 3, 2)
    current[0, 0], current[0, 1], current[0, 2] = torch.tensor([1.0, 1.0]), torch.tensor([0.0, 2.0]), 5.0
    current[1] = 7.0  # the target row: never regularised
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    # source real tokens: squares 1 + 1 + 0 + 4 = 6 over 2 positions x 2 dims
    assert l2.regularizer(current, initial, mask).item() == pytest.approx(1.5)


def test_linear_map_is_the_identity_at_first_and_maps_the_target_side():
    mapped = build("linear_map", pairs=("en-fr", "en-de"))
    assert sorted(mapped.maps) == ["L12_en_de", "L12_en_fr"]
    assert mapped.pair_loss(12, "en-fr", S, T, LINKS).item() == pytest.approx(0.5)  # the plain MSE
    with torch.no_grad():
        mapped.maps["L12_en_fr"].copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))  # swaps the coordinates
    # t0 -> (1, 1), t1 -> (2, 0); s0 - t0' = (0, -1), s1 - t1' = (-2, 1): (0 + 1 + 4 + 1) / 4
    assert mapped.pair_loss(12, "en-fr", S, T, LINKS).item() == pytest.approx(1.5)
    assert mapped.pair_loss(12, "en-de", S, T, LINKS).item() == pytest.approx(0.5)  # its own map
    contrastive = build("linear_map", linear_map_loss="contrastive", temperature=0.5)
    assert contrastive.pair_loss(12, "en-fr", S, T, LINKS).item() == pytest.approx(by_hand_info_nce(0.5), rel=1e-6)
    with pytest.raises(AlignfreezeError, match="batching: by_pair"):
        build("linear_map", batching="mixed")


def test_layers_names_indices_and_errors():
    assert [resolve_layers(RealignConfig(layers=n), 12) for n in ("top", "penultimate", "middle")] == [[12], [11], [6]]
    assert resolve_layers(RealignConfig(layers="all"), 4) == [1, 2, 3, 4]
    assert resolve_layers(RealignConfig(layer="penultimate"), 12) == [11]  # layer still works
    assert RealignConfig(layers="4,8").layers == [4, 8] and RealignConfig(layers=6).layers == [6]
    with pytest.raises(ValueError, match="the model has 4 layers"):
        resolve_layers(RealignConfig(layers=[5]), 4)
    with pytest.raises(ValueError, match="give layer or layers"):
        RealignConfig(layer="penultimate", layers=[3])
    with pytest.raises(ValueError, match="0 \\(the embeddings\\) or more"):
        RealignConfig(layers=[-1])


def test_budget_sets_the_steps_and_excludes_them():
    config = RealignConfig(budget=100, batch_size=16)
    assert config.steps == 7  # ceil(100 / 16)
    assert RealignConfig(**config.model_dump()) == config  # a dumped config reads back
    with pytest.raises(ValueError, match="give steps or budget"):
        RealignConfig(budget=100, steps=50)
    with pytest.raises(ValueError, match="give steps or budget"):
        RealignConfig(budget=100, steps="match")


def _grads(xlmr_tokenizer, layers):
    model = tiny_model(layers=4)
    objective = RealignmentObjective(model, xlmr_tokenizer, [corpus()], RealignConfig(layers=layers, batch_size=4))
    objective.loss(model).backward()
    return model, objective


def test_gradients_reach_the_listed_layers_and_below_only(xlmr_tokenizer):
    model, objective = _grads(xlmr_tokenizer, [2])  # the output of transformer layer 2 (of 4)
    assert sorted(objective.head.heads) == ["2"]  # no head for the other layers
    got = {i: any(p.grad is not None for p in model.encoder.layer[i].parameters()) for i in range(4)}
    assert got == {0: True, 1: True, 2: False, 3: False}
    assert model.embeddings.word_embeddings.weight.grad is not None
    model, objective = _grads(xlmr_tokenizer, [1, 3])
    assert sorted(objective.head.heads) == ["1", "3"]
    assert objective.head.heads["1"] is not objective.head.heads["3"]  # independent heads
    assert [any(p.grad is not None for p in model.encoder.layer[i].parameters()) for i in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert all(p.grad is not None for head in objective.head.heads.values() for p in head.parameters())


def test_a_shared_head_is_one_module():
    objective = RealignmentObjective.from_encoded(
        tiny_model(layers=4), {"en-fr": []}, 1, RealignConfig(layers=[1, 3], projection_sharing="shared")
    )
    assert objective.head.heads["1"] is objective.head.heads["3"]


@pytest.mark.parametrize("layer", ["top", "penultimate"])
def test_the_default_objective_is_bit_identical_to_the_loss_before_objectives(xlmr_tokenizer, layer):
    """The code path of the loss before objectives existed, written out here: its loss and
    gradients on one batch equal the default objective's exactly."""
    config = RealignConfig(layer=layer, batch_size=4)
    model = tiny_model(layers=3).eval()  # no dropout: both passes see the same network
    objective = RealignmentObjective(model, xlmr_tokenizer, [corpus()], config, seed=5)
    batch = next(objective.batches)
    new = objective.loss(model, batch)
    new.backward()
    new_grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad(set_to_none=True)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        head = projection_head(config.projection, model.config.hidden_size, config.projection_dim)
    penultimate = layer == "penultimate"
    out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=penultimate)
    hidden = out.hidden_states[-2] if penultimate else out.last_hidden_state
    src = pool_word_vectors(hidden, batch.src_token_index, batch.src_token_word, batch.n_src_words)
    tgt = pool_word_vectors(hidden, batch.tgt_token_index, batch.tgt_token_word, batch.n_tgt_words)
    old = ContrastiveAlignmentLoss(config.temperature, config.mode)(head(src), head(tgt), batch.links)
    old.backward()
    old_grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert torch.equal(new, old)
    assert len(new_grads) == len(old_grads) and all(torch.equal(a, b) for a, b in zip(new_grads, old_grads))
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            objective.head.heads[str(objective.layers[0])].state_dict().values(), head.state_dict().values()
        )
    )


def test_contrastive_sentence_realigns_raw_sentence_pairs(xlmr_tokenizer, tmp_path):
    (tmp_path / "p.en").write_text("the cat sat\na dog ran home\nmy house is red\nwe eat bread\n\n")
    (tmp_path / "p.fr").write_text("le chat assis\nun chien courait\nma maison est rouge\nnous mangeons\nseul\n")
    source = SentencePairFile(ParallelFile(tmp_path / "p.en", tmp_path / "p.fr"), "en", "fr")
    pairs = source.aligned(range(5))
    assert [p.index for p in pairs] == [0, 1, 2, 3] and all(p.links == [] for p in pairs)  # line 4 is empty
    config = RealignConfig(objective="contrastive_sentence", budget=6, batch_size=2, learning_rate=1e-3)
    result = realign(tiny_model(layers=2), xlmr_tokenizer, [source], config, progress=False)
    assert len(result.losses) == 3 and all(math.isfinite(x) for x in result.losses)
    assert result.drawn["drawn"] == 6
    with pytest.raises(AlignfreezeError, match="learns from word links"):
        realign(tiny_model(layers=2), xlmr_tokenizer, [source], RealignConfig(steps=1), progress=False)


def test_l2_starts_at_the_plain_mse_and_regularises_towards_the_initial_model(xlmr_tokenizer):
    from alignfreeze.realign.objectives.base import word_vectors

    model = tiny_model(layers=2).eval()
    objective = RealignmentObjective(model, xlmr_tokenizer, [corpus()], RealignConfig(objective="l2", batch_size=4))
    assert list(objective.head.parameters()) == []  # no head; the frozen copy is not the objective's
    batch = next(objective.batches)

    def plain_mse():
        hidden = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        return objective.head.pair_loss(*word_vectors(hidden, batch), batch.links)

    assert torch.equal(objective.loss(model, batch), plain_mse())  # current == initial: no regulariser yet
    initial = {k: v.clone() for k, v in objective._initial[0].state_dict().items()}
    objective.loss(model, batch).backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:  # the pooler has none
                p -= 0.5 * p.grad
    assert all(torch.equal(v, objective._initial[0].state_dict()[k]) for k, v in initial.items())
    assert objective.loss(model, batch).item() > plain_mse().item()  # the model moved: the regulariser counts


RUN = {
    "model": "e5-small",
    "task": "pos",
    "method": "before",
    "train": {"language": "en"},
    "eval": [{"language": "fr"}],
    "realignment_pairs": [{"pair": "en-fr"}],
}


def test_a_run_without_an_aligner_takes_an_objective_that_needs_no_links():
    from pydantic import ValidationError

    from alignfreeze.experiments.config import RunConfig

    sentence = {"objective": "contrastive_sentence"}
    run = RunConfig(**RUN, aligner=None, realignment=sentence)
    assert run.aligner_name == "none" and run.label == "before/none/none"
    with pytest.raises(ValidationError, match="objective contrastive_word needs an aligner"):
        RunConfig(**RUN, aligner=None)
    with pytest.raises(ValidationError, match="uses no word links: give aligner: none"):
        RunConfig(**RUN, aligner="dictionary", realignment=sentence)
    with pytest.raises(ValidationError, match="unknown realignment objective 'cosine'"):
        RunConfig(**RUN, aligner="dictionary", realignment={"objective": "cosine"})


def test_a_budget_is_the_runs_realignment_steps_and_new_settings_keep_run_ids():
    from alignfreeze.experiments.config import RunConfig

    run = RunConfig(**RUN, aligner="dictionary", realignment={"budget": 1000, "batch_size": 16})
    assert run.resolved().realignment_steps(None) == 63  # ceil(1000 / 16)
    during = RunConfig(**{**RUN, "method": "during"}, aligner="dictionary", realignment={"budget": 1000})
    assert during.resolved().realignment.steps == "match"  # one batch per fine-tuning step
    plain = RunConfig(**RUN, aligner="dictionary")
    at_defaults = {
        "objective": "contrastive_word",
        "layers": None,
        "projection_sharing": "per_layer",
        "budget": None,
        "sentence_pooling": "mask",
        "regularization_weight": 1.0,
        "linear_map_loss": "mse",
    }
    assert RunConfig(**RUN, aligner="dictionary", realignment=at_defaults).run_id == plain.run_id
    assert RunConfig(**RUN, aligner="dictionary", realignment={"layers": [3]}).run_id != plain.run_id


def test_an_aligner_free_run_realigns_unaligned_pairs_at_the_listed_layers(toy):
    import csv

    from alignfreeze.experiments import load_experiment, run_experiment
    from alignfreeze.experiments.planning import check_freeze_specs
    from fixtures_tasks import experiment_yaml

    root, model, tmp = toy
    realignment = {"objective": "contrastive_sentence", "budget": 8, "batch_size": 4, "layers": [1, 2]}
    cfg = experiment_yaml(tmp / "x.yaml", model, [{"method": "before"}], aligner="none", realignment=realignment)
    experiment = load_experiment(cfg)
    assert experiment.runs()[0].realignment_steps(None) == 2
    (outcome,) = run_experiment(experiment, tmp / "out", data_dir=root, progress=False)
    with open(tmp / "out" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["aligner"] for r in rows} == {"none"}
    drawn = {r["metric"]: float(r["value"]) for r in rows if r["stage"] == "run"}
    assert drawn["realignment_pairs_drawn"] == 8
    log = (tmp / "out" / "runs" / outcome.run.run_id / "log.txt").read_text()
    assert "realigned 2 steps" in log and "not aligned" in log
    too_high = load_experiment(cfg, ["realignment.layers=[3]"]).runs()
    with pytest.raises(AlignfreezeError, match="the model has 2 layers"):
        check_freeze_specs(too_high)  # grid --dry-run checks the layers against the model's config


def test_the_reference_protocol_leaves_a_budget_and_layers_alone(toy):
    from alignfreeze.experiments import load_experiment
    from fixtures_tasks import experiment_yaml

    root, model, tmp = toy
    realignment = {"budget": 64, "batch_size": 16, "layers": "middle"}
    cfg = experiment_yaml(tmp / "x.yaml", model, [{"method": "before"}], protocol="reference", realignment=realignment)
    (run,) = load_experiment(cfg).runs()
    assert run.realignment.steps == 4 and run.realignment.layers == "middle"
    assert run.realignment.batching == "mixed"  # the protocol's other values still apply
