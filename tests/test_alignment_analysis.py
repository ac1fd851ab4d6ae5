"""The alignment measure: retrieval scores, word-pair sampling, leakage, layers."""

from __future__ import annotations

import random

import pytest
import torch

from alignfreeze.align.corpus import AlignedCorpus, AlignedPair
from alignfreeze.analysis.retrieval import measure_alignment, parse_layers, retrieval_accuracy
from alignfreeze.analysis.word_pairs import sample_word_pairs
from alignfreeze.data.fingerprints import SentenceSet
from alignfreeze.errors import AlignfreezeError
from conftest import assert_png_drawn

N_WORDS = 200


def twin_language_tokenizer():
    """Word-level tokenizer: source words ``s0..s59`` and target words ``t0..t59``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [f"s{i}" for i in range(N_WORDS)] + [f"t{i}" for i in range(N_WORDS)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )


def twin_corpus(n_sentences: int = 60, seed: int = 0) -> AlignedCorpus:
    """Target sentences are the source sentences word for word (``s7`` -> ``t7``)."""
    rng = random.Random(seed)
    pairs = []
    for index in range(n_sentences):
        ids = rng.sample(range(N_WORDS), 6)
        src = [f"s{i}" for i in ids]
        tgt = [f"t{i}" for i in ids]
        pairs.append(AlignedPair(index, src, tgt, [(k, k) for k in range(6)]))
    return AlignedCorpus("xx", "yy", pairs, "test", {}, n_sentences)


def twin_model(identical: bool = True):
    """A tiny BERT whose target words' embeddings are copies of the source words': the two
    languages are encoded identically by construction (same positions, same segment)."""
    from tiny_models import tiny_model

    model = tiny_model(vocab_size=4 + 2 * N_WORDS, layers=3, hidden=32)
    with torch.no_grad():
        emb = model.embeddings.word_embeddings.weight
        if identical:
            emb[4 + N_WORDS :] = emb[4 : 4 + N_WORDS]
    model.eval()
    return model


def test_identical_encodings_score_100_percent_everywhere():
    tok, model = twin_language_tokenizer(), twin_model(identical=True)
    # One pair per word type: the same word at the same position in two sentences would
    # have the same embedding-layer vector, a tie that no model can break.
    sample = sample_word_pairs(twin_corpus(), n_pairs=150, seed=1)
    assert len(sample) == 150
    scores = measure_alignment(model, tok, sample, batch_size=7)
    assert {layer for layer, _, _ in scores.scores} == {0, 1, 2, 3}
    assert set(scores.scores.values()) == {1.0}, scores.scores
    assert scores.metrics()["alignment_strong_bwd_L3"] == 1.0
    for csls_k, center in [(10, False), (0, True), (10, True)]:
        again = measure_alignment(model, tok, sample, layers=[0, 3], csls_k=csls_k, center=center)
        assert set(again.scores.values()) == {1.0}


def test_unrelated_encodings_score_near_chance():
    tok, model = twin_language_tokenizer(), twin_model(identical=False)
    sample = sample_word_pairs(twin_corpus(), n_pairs=150, seed=1, unique_types=False)
    scores = measure_alignment(model, tok, sample, layers="0", modes=["weak"])
    # Random embeddings: distinct words of one language are never retrieved as translations;
    # the same word in other sentences (same embedding at hidden state 0) can be.
    assert scores.scores[(0, "weak", "fwd")] < 0.2


def test_retrieval_accuracy_by_hand():
    src = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    tgt = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.2, 1.0]])
    # weak fwd: s0 -> argmax cos over t = t0 (ok); s1 -> t2 (wrong); s2 -> t2 (wrong) => 1/3
    # weak bwd: t0 -> s0 (ok); t1 -> s0 (wrong); t2 -> s1 (wrong) => 1/3
    assert retrieval_accuracy(src, tgt, "weak") == pytest.approx({"fwd": 1 / 3, "bwd": 1 / 3})
    # strong fwd (candidates: the other sources and all targets):
    #   s0 -> t0 (cos .994 > s2 .707): ok; s1 -> t2 (.981): wrong; s2 -> t1 (.857 > t2 .832): wrong
    # strong bwd: t0 -> s0 (.994 > t1 .990): ok; t1 -> t0 (.990 > s1 .243): wrong; t2 -> s1 (.981): wrong
    result = retrieval_accuracy(src, tgt, "strong")
    assert result == pytest.approx({"fwd": 1 / 3, "bwd": 1 / 3})


def test_strong_mode_is_harder_than_weak_when_a_language_clusters():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(50, 16, generator=g)
    offset = torch.zeros(16)
    offset[0] = 4.0
    src = base + 0.6 * torch.randn(50, 16, generator=g)
    tgt = base + offset  # a language-specific shift: every target word sits far from the sources
    weak, strong = retrieval_accuracy(src, tgt, "weak"), retrieval_accuracy(src, tgt, "strong")
    assert weak["fwd"] > 0.9
    assert strong["fwd"] < weak["fwd"] - 0.3
    # Removing each language's mean removes the shift: strong alignment recovers.
    assert retrieval_accuracy(src, tgt, "strong", center=True)["fwd"] > 0.9


def test_csls_reduces_hubness():
    g = torch.Generator().manual_seed(1)
    src = torch.randn(40, 8, generator=g)
    tgt = src + 0.8 * torch.randn(40, 8, generator=g)
    hub = src.mean(0) * 0 + src.sum(0)  # a target vector close to many sources
    tgt_hub = torch.cat([tgt, hub[None]])
    src_hub = torch.cat([src, torch.randn(1, 8, generator=g)])
    plain = retrieval_accuracy(src_hub, tgt_hub, "weak")["fwd"]
    csls = retrieval_accuracy(src_hub, tgt_hub, "weak", csls_k=10)["fwd"]
    assert csls >= plain


def test_sampling_is_seeded_unique_and_excludes_realignment_sentences():
    corpus = twin_corpus(40)
    n_types = len({(p.src[i], p.tgt[j]) for p in corpus.pairs for i, j in p.links})
    a = sample_word_pairs(corpus, 1000, seed=3)
    b = sample_word_pairs(corpus, 1000, seed=3)
    assert (a.src_sentence, a.src_word, a.tgt_word) == (b.src_sentence, b.src_word, b.tgt_word)
    assert sample_word_pairs(corpus, 1000, seed=4).src_word != a.src_word
    types = [a.words(k) for k in range(len(a))]
    assert len(set(types)) == len(types) == n_types < 240  # each distinct word pair taken once
    assert a.stats["pairs"] == n_types and a.stats["requested"] == 1000
    for k in range(len(a)):
        src_word, tgt_word = a.words(k)
        assert src_word[1:] == tgt_word[1:]  # every sampled pair is a link
    used = AlignedCorpus("xx", "yy", corpus.pairs[:30], "test", {}, 30)
    held_out = sample_word_pairs(corpus, 1000, seed=0, exclude=SentenceSet.of([used]), unique_types=False)
    assert held_out.stats["excluded_for_leakage"] == 30
    realigned = {tuple(p.src) for p in used.pairs}
    assert not any(tuple(s) in realigned for s in held_out.src_sentences)
    with pytest.raises(AlignfreezeError, match="all 40 linked xx-yy sentence pairs were used for realignment"):
        sample_word_pairs(corpus, 10, exclude=SentenceSet.of([corpus]))


def test_fingerprints_ignore_tokenisation_and_case():
    s = SentenceSet.of([AlignedCorpus("en", "fr", [AlignedPair(0, ["Hello", ",", "world"], ["Bonjour"], [(0, 0)])])])
    assert ["hello,", "World"] in s
    assert ["Bonjour", "!"] not in s


def test_layer_lists():
    assert parse_layers("all", 12) == list(range(13))
    assert parse_layers("0,4,8-10", 12) == [0, 4, 8, 9, 10]
    assert parse_layers("last", 6) == [6]
    with pytest.raises(AlignfreezeError, match="outside 0..12"):
        parse_layers("13", 12)
    with pytest.raises(AlignfreezeError, match="bad layer list"):
        parse_layers("x", 12)


def test_measure_alignment_cli_writes_csv_and_plot_and_refuses_leakage(tmp_path, xlmr_tokenizer, monkeypatch):
    import csv

    from typer.testing import CliRunner

    from alignfreeze.cli import app
    from fixtures_tasks import make_data_root, make_tiny_model

    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path / "home"))
    root = make_data_root(tmp_path / "data")
    model = make_tiny_model(tmp_path / "tiny", xlmr_tokenizer)
    runner = CliRunner()

    def measure(model_dir, out, *extra):
        return [
            "measure-alignment",
            "--model",
            str(model_dir),
            "--pairs",
            "en-fr",
            "--dataset",
            "un",
            "--n-pairs",
            "8",
            "--data-dir",
            str(root),
            "--out",
            str(tmp_path / out),
            *extra,
        ]

    args = measure(model, "m")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(tmp_path / "m" / "alignment.csv")))
    assert len(rows) == 3 * 2 * 2  # hidden states 0-2, two modes, two directions
    assert {r["language"] for r in rows} == {"fr"} and {r["n_pairs"] for r in rows} == {"8"}
    assert_png_drawn(tmp_path / "m" / "alignment.png")
    # A model realigned on UN dev records the sentences it drew (2 steps of 16 draw all 30
    # pairs, the second batch the short end of the epoch); measuring it on UN dev is refused.
    aligned = tmp_path / "dev.jsonl"
    assert (
        runner.invoke(
            app,
            [
                "align",
                "--method",
                "dictionary",
                "--dictionary",
                str(root / "muse" / "en-fr.txt"),
                "--src-file",
                str(root / "parallel" / "UNv1.0.devset.en"),
                "--src-lang",
                "en",
                "--tgt-file",
                str(root / "parallel" / "UNv1.0.devset.fr"),
                "--tgt-lang",
                "fr",
                "--out",
                str(aligned),
            ],
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            app,
            [
                "realign",
                "--model",
                str(model),
                "--pairs",
                str(aligned),
                "--steps",
                "2",
                "--out",
                str(tmp_path / "realigned"),
            ],
        ).exit_code
        == 0
    )
    result = runner.invoke(app, measure(tmp_path / "realigned", "m2", "--split", "dev"))
    assert result.exit_code != 0 and "were used for realignment" in str(result.exception)
    assert runner.invoke(app, measure(tmp_path / "realigned", "m3", "--label", "realigned")).exit_code == 0
    result = runner.invoke(
        app,
        [
            "plot-alignment",
            str(tmp_path / "m" / "alignment.csv"),
            str(tmp_path / "m3" / "alignment.csv"),
            "--out",
            str(tmp_path / "both.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert_png_drawn(tmp_path / "both.png")
