"""LoRA adapters (training.adapter): the setting, what trains, freezing under an adapter, and
saving and loading an adapter run. Tiny real models built from configs (tests/tiny_models.py)."""

from __future__ import annotations

import json

import pytest
import torch

from alignfreeze.errors import AlignfreezeError
from alignfreeze.finetune.config import TrainingSettings
from alignfreeze.models.adapters import (
    ADAPTER_CONFIG_FILE,
    ADAPTER_WEIGHTS_FILE,
    LoraAdapter,
    adapter_parameters,
    add_adapter,
)
from alignfreeze.models.layers import encoder_of, transformer_layers
from alignfreeze.realign import frozen, gradual_unfreezing
from alignfreeze.realign.freeze import FreezeSpec, parse_schedule
from tiny_models import DECODER_KINDS, tiny_decoder, tiny_model

LORA = LoraAdapter(r=4)


def test_the_setting_reads_as_yaml_as_a_name_and_keeps_old_run_ids():
    assert TrainingSettings(adapter={"type": "lora", "r": 4}).adapter == LoraAdapter(r=4)
    assert TrainingSettings(adapter={"r": 4}).adapter.type == "lora"  # what `--set training.adapter.r=4` builds
    assert TrainingSettings(adapter="lora").adapter == LoraAdapter()
    defaults = LoraAdapter()
    assert (defaults.r, defaults.alpha, defaults.dropout, defaults.target_modules) == (8, 32, 0.1, None)
    with pytest.raises(ValueError, match="r"):
        TrainingSettings(adapter={"type": "lora", "r": 0})
    with pytest.raises(ValueError):
        TrainingSettings(adapter={"type": "prefix"})


def test_set_gives_an_adapter_and_a_new_run_id(tmp_path):
    from alignfreeze.experiments import load_experiment
    from fixtures_tasks import experiment_yaml

    (tmp_path / "model").mkdir()
    cfg = experiment_yaml(tmp_path / "toy.yaml", tmp_path / "model", [{"method": "before", "freeze": "front"}])
    plain = load_experiment(cfg).runs()[0]
    adapted = load_experiment(cfg, ["training.adapter.r=4"]).runs()[0]
    assert plain.training.adapter is None and adapted.training.adapter == LoraAdapter(r=4)
    assert adapted.run_id != plain.run_id
    assert load_experiment(cfg, ["training.adapter=null"]).runs()[0].run_id == plain.run_id


def test_only_the_adapter_and_the_head_train_and_the_embeddings_stay_fixed():
    model = add_adapter(tiny_model("bert", head="token", vocab_size=1000), LORA, "tiny")
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {name for name, _ in model.named_parameters() if "lora_" in name} | {
        "classifier.weight",
        "classifier.bias",
    }
    # peft's default for BERT: the query and value matrices of every layer
    assert {name.split(".")[-4] for name in trainable if "lora_" in name} == {"query", "value"}
    assert not model.get_input_embeddings().weight.requires_grad
    # the model keeps its class, its encoder and its layer list (freeze specs find them)
    assert transformer_layers(encoder_of(model))[0] == "encoder.layer"
    with pytest.raises(AlignfreezeError, match="tiny already has an adapter"):
        add_adapter(model, LORA, "tiny")


def test_target_modules_that_match_nothing_are_one_line_naming_the_model():
    model = tiny_model("bert", vocab_size=1000)
    with pytest.raises(AlignfreezeError, match="adapter lora on BertModel"):
        add_adapter(model, LoraAdapter(target_modules=["no_such_linear"]))


def test_distilbert_gets_its_query_and_value_matrices_adapted():
    model = add_adapter(tiny_model("distilbert", vocab_size=1000), LORA)  # peft has no default for it
    assert {name.split(".")[-4] for name, p in model.named_parameters() if p.requires_grad} == {"q_lin", "v_lin"}


def _grads_per_layer(encoder) -> dict[int, list]:
    _, layers = transformer_layers(encoder)
    return {i: [p.grad for name, p in layer.named_parameters() if "lora_" in name] for i, layer in enumerate(layers)}


@pytest.mark.parametrize("kind", ["bert", *DECODER_KINDS])
def test_a_frozen_layer_gets_no_adapter_update(kind):
    encoder = tiny_model("bert", vocab_size=1000) if kind == "bert" else tiny_decoder(kind, vocab_size=1000)
    add_adapter(encoder, LORA)
    with torch.no_grad():  # B starts at zero, so that A would get no gradient: make both matter
        for p in adapter_parameters(encoder):
            p.normal_(0, 0.1)
    with frozen(encoder, "front"):  # 4 layers: 0 and 1 frozen
        hidden = encoder(input_ids=torch.tensor([[5, 6, 7, 8]])).last_hidden_state
        (hidden * torch.linspace(-1, 1, hidden.numel()).reshape(hidden.shape)).sum().backward()
    grads = _grads_per_layer(encoder)
    assert all(g is None for i in (0, 1) for g in grads[i])
    assert all(g is not None and g.abs().sum() > 0 for i in (2, 3) for g in grads[i])
    # the freeze restored the adapter's flags, and left the base weights fixed
    assert all(p.requires_grad for p in adapter_parameters(encoder))
    assert not any(p.requires_grad for name, p in encoder.named_parameters() if "lora_" not in name)


def test_a_schedule_releases_a_layers_adapter_and_never_its_weights():
    encoder = add_adapter(tiny_model("bert", vocab_size=1000), LORA)
    spec = FreezeSpec.parse("front")
    with frozen(encoder, spec), gradual_unfreezing(encoder, spec, parse_schedule("bottom_up:1")) as unfreezing:
        unfreezing.apply(3)  # both front layers released
        trainable = {name for name, p in encoder.named_parameters() if p.requires_grad}
    assert trainable == {name for name, _ in encoder.named_parameters() if "lora_" in name}


def test_realignment_moves_the_adapter_of_unfrozen_layers_only(xlmr_tokenizer):
    from alignfreeze.realign import realign
    from test_realign import config, corpus

    model = add_adapter(tiny_model(layers=4), LORA)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = realign(model, xlmr_tokenizer, [corpus()], config(steps=3), freeze="front", progress=False)
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all("lora_" in k for k in changed)  # embeddings and base weights untouched
    assert {int(k.split(".")[2]) for k in changed} == {2, 3}
    # frozen: the adapter matrices of layers 0 and 1 (not the base weights, fixed anyway)
    _, layers = transformer_layers(model)
    assert result.frozen_parameters == sum(
        p.numel() for i in (0, 1) for n, p in layers[i].named_parameters() if "lora_" in n
    )


def _saved_run_model(tmp_path, xlmr_tokenizer, kind: str = "bert"):
    """A tiny token-classification model with a trained-looking adapter and head, saved, and
    its base model on disk."""
    from alignfreeze.models.loading import load_model
    from alignfreeze.realign import save_checkpoint
    from tiny_models import tiny_decoder

    base = tmp_path / "base"
    (tiny_model(layers=2) if kind == "bert" else tiny_decoder(kind, layers=2)).save_pretrained(base)
    xlmr_tokenizer.save_pretrained(base)
    model = add_adapter(load_model(str(base), head="token", labels=["A", "B", "C"], device="cpu"), LORA, str(base))
    with torch.no_grad():  # as if trained: the adapter (B starts at zero) and the head
        for p in adapter_parameters(model):
            p.normal_(0, 0.1)
        for p in model.parameters():
            if p.requires_grad and all(p is not q for q in adapter_parameters(model)):
                p.normal_(0, 1)
    folder = save_checkpoint(model, xlmr_tokenizer, tmp_path / "run-model")
    return model.eval(), folder


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_a_saved_adapter_run_reloads_with_the_same_logits_and_hidden_states(tmp_path, xlmr_tokenizer, kind):
    from alignfreeze.models.loading import load_model

    model, folder = _saved_run_model(tmp_path, xlmr_tokenizer, kind)
    assert (folder / ADAPTER_CONFIG_FILE).is_file() and (folder / ADAPTER_WEIGHTS_FILE).is_file()
    assert not (folder / "model.safetensors").exists()  # the base model's weights are read from the base
    inputs = {"input_ids": torch.tensor([[0, 5, 6, 7, 2]])}
    reloaded = load_model(str(folder), head="token", device="cpu")
    assert reloaded.config.id2label == {0: "A", 1: "B", 2: "C"}
    # as a run's model again, the loaded adapter and head train further, the rest stays fixed
    trainable = {name for name, p in reloaded.named_parameters() if p.requires_grad}
    assert trainable == {name for name, p in model.named_parameters() if p.requires_grad}
    assert torch.equal(reloaded(**inputs).logits, model(**inputs).logits)
    encoder = load_model(str(folder), device="cpu")  # what measure-alignment loads
    expected = encoder_of(model)(**inputs, output_hidden_states=True).hidden_states
    assert all(torch.equal(a, b) for a, b in zip(encoder(**inputs, output_hidden_states=True).hidden_states, expected))
    # without the adapter the hidden states differ: the adapter was loaded, not just the base
    plain = load_model(str(tmp_path / "base"), device="cpu")
    assert not torch.equal(plain(**inputs).last_hidden_state, expected[-1])


def test_a_saved_adapter_is_peft_s_format(tmp_path, xlmr_tokenizer):
    from peft import PeftModel
    from transformers import AutoModel

    model, folder = _saved_run_model(tmp_path, xlmr_tokenizer)
    assert json.loads((folder / ADAPTER_CONFIG_FILE).read_text())["base_model_name_or_path"] == str(tmp_path / "base")
    peft_model = PeftModel.from_pretrained(AutoModel.from_pretrained(tmp_path / "base"), folder).eval()
    inputs = {"input_ids": torch.tensor([[0, 5, 6, 7, 2]])}
    assert torch.equal(peft_model(**inputs).last_hidden_state, encoder_of(model)(**inputs).last_hidden_state)


def test_a_run_with_an_adapter_trains_it_through_both_stages_and_saves_it(toy):
    from alignfreeze.experiments import load_experiment, run_experiment
    from alignfreeze.models.loading import load_model
    from fixtures_tasks import experiment_yaml

    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "toy.yaml", model, [{"method": "before", "freeze": "front"}], save_model="final")
    experiment = load_experiment(cfg, ["training.adapter.r=4"])
    (outcome,) = run_experiment(experiment, tmp / "out", data_dir=root, progress=False)
    run_dir = tmp / "out" / "runs" / outcome.run.run_id
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["saved_models"] == {
        "model": f"runs/{outcome.run.run_id}/model",
        "realigned": f"runs/{outcome.run.run_id}/realigned",
    }
    base = load_model(str(model), device="cpu").state_dict()
    realigned = load_model(str(run_dir / "realigned"), device="cpu").state_dict()
    finetuned = load_model(str(run_dir / "model"), head="token", device="cpu")
    # the base weights never move; realignment moved the adapter of layer 1 only (front = layer 0)
    unadapted = {k.replace(".base_layer", ""): k for k in realigned if "lora_" not in k}  # peft's key -> the base's
    assert set(unadapted) == set(base)
    assert all(torch.equal(base[k], realigned[unadapted[k]]) for k in base)
    changed_in_realignment = {k for k in realigned if "lora_B" in k and realigned[k].abs().sum() > 0}
    assert changed_in_realignment and all(".layer.1." in k for k in changed_in_realignment)
    # fine-tuning trained the same adapter further, in every layer (no freeze in fine-tuning)
    tuned = finetuned.state_dict()
    assert any(
        not torch.equal(tuned[f"bert.{k}"], realigned[k]) for k in realigned if ".layer.0." in k and "lora_" in k
    )
    shared = [k for k in base if f"bert.{unadapted[k]}" in tuned]  # a tagger has no pooler
    assert shared and all(torch.equal(tuned[f"bert.{unadapted[k]}"], base[k]) for k in shared)  # still pretrained
    assert finetuned.config.id2label == {i: label for i, label in enumerate(metrics["labels"])}


def test_realign_cli_trains_an_adapter_that_measure_alignment_loads(toy):
    from typer.testing import CliRunner

    from alignfreeze.cli.app import app

    root, model, tmp = toy
    runner = CliRunner()
    aligned = tmp / "dev.jsonl"
    align = ["align", "--method", "dictionary", "--dictionary", str(root / "muse" / "en-fr.txt")]
    files = ["--src-file", str(root / "parallel" / "UNv1.0.devset.en"), "--src-lang", "en"]
    files += ["--tgt-file", str(root / "parallel" / "UNv1.0.devset.fr"), "--tgt-lang", "fr", "--out", str(aligned)]
    assert runner.invoke(app, [*align, *files]).exit_code == 0
    realign = ["realign", "--model", str(model), "--pairs", str(aligned), "--steps", "2"]
    bad = runner.invoke(app, [*realign, "--adapter", "{type: lora, r: 0}"])
    assert "'--adapter'" in str(bad.exception) and "r: Input should be greater than or equal to 1" in str(bad.exception)
    result = runner.invoke(app, [*realign, "--adapter", "{r: 4}", "--freeze", "front", "--out", str(tmp / "lora")])
    assert result.exit_code == 0, result.output
    assert "LoRA adapter" in result.output
    record = json.loads((tmp / "lora" / "realign.json").read_text())
    assert record["adapter"]["r"] == 4
    assert json.loads((tmp / "lora" / ADAPTER_CONFIG_FILE).read_text())["r"] == 4
    measure = ["measure-alignment", "--model", str(tmp / "lora"), "--pairs", "en-fr", "--dataset", "un"]
    measure += ["--n-pairs", "8", "--data-dir", str(root), "--out", str(tmp / "m")]
    result = runner.invoke(app, measure)
    assert result.exit_code == 0, result.output
    assert (tmp / "m" / "alignment.csv").is_file()


def test_a_gemma3_encoder_with_an_adapter_reloads_with_the_same_hidden_states(tmp_path, xlmr_tokenizer):
    from alignfreeze.models.loading import load_model
    from alignfreeze.realign import save_checkpoint

    base = tmp_path / "base"
    tiny_decoder("gemma3_text", layers=2).save_pretrained(base)
    encoder = add_adapter(load_model(str(base), device="cpu"), LORA, str(base))
    with torch.no_grad():
        for p in adapter_parameters(encoder):
            p.normal_(0, 0.1)
    folder = save_checkpoint(encoder.eval(), xlmr_tokenizer, tmp_path / "realigned")
    inputs = {"input_ids": torch.tensor([[0, 5, 6, 7, 2]]), "output_hidden_states": True}
    expected = encoder(**inputs).hidden_states
    reloaded = load_model(str(folder), device="cpu")(**inputs).hidden_states
    assert len(reloaded) == 3 and all(torch.equal(a, b) for a, b in zip(reloaded, expected))
