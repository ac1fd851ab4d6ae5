"""Task heads on decoders (models/heads.py): each head's loss against a hand computation,
on transformers' classes (Llama, Qwen2) and on ours (Gemma 3 has neither a token nor a QA
head in transformers); save and reload; a base checkpoint's weights in a fresh head."""

from __future__ import annotations

import math

import pytest
import torch

from alignfreeze.models.heads import _our_head_class, head_class
from alignfreeze.models.layers import encoder_of
from alignfreeze.models.loading import load_model
from tiny_models import tiny_decoder, tiny_decoder_config

KINDS = ["gemma3_text", "llama", "qwen2"]
VOCAB = 64
IDS = torch.tensor([[5, 9, 17, 3, 1, 1], [8, 4, 22, 30, 11, 7]])  # pad id 1: row 0 is right-padded
MASK = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])


def _head_model(kind: str, head: str, num_labels: int = 3, ours: bool = False):
    config = tiny_decoder_config(kind, vocab_size=VOCAB, layers=2)
    config.num_labels = num_labels
    torch.manual_seed(0)
    cls = _our_head_class(type(config), head) if ours else head_class(config, head)
    model = cls.from_config(config) if hasattr(cls, "from_config") else cls(config)
    return model.eval()


def _nll(logits: torch.Tensor, target: int) -> float:
    """-log softmax(logits)[target], written out."""
    values = logits.double().tolist()
    top = max(values)
    return -(values[target] - top - math.log(sum(math.exp(v - top) for v in values)))


def test_gemma3_gets_our_token_and_qa_heads_and_transformers_sequence_head():
    config = tiny_decoder_config("gemma3_text", vocab_size=VOCAB, layers=2)
    assert head_class(config, "token").__name__ == "Gemma3TextForTokenClassification"
    assert head_class(config, "qa").__name__ == "Gemma3TextForQuestionAnswering"
    assert head_class(config, "sequence").__name__ == "AutoModelForSequenceClassification"
    llama = tiny_decoder_config("llama", vocab_size=VOCAB, layers=2)
    assert head_class(llama, "token").__name__ == "AutoModelForTokenClassification"


@pytest.mark.parametrize("kind", KINDS)
def test_token_loss_is_the_mean_cross_entropy_over_labelled_tokens(kind):
    model = _head_model(kind, "token")
    labels = torch.tensor([[0, -100, 2, 1, -100, -100], [-100, 1, 1, -100, 0, 2]])
    out = model(input_ids=IDS, attention_mask=MASK, labels=labels)
    assert out.logits.shape == (2, 6, 3)
    kept = [(b, t) for b in range(2) for t in range(6) if labels[b, t] != -100]
    expected = sum(_nll(out.logits[b, t], int(labels[b, t])) for b, t in kept) / len(kept)
    assert out.loss.item() == pytest.approx(expected, rel=1e-5)
    assert encoder_of(model) is model.base_model and type(model.base_model).__name__.endswith("Model")


@pytest.mark.parametrize("kind", KINDS)
def test_qa_loss_is_the_mean_of_start_and_end_cross_entropies(kind):
    model = _head_model(kind, "qa")
    # Row 1's answer lies past the sequence (cut off): ignored in both ends' losses.
    starts, ends = torch.tensor([1, 40]), torch.tensor([3, 41])
    out = model(input_ids=IDS, attention_mask=MASK, start_positions=starts, end_positions=ends)
    assert out.start_logits.shape == out.end_logits.shape == (2, 6)
    expected = (_nll(out.start_logits[0], 1) + _nll(out.end_logits[0], 3)) / 2
    assert out.loss.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kind", ["gemma3_text", "llama"])
def test_our_sequence_head_reads_the_last_unpadded_token(kind):
    from transformers import AutoModelForSequenceClassification

    model = _head_model(kind, "sequence", ours=True)
    # Built, not registered: transformers' own class stays the Auto class's.
    config = tiny_decoder_config(kind, vocab_size=VOCAB, layers=2)
    assert type(AutoModelForSequenceClassification.from_config(config)).__module__.startswith("transformers.")
    labels = torch.tensor([2, 0])
    out = model(input_ids=IDS, attention_mask=MASK, labels=labels)
    hidden = model.base_model(input_ids=IDS, attention_mask=MASK).last_hidden_state
    by_hand = torch.stack([hidden[0, 3], hidden[1, 5]]) @ model.head.weight.T + model.head.bias
    torch.testing.assert_close(out.logits, by_hand)
    expected = (_nll(out.logits[0], 2) + _nll(out.logits[1], 0)) / 2
    assert out.loss.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(("kind", "head"), [("gemma3_text", "token"), ("gemma3_text", "qa"), ("llama", "token")])
def test_saved_task_model_reloads_with_identical_outputs(kind, head, tmp_path):
    labels = ["A", "B", "C"]
    model = load_model(str(_save_base(kind, tmp_path / "base")), head=head, labels=labels, device="cpu")
    with torch.no_grad():
        model.base_model.norm.weight.add_(0.5)  # "fine-tuned": differs from the base checkpoint
    model.save_pretrained(tmp_path / "task")
    again = load_model(str(tmp_path / "task"), head=head, labels=labels, device="cpu")
    assert type(again) is type(model)
    with torch.no_grad():
        first, second = model(input_ids=IDS, attention_mask=MASK), again(input_ids=IDS, attention_mask=MASK)
    for key in ("logits", "start_logits", "end_logits"):
        if key in first:
            torch.testing.assert_close(first[key], second[key], rtol=0, atol=0)
    if head == "token":
        assert again.config.id2label == dict(enumerate(labels))


def test_a_base_checkpoint_loads_into_our_head_with_every_backbone_weight(tmp_path):
    from transformers import AutoModel

    folder = _save_base("gemma3_text", tmp_path / "base")
    base = AutoModel.from_pretrained(folder)
    model = load_model(str(folder), head="token", labels=["X", "Y"], device="cpu")
    assert type(model).__name__ == "Gemma3TextForTokenClassification"
    theirs, ours = base.state_dict(), model.base_model.state_dict()
    assert theirs.keys() == ours.keys()
    for name, tensor in theirs.items():
        torch.testing.assert_close(ours[name], tensor, rtol=0, atol=0, msg=name)


def test_fine_tuning_a_gemma3_token_head(xlmr_tokenizer, tmp_path):
    from alignfreeze.data import TaggedSentence
    from alignfreeze.finetune import TrainingSettings, finetune, get_task

    task = get_task("pos")
    labels = task.label_list([])
    features = task.encode(
        [TaggedSentence(["the", "cat", "sleeps"], ["DET", "NOUN", "VERB"])] * 32, xlmr_tokenizer, 16, labels
    )
    folder = _save_base("gemma3_text", tmp_path / "base", vocab_size=len(xlmr_tokenizer))
    model = task.load_model(str(folder), labels, device="cpu")
    settings = TrainingSettings(learning_rate=3e-3, epochs=1, batch_size=8, micro_batch_size=8)
    result = finetune(model, xlmr_tokenizer, task, features, settings, seed=0, progress=False)
    assert result.optimizer_steps == 4 and result.losses[-1] < result.losses[0]


def _save_base(kind: str, folder, vocab_size: int = VOCAB):
    tiny_decoder(kind, vocab_size=vocab_size, layers=2).save_pretrained(folder)
    return folder
