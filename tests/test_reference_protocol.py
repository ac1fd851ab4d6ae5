"""The reference protocol's settings, each against values worked out by hand: partial
freezing during fine-tuning, mixed-language batches, lone '▁' removal, overflow windows,
BIO repair, the reference QA scorer, the strict dictionary rule, and how protocols combine
with a file's own settings."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from alignfreeze.align import AlignedCorpus, AlignedPair, DictionaryAligner
from alignfreeze.data import DictionaryEntry, TaggedSentence
from alignfreeze.data.subwords import encode_word_windows
from alignfreeze.evaluate.evaluation import _pipeline_span, pipeline_answers, predict_tags
from alignfreeze.evaluate.metrics import reference_qa_f1, reference_qa_scores, repair_bio
from alignfreeze.finetune import TrainingSettings, finetune, get_task
from alignfreeze.models.layers import encoder_of
from alignfreeze.realign import FreezeSpec, RealignConfig, RealignmentObjective, frozen_parameters
from alignfreeze.realign.trainer import JOINT_COEFFICIENT
from tiny_models import tiny_model

EN = [["the", "cat", "sat"], ["a", "dog", "ran", "home"], ["my", "house", "is", "red"]]
FR = [["le", "chat", "assis"], ["un", "chien", "courait"], ["ma", "maison", "est", "rouge"]]
LINKS = [[(1, 1), (2, 2)], [(1, 1), (2, 2)], [(1, 1), (3, 3)]]


def corpus() -> AlignedCorpus:
    return AlignedCorpus("en", "fr", [AlignedPair(i, s, t, ls) for i, (s, t, ls) in enumerate(zip(EN, FR, LINKS))] * 2)


def token_model(n_labels: int, layers: int = 4):
    """A tiny token-classification model with ``n_labels`` classes."""
    model = tiny_model(head="token", layers=layers)
    model.classifier = nn.Linear(model.config.hidden_size, n_labels)
    model.num_labels = model.config.num_labels = n_labels
    return model


def no_dropout(model):
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if hasattr(module, "dropout_prob"):  # transformers 4.x BERT SDPA attention: a float, not a module
            module.dropout_prob = 0.0
    return model


# --------------------------------------------------------------------------- during_partial_freeze


def test_partial_freeze_during_keeps_the_realignment_gradient_out_of_frozen_layers(xlmr_tokenizer):
    """One optimiser step of joint training: every parameter's gradient must be the task's
    gradient plus 0.1 x the realignment gradient, except in the frozen (front) layers, whose
    gradient must be the task's alone. The two parts are computed separately, by hand."""
    task = get_task("pos")
    labels = task.label_list([])
    model = no_dropout(token_model(len(labels)))
    twin = copy.deepcopy(model)
    records = [
        TaggedSentence(["the", "cat", "sat"], ["DET", "NOUN", "VERB"]),
        TaggedSentence(["a", "dog"], ["DET", "NOUN"]),
        TaggedSentence(["my", "red", "house"], ["DET", "ADJ", "NOUN"]),
        TaggedSentence(["we", "ran"], ["PRON", "VERB"]),
    ]
    features = task.encode(records, xlmr_tokenizer, 32, labels)
    settings = TrainingSettings(
        epochs=1,
        batch_size=4,
        micro_batch_size=4,
        learning_rate=1e-3,
        max_grad_norm=None,
        warmup_ratio=0.0,
        group_by_length=False,
    )
    config = RealignConfig(batch_size=3)
    objective = RealignmentObjective(model, xlmr_tokenizer, [corpus()], config, seed=0)
    frozen = frozen_parameters(encoder_of(model), FreezeSpec.parse("front"))
    names = {id(p): n for n, p in model.named_parameters()}
    frozen_names = {names[id(p)] for p in frozen}
    captured: dict[str, torch.Tensor] = {}

    def capture(optimizer, args, kwargs):
        # (The large input embedding's gradient is sparse: see alignfreeze.optim.)
        captured.update(
            {
                n: (p.grad.to_dense() if p.grad.is_sparse else p.grad).detach().clone()
                for n, p in model.named_parameters()
                if p.grad is not None
            }
        )

    from torch.optim.optimizer import register_optimizer_step_pre_hook

    hook = register_optimizer_step_pre_hook(capture)
    try:
        finetune(
            model,
            xlmr_tokenizer,
            task,
            features,
            settings,
            seed=0,
            objective=objective,
            progress=False,
            realignment_frozen=frozen,
        )
    finally:
        hook.remove()

    # By hand, on an identical copy: the task gradient and the realignment gradient, apart.
    twin.train()
    params = dict(twin.named_parameters())
    batch = task.collate(features, xlmr_tokenizer.pad_token_id)
    task_grads = torch.autograd.grad(twin(**batch).loss, list(params.values()), allow_unused=True)
    twin_objective = RealignmentObjective(twin, xlmr_tokenizer, [corpus()], config, seed=0)
    realign_grads = torch.autograd.grad(
        JOINT_COEFFICIENT * twin_objective.loss(twin), list(params.values()), allow_unused=True
    )
    assert {n for n in frozen_names if n.startswith("bert.encoder.layer.0.")}, "front freezes the lower layers"
    assert not {n for n in frozen_names if n.startswith(("bert.encoder.layer.2.", "bert.embeddings."))}
    checked_frozen = checked_free = 0
    for (name, _), g_task, g_real in zip(params.items(), task_grads, realign_grads):
        full = name
        got = captured[full]
        g_task = torch.zeros_like(got) if g_task is None else g_task
        g_real = torch.zeros_like(got) if g_real is None else g_real
        if full in frozen_names:
            torch.testing.assert_close(got, g_task, rtol=1e-5, atol=1e-7)
            checked_frozen += int(g_real.abs().sum() > 0)  # the realignment did push here, and was kept out
        else:
            torch.testing.assert_close(got, g_task + g_real, rtol=1e-5, atol=1e-7)
            checked_free += int(g_real.abs().sum() > 0 and g_task.abs().sum() > 0)
    assert checked_frozen >= 10 and checked_free >= 10


# --------------------------------------------------------------------------- lone ▁ and windows


def test_lone_boundary_pieces_removed_or_skipped(xlmr_tokenizer):
    words = [["中国", "人", "Paris"]]
    (skip,) = encode_word_windows(xlmr_tokenizer, words, 32)
    (removed,) = encode_word_windows(xlmr_tokenizer, words, 32, lone_boundary_pieces="remove")
    skip_tokens = xlmr_tokenizer.convert_ids_to_tokens(skip.input_ids)
    removed_tokens = xlmr_tokenizer.convert_ids_to_tokens(removed.input_ids)
    # "人" is encoded as a lone "▁" then "人": kept (and skipped) in one case, gone in the other.
    assert skip_tokens == ["<s>", "▁中国", "▁", "人", "▁Paris", "</s>"]
    assert removed_tokens == ["<s>", "▁中国", "人", "▁Paris", "</s>"]
    assert [skip_tokens[p] for p in skip.mapping.first_subword] == ["▁中国", "人", "▁Paris"]
    assert [removed_tokens[p] for p in removed.mapping.first_subword] == ["▁中国", "人", "▁Paris"]
    assert skip.mapping.first_subword == [1, 3, 4] and removed.mapping.first_subword == [1, 2, 3]


def test_pos_features_follow_the_tokenization_setting(xlmr_tokenizer):
    from alignfreeze.data.subwords import TokenizationSettings

    record = TaggedSentence(["中国", "人", "Paris"], ["PROPN", "NOUN", "PROPN"])
    for mode, length in (("skip", 6), ("remove", 5)):
        task = get_task("pos", tokenization=TokenizationSettings(lone_boundary_pieces=mode))
        labels = task.label_list([])
        (feature,) = task.encode([record], xlmr_tokenizer, 32, labels)
        tokens = xlmr_tokenizer.convert_ids_to_tokens(feature["input_ids"])
        assert len(tokens) == length
        assert [(t, labels[label]) for t, label in zip(tokens, feature["labels"]) if label != -100] == [
            ("▁中国", "PROPN"),
            ("人", "NOUN"),
            ("▁Paris", "PROPN"),
        ]


def test_long_sentences_become_windows_that_are_trained_and_scored(xlmr_tokenizer):
    words = [f"w{i}" for i in range(30)]  # "▁w", "0"... : more than 2 pieces a word, so 12 tokens cut words
    truncated = encode_word_windows(xlmr_tokenizer, [words], 12)
    windows = encode_word_windows(xlmr_tokenizer, [words], 12, windows=True)
    assert len(truncated) == 1 and len(windows) > 3 and all(w.sentence == 0 for w in windows)
    assert all(len(w.input_ids) <= 12 for w in windows)
    cut = [i for i, f in enumerate(truncated[0].mapping.first_subword) if f < 0]
    assert cut  # truncation loses words ...
    scored = [i for w in windows for i, f in enumerate(w.mapping.first_subword) if f >= 0]
    assert set(scored) == set(range(30))  # ... windows score every word, and a word cut by an edge in each window
    task = get_task("pos", TrainingSettings(long_sentences="windows"))
    labels = task.label_list([])
    features = task.encode([TaggedSentence(words, ["NOUN"] * 30)], xlmr_tokenizer, 12, labels)
    assert len(features) == len(windows)
    model = token_model(len(labels), layers=2)
    gold, predicted, cut_words = predict_tags(
        task, model, xlmr_tokenizer, [TaggedSentence(words, ["NOUN"] * 30)], 12, 8, labels, ""
    )
    assert len(gold) == len(windows) and cut_words == 0 and sum(len(g) for g in gold) == len(scored)
    truncating = get_task("pos")
    gold, _, cut_words = predict_tags(
        truncating, model, xlmr_tokenizer, [TaggedSentence(words, ["NOUN"] * 30)], 12, 8, labels, ""
    )
    assert len(gold) == 1 and len(gold[0]) == 30 and cut_words == len(cut)


# --------------------------------------------------------------------------- NER and QA scorers


def test_bio_repair_by_hand():
    # An I- after O or at the start becomes B-; a mixed run takes its last I- type.
    assert repair_bio(["I-PER", "I-PER", "O", "I-LOC"]) == ["B-PER", "I-PER", "O", "B-LOC"]
    assert repair_bio(["B-ORG", "I-LOC", "I-LOC", "O"]) == ["B-LOC", "I-LOC", "I-LOC", "O"]
    assert repair_bio(["B-PER", "I-ORG", "I-LOC"]) == ["B-LOC", "I-LOC", "I-LOC"]
    # A changed B- ends the run: the B-PER before it keeps its type.
    assert repair_bio(["B-PER", "B-ORG", "I-LOC"]) == ["B-PER", "B-LOC", "I-LOC"]
    assert repair_bio(["O", "B-PER", "O"]) == ["O", "B-PER", "O"]


def test_ner_scores_with_repair():
    from alignfreeze.evaluate.metrics import ner_scores

    gold = [["B-PER", "I-PER", "O"]]
    predicted = [["I-PER", "I-PER", "O"]]
    plain = ner_scores(gold, predicted)
    repaired = ner_scores(gold, predicted, repair=True)
    # Repaired to B-PER I-PER O: exact; word accuracy 2/3 -> 3/3. (seqeval's default
    # chunking already reads a leading I- as the start of an entity, so F1 is 1 both ways.)
    assert (plain["accuracy"], repaired["accuracy"]) == (pytest.approx(2 / 3), 1.0)
    assert repaired["f1"] == 1.0


def test_reference_qa_f1_and_em_by_hand():
    # Set-based tokens and 2pr / max(1, p + r): with p = r = 1/5 the reference gives 0.08, SQuAD 0.2.
    assert reference_qa_f1("x y z w b", "b q r s t") == pytest.approx(2 * 0.2 * 0.2 / 1)
    # Sets: "b b" vs "b b" has one common token: p = r = 1/2 -> 2 * 1/4 / max(1, 1) = 0.5 (SQuAD: 1.0).
    assert reference_qa_f1("b b", "b b") == pytest.approx(0.5)
    # Articles and ASCII punctuation are removed: "The Paris!" vs "paris" -> 1.
    assert reference_qa_f1("The Paris!", "paris") == 1.0
    # Empty after normalisation: 1 if both are empty.
    assert reference_qa_f1("the", "a") == 1.0 and reference_qa_f1("the", "Paris") == 0.0
    # EM: raw for target languages, normalised for the training language; the first gold answer only.
    scores = reference_qa_scores(["Paris.", "Rome"], ["Paris", "rome"], normalized_em=False)
    assert scores["exact_match"] == 0.0
    scores = reference_qa_scores(["Paris.", "Rome"], ["Paris", "rome"], normalized_em=True)
    assert scores["exact_match"] == 1.0 and scores["f1"] == 1.0


def test_pipeline_span_by_hand():
    start = np.array([0.0, 5.0, 1.0, 2.0, 0.0])
    end = np.array([0.0, 5.0, 0.0, 3.0, 1.0])
    allowed = np.array([True, False, True, True, True])  # position 1 is the question
    score, span = _pipeline_span(start, end, allowed)
    ex_s = np.exp([0.0, 1.0, 2.0, 0.0])  # softmax over the allowed positions 0, 2, 3, 4
    ex_e = np.exp([0.0, 0.0, 3.0, 1.0])
    p_s, p_e = ex_s / ex_s.sum(), ex_e / ex_e.sum()
    # position 0 is zeroed after the softmax; best start <= end: (3, 3) = p_s[2] * p_e[2] in the allowed numbering
    assert span == (3, 3) and score == pytest.approx(p_s[2] * p_e[2], rel=1e-6)
    # End logits favouring position 4: (3, 4) scores e^2 * e^2 (unnormalised), (3, 3) e^2 * e,
    # (4, 4) 1 * e^2. Two-token answers allowed: (3, 4) wins; only one token: (3, 3).
    end = np.array([0.0, 5.0, 0.0, 1.0, 2.0])
    assert _pipeline_span(start, end, allowed, max_answer_tokens=2)[1] == (3, 4)
    assert _pipeline_span(start, end, allowed, max_answer_tokens=1)[1] == (3, 3)


class PeakModel(nn.Module):
    """A stand-in QA model whose logits peak on one token id (start) and another (end): a
    tiny trained model cannot be made to point at a chosen span, and this can."""

    def __init__(self, start_id: int, end_id: int):
        super().__init__()
        self.start_id, self.end_id = start_id, end_id
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        from types import SimpleNamespace

        return SimpleNamespace(
            start_logits=(input_ids == self.start_id).float() * 10, end_logits=(input_ids == self.end_id).float() * 10
        )


def test_pipeline_answers_are_widened_to_whole_words(xlmr_tokenizer):
    from alignfreeze.data import QaAnswer, QaExample

    context = "The capital of France is Parisville, a city."
    pieces = xlmr_tokenizer.tokenize("Parisville,")
    assert len(pieces) >= 3  # several pieces: the peak sits inside the word
    middle = xlmr_tokenizer.convert_tokens_to_ids(pieces[1])
    example = QaExample("q", "", context, "What is the capital?", [QaAnswer("Parisville", context.index("Parisville"))])
    (answer,) = pipeline_answers(PeakModel(middle, middle), xlmr_tokenizer, [example])
    # XLM-R's words are whitespace-separated, so the whole "Parisville," comes back.
    assert answer == "Parisville,"


# --------------------------------------------------------------------------- dictionary rules


def test_strict_dictionary_rule_refuses_a_target_another_source_word_could_take():
    entries = [DictionaryEntry("house", "maison"), DictionaryEntry("home", "maison"), DictionaryEntry("home", "foyer")]
    src, tgt = ["home", "house"], ["maison", "foyer"]
    # "home" has two translations present (maison, foyer): not linked. "house" -> maison is.
    assert DictionaryAligner(entries).align_sentence(src, tgt) == [(1, 0)]
    # The reference also counts "home", which could translate to maison: 2 sources, refused.
    assert DictionaryAligner(entries, unique_source="any_translation").align_sentence(src, tgt) == []
    # Repeated source words count on both rules.
    assert DictionaryAligner(entries).align_sentence(["house", "house"], ["maison"]) == []


def test_reverse_dictionary_as_the_reference_reads_it():
    entries = [DictionaryEntry("cat", "chat")]
    # The reference reads its <tgt>-<src> file (a copy of en-fr) as fr->en lines: "cat" becomes
    # a target-language word translating to the English "chat".
    aligner = DictionaryAligner(entries, reverse_entries=(entries, "copy"))
    assert aligner.translations["chat"] == {"cat"} and aligner.sources["cat"] == {"chat"}
    assert aligner.align_sentence(["chat"], ["cat"]) == [(0, 0)]
    assert DictionaryAligner(entries).align_sentence(["chat"], ["cat"]) == []


def test_link_filters_apply_to_every_aligner(tmp_path, monkeypatch):
    from alignfreeze.align import PharaohAligner, align_corpus
    from alignfreeze.data import SentencePair

    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path))
    links = tmp_path / "links.txt"
    links.write_text("0-0 0-1 2-2\n0-0 1-1\n")
    pairs = [SentencePair("a b c", "x y c"), SentencePair("p q", "r s")]
    plain = align_corpus(pairs, PharaohAligner(links), "en", "fr", use_cache=False)
    assert [p.links for p in plain.pairs] == [[(0, 0), (0, 1), (2, 2)], [(0, 0), (1, 1)]]
    filtered = align_corpus(
        pairs, PharaohAligner(links), "en", "fr", drop_identical=True, use_cache=False, keep_one_to_one=True
    )
    # One-to-one drops both links of "a"; identical drops c-c; the second pair keeps its two.
    assert [(p.index, p.links) for p in filtered.pairs] == [(1, [(0, 0), (1, 1)])]
