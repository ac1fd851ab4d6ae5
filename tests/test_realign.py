"""The realignment loop on a tiny model: freezing, determinism, the joint hook, bad input."""

from __future__ import annotations

import json

import pytest
import torch

from alignfreeze.align import AlignedCorpus, AlignedPair
from alignfreeze.errors import AlignfreezeError, DataFormatError
from alignfreeze.models.layers import transformer_layers
from alignfreeze.realign import RealignConfig, RealignmentObjective, realign
from conftest import write
from tiny_models import tiny_model

EN = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["a", "dog", "ran", "home"],
    ["my", "house", "is", "red"],
    ["we", "eat", "bread"],
]
FR = [
    ["le", "chat", "était", "assis", "sur", "le", "tapis"],
    ["un", "chien", "courait"],
    ["ma", "maison", "est", "rouge"],
    ["nous", "mangeons", "du", "pain"],
]
LINKS = [[(1, 1), (5, 6)], [(1, 1), (2, 2)], [(1, 1), (3, 3)], [(1, 1), (2, 3)]]


def corpus(tgt_lang="fr") -> AlignedCorpus:
    pairs = [AlignedPair(i, s, t, links) for i, (s, t, links) in enumerate(zip(EN, FR, LINKS))]
    return AlignedCorpus("en", tgt_lang, pairs * 3, "test", {}, 12)


def config(**kw) -> RealignConfig:
    return RealignConfig(**{"steps": 3, "batch_size": 4, "learning_rate": 1e-3, **kw})


def test_front_freezing_keeps_lower_layers_bit_identical(xlmr_tokenizer):
    model = tiny_model(layers=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = realign(model, xlmr_tokenizer, [corpus()], config(), freeze="front", progress=False)
    after = model.state_dict()
    for k in before:
        if k.startswith(("encoder.layer.0.", "encoder.layer.1.")):
            assert torch.equal(before[k], after[k]), k
    changed = [
        k
        for k in before
        if k.startswith(("encoder.layer.2.", "encoder.layer.3.")) and not torch.equal(before[k], after[k])
    ]
    assert len(changed) >= 10
    assert not torch.equal(before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"])
    assert all(p.requires_grad for p in model.parameters())  # unfrozen afterwards
    assert result.frozen_parameters == sum(
        p.numel() for i in (0, 1) for p in transformer_layers(model)[1][i].parameters()
    )


def test_same_seed_same_run_and_loss_decreases(xlmr_tokenizer):
    runs = [
        realign(tiny_model(seed=0), xlmr_tokenizer, [corpus()], config(steps=15), seed=7, progress=False).losses
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    other = realign(tiny_model(seed=0), xlmr_tokenizer, [corpus()], config(steps=15), seed=8, progress=False).losses
    assert other != runs[0]
    assert sum(runs[0][-3:]) < sum(runs[0][:3])


def test_round_robin_over_language_pairs(xlmr_tokenizer):
    objective = RealignmentObjective(tiny_model(), xlmr_tokenizer, [corpus("fr"), corpus("de")], config(batch_size=2))
    assert [next(objective.batches).language_pair for _ in range(4)] == ["en-fr", "en-de", "en-fr", "en-de"]
    batch = next(objective.batches)
    assert batch.input_ids.shape[0] == 4 and batch.links.shape[1] == 2


@pytest.mark.parametrize(
    "options", [{"mode": "weak"}, {"word_vector": "mean"}, {"layer": "penultimate"}, {"projection": "none"}]
)
def test_variants_run(xlmr_tokenizer, options):
    losses = realign(tiny_model(), xlmr_tokenizer, [corpus()], config(**options), progress=False).losses
    assert len(losses) == 3 and all(loss > 0 for loss in losses)


def gradients_received(model) -> set[str]:
    """The names of the parameters a gradient reaches from now on (filled as backward runs)."""
    received: set[str] = set()
    for name, parameter in model.named_parameters():
        parameter.register_post_accumulate_grad_hook(lambda _, name=name: received.add(name))
    return received


@pytest.mark.parametrize(
    "options, untouched",
    [
        ({"freeze": "front"}, ("encoder.layer.0.", "encoder.layer.1.")),
        ({"freeze": "embeddings"}, ("embeddings.",)),
        ({"layer": "penultimate"}, ("encoder.layer.3.",)),
    ],
)
def test_no_gradient_reaches_frozen_or_unused_parameters(xlmr_tokenizer, options, untouched):
    model = tiny_model(layers=4)
    top = {k: v.clone() for k, v in model.state_dict().items() if k.startswith(untouched)}
    received = gradients_received(model)
    freeze = options.pop("freeze", "none")
    realign(model, xlmr_tokenizer, [corpus()], config(**options), freeze=freeze, progress=False)
    names = {name for name, _ in model.named_parameters()}
    reached = {name for name in received if name.startswith(untouched)}
    assert not reached, f"gradients reached {sorted(reached)}"
    # Everything else trains, so the hooks do see gradients: this test can fail.
    trained = {n for n in names if not n.startswith((*untouched, "pooler."))}
    assert trained <= received, sorted(trained - received)[:5]
    for k, v in top.items():
        assert torch.equal(model.state_dict()[k], v), k


def test_the_gradient_check_sees_gradients_where_nothing_is_frozen(xlmr_tokenizer):
    model = tiny_model(layers=4)
    received = gradients_received(model)
    realign(model, xlmr_tokenizer, [corpus()], config(), progress=False)
    assert any(name.startswith("encoder.layer.0.") for name in received)
    assert any(name.startswith("embeddings.") for name in received)


def test_mean_word_vectors_give_another_loss_than_first_subwords(xlmr_tokenizer):
    """On a batch where linked words have several subwords, the mean of a word's subwords
    is another vector than its first subword, so the loss differs; with one subword per
    word the two would be equal."""

    def batch_loss(word_vector: str) -> tuple[float, object]:
        model = tiny_model(layers=2).eval()  # no dropout: the two losses differ by the word vector only
        objective = RealignmentObjective(model, xlmr_tokenizer, [corpus()], config(word_vector=word_vector), seed=3)
        batch = next(objective.batches)
        with torch.no_grad():
            return objective.loss(model, batch).item(), batch

    first, first_batch = batch_loss("first")
    again, _ = batch_loss("first")
    mean, mean_batch = batch_loss("mean")
    assert first == again
    assert len(first_batch.tgt_token_index) == first_batch.n_tgt_words  # one token per word
    assert len(mean_batch.tgt_token_index) > mean_batch.n_tgt_words  # some French words have several
    assert abs(mean - first) > 1e-4, (mean, first)


def test_length_bucketing_reduces_padding(xlmr_tokenizer):
    import random

    rng = random.Random(0)
    pairs = []
    for index in range(64):
        n = rng.choice([2, 3, 20, 30, 40])
        src, tgt = [EN[0][i % 6] for i in range(n)], [FR[0][i % 7] for i in range(n)]
        pairs.append(AlignedPair(index, src, tgt, [(0, 0), (1, 1)]))
    mixed_lengths = AlignedCorpus("en", "fr", pairs, "test", {}, 64)

    def padding(length_bucketing: bool) -> tuple[int, int]:
        cfg = config(batch_size=8, length_bucketing=length_bucketing)
        objective = RealignmentObjective(tiny_model(), xlmr_tokenizer, [mixed_lengths], cfg)
        batches = [next(objective.batches) for _ in range(8)]  # one pass over the 64 pairs
        pad = sum(int((b.attention_mask == 0).sum()) for b in batches)
        real = sum(int(b.attention_mask.sum()) for b in batches)
        return pad, real

    pad_plain, real_plain = padding(False)
    pad_bucketed, real_bucketed = padding(True)
    assert real_plain == real_bucketed  # the same sentence pairs, batched differently
    assert pad_bucketed < 0.5 * pad_plain, (pad_bucketed, pad_plain)


def test_joint_hook_on_a_task_model(xlmr_tokenizer):
    model = tiny_model(head="token")
    objective = RealignmentObjective(model, xlmr_tokenizer, [corpus()], config())
    loss = objective.loss(model)
    loss.backward()
    assert model.base_model.encoder.layer[0].attention.self.query.weight.grad is not None


def test_nan_loss_stops_and_names_the_step(xlmr_tokenizer):
    model = tiny_model(layers=4)
    with torch.no_grad():
        model.encoder.layer[3].output.dense.weight[0, 0] = float("nan")
    with pytest.raises(AlignfreezeError, match=r"realignment loss is nan at step 1; stopped \(nothing written\)"):
        realign(model, xlmr_tokenizer, [corpus()], config(), progress=False)


def test_empty_and_out_of_range_pairs_files(tmp_path):
    with pytest.raises(DataFormatError, match="file is empty"):
        AlignedCorpus.load(write(tmp_path / "empty.jsonl", ""))
    path = corpus().save(tmp_path / "ok.jsonl")
    lines = path.read_text().splitlines()
    row = json.loads(lines[1])
    row["links"].append([len(row["src"]), 0])
    bad = write(tmp_path / "bad.jsonl", "\n".join([lines[0], json.dumps(row)]) + "\n")
    with pytest.raises(
        DataFormatError,
        match=r"bad\.jsonl:2: sentence pair 0: link 6-0 points past the source sentence's end \(6 words\)",
    ):
        AlignedCorpus.load(bad)
    only_header = write(tmp_path / "header.jsonl", lines[0] + "\n")
    with pytest.raises(DataFormatError, match="no aligned sentence pairs"):
        AlignedCorpus.load(only_header)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="mode"):
        RealignConfig(mode="medium")
    with pytest.raises(ValueError, match="stpes"):
        RealignConfig(stpes=3)
    with pytest.raises(ValueError, match="at least 1"):
        RealignConfig(steps=0)
    with pytest.raises(ValueError, match="positive"):
        RealignConfig(learning_rate=0.0)
    assert RealignConfig(steps="match", learning_rate="match").resolved_learning_rate(3e-5) == 3e-5
    with pytest.raises(AlignfreezeError, match="unknown freeze spec 'middle'"):
        realign(tiny_model(), None, [corpus()], config(), freeze="middle", progress=False)
    with pytest.raises(AlignfreezeError, match="'match' need a fine-tuning run"):
        realign(tiny_model(), None, [corpus()], config(steps="match"), progress=False)
