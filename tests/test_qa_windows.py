"""QA windows are cut by alignfreeze itself (finetune.tasks.qa_windows), not by the
tokenizer's overflow feature: their number and overlap follow from the token counts alone,
the same on every transformers version."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from alignfreeze.data import QaAnswer, QaExample
from alignfreeze.errors import AlignfreezeError
from alignfreeze.evaluate import evaluate
from alignfreeze.finetune import EvaluationSettings, TrainingSettings, get_task
from alignfreeze.finetune.tasks import pair_template, qa_windows, window_spans

QUESTION = "What is the capital of France?"
CONTEXT = "Alignment matters. " * 20 + "The capital of France is Paris, a large city." + " Filler text." * 20


def token_count(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_window_spans_by_hand():
    # 10 tokens, room 4, overlap 1: windows start every 3 tokens, the last one ends at 10.
    assert window_spans(10, 4, 1) == [(0, 4), (3, 7), (6, 10)]
    assert window_spans(11, 4, 1) == [(0, 4), (3, 7), (6, 10), (9, 11)]
    assert window_spans(4, 4, 3) == [(0, 4)]  # fits: one window, whatever the stride
    assert window_spans(0, 4, 1) == [(0, 0)]
    with pytest.raises(AlignfreezeError, match="overlap of 4"):
        window_spans(10, 4, 4)


def test_window_count_and_overlap_follow_from_the_lengths(xlmr_tokenizer):
    max_length, stride = 48, 16
    windows = qa_windows(xlmr_tokenizer, [QUESTION], [CONTEXT], max_length, stride)
    n_question, n_context = token_count(xlmr_tokenizer, QUESTION), token_count(xlmr_tokenizer, CONTEXT)
    specials = xlmr_tokenizer.num_special_tokens_to_add(pair=True)
    room = max_length - n_question - specials
    expected = 1 + math.ceil((n_context - room) / (room - stride))
    assert len(windows.input_ids) == expected > 3
    assert windows.example == [0] * expected

    context_ids = xlmr_tokenizer(CONTEXT, add_special_tokens=False)["input_ids"]
    pieces = []
    for ids, seq in zip(windows.input_ids, windows.sequence_ids):
        assert len(ids) <= max_length and seq.count(0) == n_question
        pieces.append([t for t, s in zip(ids, seq) if s == 1])
    assert all(len(p) == room for p in pieces[:-1])
    for previous, current in zip(pieces, pieces[1:]):
        assert previous[-stride:] == current[:stride]  # consecutive windows share `stride` tokens
    # Together, without the overlaps, the windows are the context.
    assert pieces[0] + [t for p in pieces[1:] for t in p[stride:]] == context_ids


def test_windows_never_ask_the_tokenizer_for_overflowing_tokens(xlmr_tokenizer, monkeypatch):
    calls = []
    original = type(xlmr_tokenizer).__call__

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(xlmr_tokenizer), "__call__", spy)
    qa_windows(xlmr_tokenizer, [QUESTION], [CONTEXT], 48, 16)
    assert calls and not any(k.get("return_overflowing_tokens") or k.get("stride") for k in calls)


def test_windows_match_a_whole_pair_encoding(xlmr_tokenizer, bert_tokenizer):
    """One window that fits is exactly the tokenizer's own encoding of the pair: ids, offsets
    and sequence ids, with the special tokens of the tokenizer's template."""
    for tokenizer, question, context in (
        (xlmr_tokenizer, QUESTION, "The capital of France is Paris."),
        (bert_tokenizer, "the cat", "the cat sat on the mat."),
    ):
        windows = qa_windows(tokenizer, [question], [context], 64, 8)
        whole = tokenizer(question, context, return_offsets_mapping=True)
        assert windows.input_ids == [whole["input_ids"]]
        assert windows.offsets[0] == [tuple(o) for o in whole["offset_mapping"]]
        assert windows.sequence_ids[0] == whole.sequence_ids(0)
        assert windows.word_ids[0] == whole.word_ids(0)
    assert pair_template(bert_tokenizer) == ([2], [3], [3])  # [CLS] q [SEP] c [SEP]
    cls, sep = xlmr_tokenizer.cls_token_id, xlmr_tokenizer.sep_token_id
    assert pair_template(xlmr_tokenizer) == ([cls], [sep, sep], [sep])  # <s> q </s></s> c </s>


def test_qa_features_label_the_answer_in_every_window_that_holds_it(xlmr_tokenizer):
    example = QaExample("q", "", CONTEXT, QUESTION, [QaAnswer("Paris", CONTEXT.index("Paris"))])
    features = get_task("qa", TrainingSettings(doc_stride=16)).encode([example], xlmr_tokenizer, 48, [])
    windows = qa_windows(xlmr_tokenizer, [QUESTION], [CONTEXT], 48, 16)
    assert [f["input_ids"] for f in features] == windows.input_ids
    hits = [f for f in features if f["start_positions"] > 0]
    assert 1 <= len(hits) < len(features)
    for f in hits:
        assert xlmr_tokenizer.decode(f["input_ids"][f["start_positions"] : f["end_positions"] + 1]).strip() == "Paris"


def test_a_question_that_leaves_no_room_is_an_error_not_a_crash(xlmr_tokenizer):
    with pytest.raises(AlignfreezeError, match="raise max_length or lower doc_stride"):
        qa_windows(xlmr_tokenizer, [QUESTION * 3], [CONTEXT], 32, 8)


class PeakModel(torch.nn.Module):
    """A stand-in QA model whose start and end logits peak on one token id."""

    def __init__(self, token_id: int):
        super().__init__()
        self.token_id = token_id
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        logits = (input_ids == self.token_id).float() * 10
        return SimpleNamespace(start_logits=logits, end_logits=logits)


@pytest.mark.parametrize("scorer", ["squad", "reference"])
def test_both_scorers_find_the_answer_in_the_one_window_that_holds_it(xlmr_tokenizer, scorer):
    example = QaExample("q", "", CONTEXT, QUESTION, [QaAnswer("Paris", CONTEXT.index("Paris"))])
    task = get_task("qa", TrainingSettings(doc_stride=16), EvaluationSettings(qa_scorer=scorer))
    model = PeakModel(xlmr_tokenizer.convert_tokens_to_ids("▁Paris"))
    scores = evaluate(task, model, xlmr_tokenizer, [example], "en", 48, 4, [])
    assert scores.metrics["f1"] == 1.0 and scores.metrics["exact_match"] == 1.0
