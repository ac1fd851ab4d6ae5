"""Metrics, task preprocessing and the fine-tuning schedule, on tiny models."""

from __future__ import annotations

import pytest
import torch

from alignfreeze.data import QaAnswer, QaExample, TaggedSentence
from alignfreeze.evaluate import accuracy, answer_tokens, evaluate, ner_scores, qa_scores
from alignfreeze.finetune import TrainingSettings, finetune, get_task, resolve_training


def test_qa_normalisation_is_per_script():
    assert answer_tokens("The Eiffel  Tower!", "en") == ["eiffel", "tower"]
    assert answer_tokens("los Pirineos", "es") == ["pirineos"]
    assert answer_tokens("北京大学（PKU）", "zh") == ["北", "京", "大", "学", "pku"]
    scores = qa_scores(["北京大学", "the tower"], [["北京", "大学"], ["Tower", "a tower"]], "zh")
    # zh: pred 4 chars vs gold "北京" (2 common): P=.5 R=1 -> F1 2/3, and vs "大学" the same.
    # "the tower" vs "Tower" under zh rules (no article list): tokens [the, tower] vs [tower] -> F1 2/3;
    # against "a tower": [the, tower] vs [a, tower] -> F1 1/2. Max is 2/3.
    assert scores["f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert scores["exact_match"] == 0.0


def test_ner_scores_with_seqeval_and_accuracy():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O", "O"]]
    s = ner_scores(gold, pred)
    assert (s["precision"], s["recall"]) == (1.0, 0.5) and s["f1"] == pytest.approx(2 / 3) and s["accuracy"] == 0.75
    assert accuracy(["a", "b"], ["a", "c"]) == 0.5


def test_pos_labels_only_on_first_subwords(xlmr_tokenizer):
    task = get_task("pos")
    labels = task.label_list([])
    (feature,) = task.encode(
        [TaggedSentence(["中国", "人", "Paris"], ["PROPN", "NOUN", "PROPN"])], xlmr_tokenizer, 32, labels
    )
    tokens = xlmr_tokenizer.convert_ids_to_tokens(feature["input_ids"])
    labelled = [(tok, labels[label]) for tok, label in zip(tokens, feature["labels"]) if label != -100]
    assert labelled == [("▁中国", "PROPN"), ("人", "NOUN"), ("▁Paris", "PROPN")]


def test_qa_windows_point_at_the_answer(xlmr_tokenizer):
    context = "Alignment matters. " * 20 + "The capital of France is Paris, a large city." + " Filler text." * 20
    example = QaExample("q", "", context, "What is the capital of France?", [QaAnswer("Paris", context.index("Paris"))])
    task = get_task("qa", TrainingSettings(doc_stride=16))
    features = task.encode([example], xlmr_tokenizer, 48, [])
    assert len(features) > 3  # several windows
    hits = [f for f in features if f["start_positions"] > 0]
    assert hits and all(
        xlmr_tokenizer.decode(f["input_ids"][f["start_positions"] : f["end_positions"] + 1]).strip() == "Paris"
        for f in hits
    )
    assert any(f["start_positions"] == 0 == f["end_positions"] for f in features)  # windows without it point at <s>


def test_schedule_counts_optimiser_steps_not_micro_batches(xlmr_tokenizer):
    task = get_task("pos")
    labels = task.label_list([])
    sents = [TaggedSentence(["the", "cat"], ["DET", "NOUN"])] * 100
    features = task.encode(sents, xlmr_tokenizer, 16, labels)
    settings = TrainingSettings(learning_rate=1e-3, epochs=5, batch_size=32, micro_batch_size=8)
    # 100 examples -> 13 micro-batches -> 4 optimiser steps per epoch -> 20 steps, warm-up 2.
    result = finetune(tiny_token_model(labels), xlmr_tokenizer, task, features, settings, seed=0, progress=False)
    assert (result.optimizer_steps, result.warmup_steps) == (20, 2)
    assert result.losses[-1] < result.losses[0]


def tiny_token_model(labels):
    from transformers import AutoModelForTokenClassification

    from tiny_models import tiny_config

    torch.manual_seed(0)
    config = tiny_config(vocab_size=250037, layers=2)
    config.num_labels = len(labels)
    return AutoModelForTokenClassification.from_config(config)


def test_unseen_evaluation_labels_are_counted_not_fatal(xlmr_tokenizer):
    task = get_task("ner")
    train = [TaggedSentence(["Paris"], ["B-LOC"]), TaggedSentence(["Jean"], ["B-PER"])]
    labels = task.label_list(train)
    model = tiny_token_model(labels)
    scores = evaluate(
        task, model, xlmr_tokenizer, [TaggedSentence(["Acme", "Corp"], ["B-ORG", "I-ORG"])], "fr", 32, 8, labels
    )
    assert scores.diagnostics["unseen_label_words"] == 2
    assert scores.diagnostics["unseen_labels"] == {"B-ORG": 1, "I-ORG": 1}
    assert scores.metrics["recall"] == 0.0


def test_resolved_training_defaults():
    assert resolve_training(TrainingSettings(), "xlm-roberta-base", "pos").learning_rate == 7.5e-6
    r = resolve_training(TrainingSettings(), "bert-base-multilingual-cased", "nli")
    assert (r.learning_rate, r.epochs, r.eval_max_length) == (2e-5, 2, 256)
    with pytest.raises(ValueError, match="not a multiple"):
        resolve_training(TrainingSettings(batch_size=32, micro_batch_size=12), "m", "pos")
