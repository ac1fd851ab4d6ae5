"""Causal LMs as models: layer discovery, freeze specs, padding, word and sentence vectors,
and the alignment probe, on tiny Llama, Qwen2 and Gemma 3 text models built from configs."""

from __future__ import annotations

import csv

import pytest
import torch

from alignfreeze.data.subwords import encode_words, map_words
from alignfreeze.models.layers import (
    default_word_vector,
    embeddings_modules,
    final_norm,
    first_layers_only,
    is_decoder,
    num_layers,
    transformer_layers,
)
from alignfreeze.realign.freeze import FreezeSpec, frozen_parameters, gradual_unfreezing, parse_schedule
from tiny_models import DECODER_KINDS, tiny_decoder, tiny_decoder_config, tiny_model

SENTENCES = [
    ["Bonjour", "paisiblement", "le", "monde"],
    ["Les", "chats", "dorment", "paisiblement", "sur", "le", "canapé"],
]


def names_of(model, params) -> set[str]:
    ids = {id(p) for p in params}
    return {name for name, p in model.named_parameters() if id(p) in ids}


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_layer_discovery_finds_layers_embeddings_and_final_norm(kind):
    model = tiny_decoder(kind)
    assert is_decoder(model.config) and default_word_vector(model.config) == "last"
    name, layers = transformer_layers(model)
    assert (name, len(layers), num_layers(model)) == ("layers", 4, 4)
    assert [n for n, _ in embeddings_modules(model)] == ["embed_tokens"]
    assert final_norm(model)[0] == "norm"
    encoder = tiny_model("xlm-roberta")
    assert final_norm(encoder) is None and [n for n, _ in embeddings_modules(encoder)] == ["embeddings"]
    assert default_word_vector(encoder.config) == "first"


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_front_and_back_on_a_decoder(kind):
    model = tiny_decoder(kind)
    front = names_of(model, frozen_parameters(model, FreezeSpec.parse("front")))
    assert front == {n for n, _ in model.named_parameters() if n.startswith(("layers.0.", "layers.1."))}
    back = names_of(model, frozen_parameters(model, FreezeSpec.parse("back")))
    # The final norm makes the last hidden state: it goes with the top layer.
    assert back == {n for n, _ in model.named_parameters() if n.startswith(("layers.2.", "layers.3.", "norm."))}
    with_embeddings = names_of(model, frozen_parameters(model, FreezeSpec.parse("front+embeddings")))
    assert with_embeddings == front | {"embed_tokens.weight"}


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_sub_module_specs_on_a_decoder(kind):
    model = tiny_decoder(kind)
    attention = names_of(model, frozen_parameters(model, FreezeSpec.parse("front/attention")))
    assert attention and all(n.split(".")[2] == "self_attn" and n.split(".")[1] in "01" for n in attention)
    assert {n for n, _ in model.named_parameters() if n.startswith("layers.0.self_attn.")} <= attention
    ffn = names_of(model, frozen_parameters(model, FreezeSpec.parse("layers:3/ffn")))
    assert ffn == {f"layers.3.mlp.{m}.weight" for m in ("gate_proj", "up_proj", "down_proj")}


def test_gradual_unfreezing_releases_the_final_norm_with_the_top_layer():
    model = tiny_decoder("llama")
    spec = FreezeSpec.parse("back")
    with gradual_unfreezing(model, spec, parse_schedule("top_down:1")) as unfreezing:
        unfreezing.apply(2)  # the top layer released first
        assert model.norm.weight.requires_grad and not model.layers[2].mlp.up_proj.weight.requires_grad


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_hidden_states_of_a_cut_decoder_are_the_whole_ones(kind):
    config = tiny_decoder_config(kind)
    if kind == "gemma3_text":  # both attention kinds, over more tokens than the sliding window
        config.layer_types = ["sliding_attention", "full_attention"] * 2
    torch.manual_seed(0)
    from transformers import AutoModel

    model = AutoModel.from_config(config).eval()
    ids = torch.arange(5, 17)[None]
    with torch.no_grad():
        whole = model(ids, output_hidden_states=True).hidden_states
        assert len(whole) == 5  # embeddings + 4 layers; the last one normed
        assert torch.allclose(whole[-1], model(ids).last_hidden_state)
        for k in (1, 2, 3):
            with first_layers_only(model, k):
                cut = model(ids, output_hidden_states=True).hidden_states
            assert len(cut) == k + 1 and torch.allclose(cut[k], whole[k], atol=1e-6)
    assert not isinstance(model.norm, torch.nn.Identity)  # restored


def test_last_subword_positions_by_hand():
    # word 0: tokens 1-2, word 1: tokens 3-5, word 2: cut off by truncation
    mapping = map_words([None, 0, 0, 1, 1, 1, None], 3)
    assert mapping.last_subword == [2, 5, -1]
    assert mapping.positions("last") == [[2], [5], []]
    assert mapping.positions("first") == [[1], [3], []]
    assert mapping.positions("mean") == [[1, 2], [3, 4, 5], []]


def test_last_subword_of_a_real_multi_subword_word(xlmr_tokenizer):
    encoding, (mapping,) = encode_words(xlmr_tokenizer, [["paisiblement"]])
    start, end = mapping.spans[0]
    assert end - start > 1 and mapping.last_subword == [end - 1]
    from alignfreeze.align.corpus import AlignedPair
    from alignfreeze.realign.batches import encode_pairs

    (pair,) = encode_pairs(
        [AlignedPair(0, ["paisiblement"], ["quietly"], [(0, 0)])], xlmr_tokenizer, word_vector="last"
    )
    assert pair.src_words == [[end - 1]]


def test_prepare_padding_gives_a_pad_token_and_right_padding(xlmr_tokenizer):
    import copy

    from alignfreeze.models.tokenizers import prepare_padding

    tokenizer = copy.deepcopy(xlmr_tokenizer)
    tokenizer.pad_token = None
    tokenizer.padding_side = "left"
    prepare_padding(tokenizer)
    assert tokenizer.pad_token == "</s>" and tokenizer.padding_side == "right"
    assert prepare_padding(copy.deepcopy(xlmr_tokenizer)).pad_token == "<pad>"


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_word_vectors_are_the_same_alone_and_in_a_right_padded_batch(kind, xlmr_tokenizer):
    from alignfreeze.analysis.retrieval import first_subword_states

    model = tiny_decoder(kind)
    layers = list(range(5))
    words = [0, 1, 2, 3]
    alone, _ = first_subword_states(model, xlmr_tokenizer, SENTENCES[:1], [0] * 4, words, layers, word_vector="last")
    batched, found = first_subword_states(
        model, xlmr_tokenizer, SENTENCES, [0] * 4 + [1], words + [3], layers, word_vector="last"
    )
    assert found.all() and torch.allclose(alone, batched[:, :4], atol=1e-5)
    first, _ = first_subword_states(model, xlmr_tokenizer, SENTENCES[:1], [0] * 4, words, layers, word_vector="first")
    assert not torch.allclose(first[1:], alone[1:])  # "paisiblement" has several subwords


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_sentence_vectors_are_masked_means(kind, xlmr_tokenizer):
    from alignfreeze.analysis.translation import mean_pooled_hidden_states

    model = tiny_decoder(kind)
    texts = [" ".join(s) for s in SENTENCES]
    batched = mean_pooled_hidden_states(model, xlmr_tokenizer, texts, batch_size=2)
    alone = mean_pooled_hidden_states(model, xlmr_tokenizer, texts[:1], batch_size=1)
    assert batched.shape == (5, 2, 32) and abs(batched[:, 0] - alone[:, 0]).max() < 1e-5


def decoder_folder(path, kind, tokenizer):
    tiny_decoder(kind, layers=2).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_word_retrieval_on_a_decoder_at_every_hidden_state(kind, xlmr_tokenizer):
    from alignfreeze.align.corpus import AlignedCorpus, AlignedPair
    from alignfreeze.analysis.retrieval import measure_alignment
    from alignfreeze.analysis.word_pairs import sample_word_pairs

    pairs = [
        AlignedPair(i, ["le", "chat", f"n{i}", "dort"], ["the", "cat", f"m{i}", "sleeps"], [(k, k) for k in range(4)])
        for i in range(12)
    ]
    sample = sample_word_pairs(AlignedCorpus("fr", "en", pairs, "test", {}, 12), n_pairs=20, seed=0)
    scores = measure_alignment(tiny_decoder(kind), xlmr_tokenizer, sample, modes=["strong"], directions=["fwd"])
    assert sorted({layer for layer, _, _ in scores.scores}) == [0, 1, 2, 3, 4]
    assert scores.stats["word_vector"] == "last"


def test_run_config_resolves_word_vector_by_model_kind(tmp_path, xlmr_tokenizer):
    from alignfreeze.experiments.config import RunConfig

    folder = decoder_folder(tmp_path / "llama", "llama", xlmr_tokenizer)
    common = dict(
        task="pos",
        method="before",
        aligner="dictionary",
        realignment_pairs=[{"pair": "en-fr", "dataset": "un"}],
        seed=0,
        train={"language": "en"},
        eval=[{"language": "fr"}],
    )
    decoder = RunConfig(model=str(folder), **common)
    assert decoder.realignment.word_vector is None and decoder.resolved().realignment.word_vector == "last"
    assert RunConfig(model="xlm-roberta-base", **common).resolved().realignment.word_vector == "first"
    explicit = RunConfig(model=str(folder), realignment={"word_vector": "first"}, **common)
    assert explicit.run_id != decoder.run_id
    # The tags of a decoder's words go on their last subwords; an encoder's stay unset (first).
    assert decoder.resolved().tokenization.label_subword == "last"
    assert RunConfig(model="xlm-roberta-base", **common).resolved().tokenization.label_subword is None


def test_pos_tags_train_and_score_at_the_label_subword(xlmr_tokenizer):
    from alignfreeze.data.records import TaggedSentence
    from alignfreeze.data.subwords import TokenizationSettings
    from alignfreeze.finetune.tasks import get_task

    record = TaggedSentence(words=["paisiblement", "."], tags=["ADV", "PUNCT"])
    _, (mapping,) = encode_words(xlmr_tokenizer, [record.words])
    (first_start, first_end), _ = mapping.spans
    assert first_end - first_start > 1
    labelled = {}
    for choice in (None, "first", "last"):
        task = get_task("pos", tokenization=TokenizationSettings(label_subword=choice))
        (feature,) = task.encode([record], xlmr_tokenizer, 32, ["ADV", "PUNCT"])
        labelled[choice] = [i for i, tag in enumerate(feature["labels"]) if tag != -100]
    assert labelled[None] == labelled["first"] == [mapping.first_subword[0], mapping.first_subword[1]]
    assert labelled["last"] == [first_end - 1, mapping.last_subword[1]]


def test_measure_alignment_and_sweep_freeze_cli_on_a_decoder(tmp_path, xlmr_tokenizer, monkeypatch):
    from typer.testing import CliRunner

    from alignfreeze.cli import app
    from fixtures_tasks import make_data_root

    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path / "home"))
    root = make_data_root(tmp_path / "data")
    model = decoder_folder(tmp_path / "qwen2", "qwen2", xlmr_tokenizer)
    common = ["--model", str(model), "--n-pairs", "8", "--data-dir", str(root)]
    # Without --out, the results go to alignment-<model folder name> in the current folder,
    # and every hidden state is printed.
    monkeypatch.chdir(tmp_path)
    measured = CliRunner().invoke(app, ["measure-alignment", *common, "--pairs", "en-fr", "--dataset", "un"])
    assert measured.exit_code == 0, measured.output
    rows = list(csv.DictReader(open(tmp_path / "alignment-qwen2" / "alignment.csv")))
    assert {r["layer"] for r in rows} == {"0", "1", "2"}
    printed = [line.split()[1] for line in measured.output.splitlines() if line.startswith("│ ")]
    assert printed == ["0", "1", "2"]
    swept = CliRunner().invoke(
        app,
        [
            "sweep-freeze",
            *common,
            "--realign-pairs",
            "en-fr",
            "--realign-dataset",
            "un",
            "--eval-pairs",
            "en-fr",
            "--eval-dataset",
            "un",
            "--steps",
            "2",
            "--learning-rate",
            "1e-2",
            "--with-embeddings",
            "--out",
            str(tmp_path / "sweep"),
        ],
    )
    assert swept.exit_code == 0, swept.output
    rows = list(csv.DictReader(open(tmp_path / "sweep" / "sweep.csv")))
    acc = {(int(r["k"]), int(r["layer"]), r["mode"], r["direction"]): float(r["accuracy"]) for r in rows}
    assert {k for k, *_ in acc} == {-1, 0, 1, 2} and {layer for _, layer, *_ in acc} == {0, 1, 2}
    for mode, direction in {(m, d) for _, _, m, d in acc}:
        # both layers frozen (the final norm with the top one): nothing changes at any hidden state
        assert all(acc[(2, layer, mode, direction)] == acc[(-1, layer, mode, direction)] for layer in range(3))


def test_gpt2_layout_learned_positions_and_ln_f():
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(0)
    config = AutoConfig.for_model(
        "gpt2", n_layer=4, n_embd=32, n_head=2, vocab_size=100, n_positions=64, bos_token_id=0, eos_token_id=0
    )
    model = AutoModel.from_config(config).eval()
    assert transformer_layers(model)[0] == "h" and final_norm(model)[0] == "ln_f"
    assert [n for n, _ in embeddings_modules(model)] == ["wte", "wpe"]
    frozen = names_of(model, frozen_parameters(model, FreezeSpec.parse("back/ffn+front/attention")))
    assert {n.rsplit(".", 1)[0] for n in frozen} == {
        *(f"h.{i}.attn.{m}" for i in (0, 1) for m in ("c_attn", "c_proj")),
        *(f"h.{i}.mlp.{m}" for i in (2, 3) for m in ("c_fc", "c_proj")),
    }
