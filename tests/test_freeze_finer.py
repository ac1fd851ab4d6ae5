"""Finer freezing: sub-module specs (``/attention``, ``/ffn``), gradual unfreezing during
realignment, and a freeze held through fine-tuning (``freeze_scope``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.config import MethodSpec, RunConfig
from alignfreeze.models.layers import transformer_layers
from alignfreeze.optim import make_optimizer
from alignfreeze.realign import FreezeSchedule, FreezeSpec, frozen, frozen_parameters, gradual_unfreezing, realign
from alignfreeze.schema import method_label
from tiny_models import tiny_model

BERT_ATTENTION = {
    f"attention.{name}.{kind}"
    for name in ("self.query", "self.key", "self.value", "output.dense", "output.LayerNorm")
    for kind in ("weight", "bias")
}
BERT_FFN = {f"{name}.{kind}" for name in ("intermediate.dense", "output.dense") for kind in ("weight", "bias")}
DISTILBERT_ATTENTION = {
    f"attention.{name}.{kind}" for name in ("q_lin", "k_lin", "v_lin", "out_lin") for kind in ("weight", "bias")
}
DISTILBERT_FFN = {f"ffn.{name}.{kind}" for name in ("lin1", "lin2") for kind in ("weight", "bias")}
BLOCKS = {
    "bert": (BERT_ATTENTION, BERT_FFN),
    "xlm-roberta": (BERT_ATTENTION, BERT_FFN),
    "deberta-v2": (
        {
            n.replace("query", "query_proj").replace("key", "key_proj").replace("value", "value_proj")
            for n in BERT_ATTENTION
        },
        BERT_FFN,
    ),
    "distilbert": (DISTILBERT_ATTENTION, DISTILBERT_FFN),
}


def _loss(model) -> torch.Tensor:
    """A loss every parameter reaches (a plain sum of LayerNorm outputs is constant)."""
    hidden = model(input_ids=torch.tensor([[5, 6, 7, 8]])).last_hidden_state
    return (hidden * torch.linspace(-1, 1, hidden.numel()).reshape(hidden.shape)).sum()


def frozen_names(model, spec: str) -> dict[int, set[str]]:
    """Layer -> the names (inside the layer) of the parameters ``spec`` freezes."""
    name, layers = transformer_layers(model)
    chosen = {id(p) for p in frozen_parameters(model, FreezeSpec.parse(spec))}
    out = {i: {n for n, p in layer.named_parameters() if id(p) in chosen} for i, layer in enumerate(layers)}
    return {i: names for i, names in out.items() if names}


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_sub_module_specs_freeze_the_attention_or_the_feed_forward_alone(kind):
    model = tiny_model(kind, vocab_size=100, layers=4)
    attention, ffn = BLOCKS[kind]
    assert frozen_names(model, "layers:0-1/attention") == {0: attention, 1: attention}
    assert frozen_names(model, "back/ffn") == {2: ffn, 3: ffn}
    # the reference's freeze_ffn leaves the output LayerNorm trainable
    assert not any("LayerNorm" in n or "layer_norm" in n for n in ffn)
    assert frozen_names(model, "front/attention+layers:1/ffn+layers:3") == {
        0: attention,
        1: attention | ffn,
        3: {n for n, _ in transformer_layers(model)[1][3].named_parameters()},
    }


@pytest.mark.parametrize("kind", ["bert", "xlm-roberta", "distilbert"])
def test_attention_only_freezing_leaves_the_feed_forward_trainable(kind):
    model = tiny_model(kind, vocab_size=100, layers=4)
    attention, ffn = BLOCKS[kind]
    with frozen(model, "layers:0-3/attention"):
        _loss(model).backward()
        for layer in transformer_layers(model)[1]:
            grads = {n: p.grad for n, p in layer.named_parameters()}
            assert all(grads[n] is None for n in attention)
            assert all(grads[n] is not None and grads[n].abs().sum() > 0 for n in ffn)
    assert all(p.requires_grad for p in model.parameters())


def test_sub_module_specs_parse_once_and_name_what_is_wrong():
    spec = FreezeSpec.parse("layers:0-1/attention+back/ffn")
    assert spec.frozen_blocks(4) == {
        0: {"attention"},
        1: {"attention"},
        2: {"ffn"},
        3: {"ffn"},
    }
    assert spec.frozen_layers(4) == [0, 1, 2, 3]
    assert FreezeSpec.parse("front/ffn+front").frozen_blocks(4) == {0: {"layer"}, 1: {"layer"}}
    for bad in ("front/mlp", "embeddings/attention", "none/ffn"):
        with pytest.raises(AlignfreezeError, match="a sub-module is attention or ffn") as info:
            FreezeSpec.parse(bad)
        assert "\n" not in str(info.value)
    with pytest.raises(AlignfreezeError, match="outside the model's layers"):
        FreezeSpec.parse("layers:2-9/ffn").check_fits(4, "m")


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.mix = nn.Linear(2, 2)


class _Odd(nn.Module):
    """A model of no known layout: its layers have neither ``attention`` nor a feed-forward."""

    def __init__(self):
        super().__init__()
        self.config = type("Config", (), {"num_hidden_layers": 2})()
        self.blocks = nn.ModuleList([_Block(), _Block()])


def test_an_unknown_architecture_is_one_line_naming_the_model():
    with pytest.raises(AlignfreezeError, match="_Odd") as info:
        frozen_parameters(_Odd(), FreezeSpec.parse("front/attention"))
    assert "\n" not in str(info.value)
    assert len(frozen_parameters(_Odd(), FreezeSpec.parse("front"))) == 2  # whole layers need no layout


# Hand-written: a 4-layer model with all four layers frozen, one released every 2 steps.
BOTTOM_UP = {1: [0, 1, 2, 3], 2: [0, 1, 2, 3], 3: [1, 2, 3], 4: [1, 2, 3], 5: [2, 3], 6: [2, 3], 7: [3], 8: [3], 9: []}
TOP_DOWN = {1: [0, 1, 2, 3], 2: [0, 1, 2, 3], 3: [0, 1, 2], 4: [0, 1, 2], 5: [0, 1], 6: [0, 1], 7: [0], 8: [0], 9: []}


@pytest.mark.parametrize("order, expected", [("bottom_up", BOTTOM_UP), ("top_down", TOP_DOWN)])
def test_the_schedule_releases_one_layer_every_k_steps(order, expected):
    schedule = FreezeSchedule(unfreeze=order, every=2)
    assert {step: schedule.frozen_layers([0, 1, 2, 3], step) for step in expected} == expected
    assert schedule.frozen_layers([0, 1, 2, 3], 50) == []
    # the start is the freeze spec's layers: `back` of 4 layers is 2 and 3
    first, second = (2, 3) if order == "bottom_up" else (3, 2)
    assert [schedule.frozen_layers([2, 3], s) for s in (1, 3, 5)] == [[2, 3], [second], []]
    assert first != second


def test_a_schedule_reads_as_text_or_mapping_and_names_a_bad_one():
    assert FreezeSchedule.model_validate("top_down:25") == FreezeSchedule(unfreeze="top_down", every=25)
    assert str(FreezeSchedule(unfreeze="bottom_up", every=3)) == "bottom_up:3"
    with pytest.raises(ValueError, match="ORDER:K"):
        FreezeSchedule.model_validate("sideways:3")
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        FreezeSchedule.model_validate({"unfreeze": "bottom_up", "every": 0})


# The layers an AdamW step (weight decay 0.1) moves at steps 1-6 of layers:0-3 with every=2.
MOVED = {
    "bottom_up": {1: [], 2: [], 3: [0], 4: [0], 5: [0, 1], 6: [0, 1]},
    "top_down": {1: [], 2: [], 3: [3], 4: [3], 5: [2, 3], 6: [2, 3]},
}


@pytest.mark.parametrize("order", list(MOVED))
def test_adamw_with_weight_decay_leaves_every_frozen_layer_alone_until_its_turn(order):
    model = tiny_model("bert", vocab_size=100, layers=4)
    _, layers = transformer_layers(model)
    spec = FreezeSpec.parse("layers:0-3")
    schedule = FreezeSchedule(unfreeze=order, every=2)
    with frozen(model, spec), gradual_unfreezing(model, spec, schedule) as unfreezing:
        optimizer = make_optimizer([p for p in model.parameters() if p.requires_grad], 1e-2, 0.1, "adamw")
        held = {id(p) for group in optimizer.param_groups for p in group["params"]}
        assert all(id(p) in held for layer in layers for p in layer.parameters())  # in from the start
        changed_at = {}
        for step in range(1, 7):
            unfreezing.apply(step)
            before = [torch.cat([p.detach().flatten().clone() for p in layer.parameters()]) for layer in layers]
            _loss(model).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            now = [torch.cat([p.detach().flatten() for p in layer.parameters()]) for layer in layers]
            changed_at[step] = [i for i in range(4) if not torch.equal(before[i], now[i])]
    assert changed_at == MOVED[order]
    assert all(p.requires_grad for p in model.parameters())  # flags restored


def test_realign_runs_the_schedule(xlmr_tokenizer):
    from test_realign import config, corpus

    model = tiny_model(layers=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    realign(
        model, xlmr_tokenizer, [corpus()], config(steps=3), freeze="back", freeze_schedule="top_down:2", progress=False
    )
    after = model.state_dict()
    changed = {
        i
        for i in range(4)
        for k in before
        if k.startswith(f"encoder.layer.{i}.") and not torch.equal(before[k], after[k])
    }
    # back = layers 2, 3; top_down releases 3 at step 3; layer 2 stays frozen
    assert changed == {0, 1, 3}
    assert all(p.requires_grad for p in model.parameters())


def _run(**method) -> RunConfig:
    base = dict(
        model="org/model",
        task="pos",
        train=[{"language": "en"}],
        eval=[{"language": "fr"}],
        aligner="dictionary",
        realignment_pairs=[{"pair": "en-fr"}],
    )
    return RunConfig(**base, **method)


def test_freeze_scope_reads_the_old_setting_and_keeps_old_ids():
    old = _run(method="before", freeze="front", freeze_during_finetuning=True)
    assert old.freeze_scope == "both"
    assert old.run_id == _run(method="before", freeze="front", freeze_scope="both").run_id
    assert _run(method="before", freeze="front", freeze_during_finetuning=False).freeze_scope == "realignment"
    ids = {_run(method="before", freeze="front", freeze_scope=s).run_id for s in ("realignment", "finetuning", "both")}
    assert len(ids) == 3
    with pytest.raises(ValueError, match="give freeze_scope alone"):
        _run(method="before", freeze="front", freeze_during_finetuning=True, freeze_scope="finetuning")


def test_scopes_and_schedules_show_in_labels_and_the_freeze_column():
    assert _run(method="before", freeze="front").label == "before/front/dictionary"
    assert _run(method="before", freeze="front", freeze_scope="both").label == "before/front@both/dictionary"
    scheduled = _run(method="before", freeze="layers:0-3", freeze_schedule={"unfreeze": "top_down", "every": 100})
    assert scheduled.freeze_label == "layers:0-3~top_down:100"
    baseline = _run(method="baseline", freeze="front", freeze_scope="finetuning").resolved()
    assert (baseline.freeze, baseline.freeze_scope, baseline.label) == (
        "front",
        "finetuning",
        "baseline/front@finetuning",
    )
    plain = _run(method="baseline", freeze="front").resolved()
    assert (plain.freeze, plain.label) == ("none", "baseline")
    assert (
        method_label({"method": "baseline", "freeze": "front@finetuning", "aligner": "none"})
        == "baseline/front@finetuning"
    )
    assert method_label({"method": "baseline", "freeze": "none", "aligner": "none"}) == "baseline"
    assert method_label({"method": "baseline", "freeze": "front", "aligner": "none"}) == "baseline"  # never applied


@pytest.mark.parametrize(
    "method, message",
    [
        ({"method": "during", "freeze": "front"}, "method 'during' has none"),
        ({"method": "before", "freeze": "front", "freeze_scope": "both"}, "needs freeze_scope realignment"),
        ({"method": "before", "freeze": "none"}, "freeze is none"),
    ],
)
def test_a_schedule_that_cannot_apply_is_refused(method, message):
    with pytest.raises(ValueError, match=message):
        MethodSpec(**method, freeze_schedule="bottom_up:2")


def _layer_weights(folder, index: int) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    weights = load_file(str(folder / "model.safetensors"))
    key = f"encoder.layer.{index}."
    return {k[k.index(key) :]: v for k, v in weights.items() if key in k}


def test_each_scope_says_where_the_freeze_holds():
    where = {
        scope: (str(run.realignment_freeze), str(run.finetuning_freeze))
        for scope in ("realignment", "finetuning", "both")
        for run in [_run(method="before", freeze="front", freeze_scope=scope)]
    }
    assert where == {"realignment": ("front", "none"), "finetuning": ("none", "front"), "both": ("front", "front")}


def test_freeze_scope_finetuning_holds_the_freeze_through_fine_tuning(toy):
    from alignfreeze.experiments import load_experiment, run_experiment
    from fixtures_tasks import experiment_yaml

    root, model, tmp = toy
    methods = [{"method": "baseline", "freeze": "front", "freeze_scope": "finetuning"}, {"method": "baseline"}]
    cfg = experiment_yaml(tmp / "toy.yaml", model, methods, save_model="final")
    outcomes = run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)
    initial = [_layer_weights(model, i) for i in (0, 1)]  # the toy model has 2 layers: front = layer 0
    final = {
        o.run.label: [_layer_weights(tmp / "out" / "runs" / o.run.run_id / "model", i) for i in (0, 1)]
        for o in outcomes
    }
    frozen_run = final["baseline/front@finetuning"]
    assert all(torch.equal(initial[0][k], frozen_run[0][k]) for k in initial[0])
    assert any(not torch.equal(initial[1][k], frozen_run[1][k]) for k in initial[1])
    # without the freeze, the same fine-tuning moves layer 0
    assert any(not torch.equal(initial[0][k], final["baseline"][0][k]) for k in initial[0])


def test_name_prefix_matching_widens_a_sub_module_spec_as_it_does_whole_layers():
    model = tiny_model("bert", vocab_size=100, layers=12)
    _, layers = transformer_layers(model)
    chosen = {id(p) for p in frozen_parameters(model, FreezeSpec.parse("front/ffn"), "name_prefix")}
    with_ffn = [i for i, layer in enumerate(layers) if id(layer.intermediate.dense.weight) in chosen]
    assert with_ffn == [0, 1, 2, 3, 4, 5, 10, 11]  # "layer.1" is a prefix of "layer.10", "layer.11"
    assert not any(id(p) in chosen for layer in layers for p in layer.attention.parameters())


def test_a_run_with_a_schedule_round_trips_through_its_written_config():
    run = _run(method="before", freeze="back/attention", freeze_schedule="bottom_up:50").resolved()
    written = run.model_dump(mode="json")
    assert written["freeze_schedule"] == {"unfreeze": "bottom_up", "every": 50}
    again = RunConfig(**written)
    assert again.run_id == run.run_id and again.freeze_schedule == run.freeze_schedule
    assert run.run_id != _run(method="before", freeze="back/attention").run_id


def test_realign_command_takes_sub_module_specs_and_a_schedule(tmp_path, xlmr_tokenizer):
    import json

    from typer.testing import CliRunner

    from alignfreeze.cli.app import app
    from fixtures_tasks import make_tiny_model
    from test_realign import corpus

    model = make_tiny_model(tmp_path / "model", xlmr_tokenizer)
    pairs = corpus().save(tmp_path / "pairs.jsonl")
    base = ["realign", "--model", str(model), "--pairs", str(pairs), "--steps", "2", "--batch-size", "4"]
    out = tmp_path / "realigned"
    result = CliRunner().invoke(
        app, [*base, "--freeze", "front/attention", "--freeze-schedule", "top_down:1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "unfreezing top_down:1" in result.output
    record = json.loads((out / "realign.json").read_text())
    assert record["freeze"] == "front/attention"
    assert record["freeze_schedule"] == {"unfreeze": "top_down", "every": 1}
    bad = CliRunner().invoke(app, [*base, "--freeze-schedule", "sideways:2"])
    assert bad.exit_code != 0 and "expected ORDER:K" in str(bad.exception)  # main() prints it, exit 2
