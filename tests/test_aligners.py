"""Aligners: the dictionary rules, symmetrisation, AER, argmax/itermax, the shared pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from alignfreeze.align import (
    DictionaryAligner,
    EmbeddingAligner,
    PharaohAligner,
    WordAligner,
    align_corpus,
    alignment_scores,
    grow_diag_final_and,
    itermax,
    mutual_argmax,
    one_to_one,
)
from alignfreeze.data import DictionaryEntry, SentencePair, WordAlignment
from alignfreeze.errors import AlignfreezeError
from conftest import write


def dico(*pairs: str) -> DictionaryAligner:
    return DictionaryAligner([DictionaryEntry(*p.split()) for p in pairs])


def test_dictionary_links_unambiguous_words():
    d = dico("the le", "the la", "cat chat", "sat assis", "mat tapis")
    assert d.align_sentence("the cat sat".split(), "le chat assis".split()) == [(0, 0), (1, 1), (2, 2)]


def test_dictionary_is_case_sensitive_and_drops_identical_entries():
    d = dico("cat chat", "Paris Paris", "ok ok")
    assert d.align_sentence("Cat Paris ok".split(), "chat Paris ok".split()) == []


def test_dictionary_requires_exactly_one_translation_present():
    d = dico("the le", "the la")
    assert d.align_sentence(["the"], ["le", "la"]) == []  # two translations present


def test_dictionary_requires_target_word_to_occur_once():
    d = dico("cat chat")
    assert d.align_sentence(["cat"], ["chat", "et", "chat"]) == []


def test_dictionary_requires_one_to_one():
    d = dico("the le", "a le", "cat chat")
    # "the" and "a" both map to the single "le": neither is kept; "cat" is.
    assert d.align_sentence("the a cat".split(), "le chat".split()) == [(2, 1)]
    # the same source word twice also maps twice to one target word
    assert d.align_sentence("the the".split(), ["le"]) == []


def test_dictionary_matches_character_runs_at_their_first_character():
    d = dico("committee 委员会", "agreed 商定", "the 的")
    src = "the committee agreed".split()
    tgt = list("委员会商定了")
    assert d.align_sentence(src, tgt) == [(1, 0), (2, 3)]
    # A Latin multi-word span is never formed from separate words.
    assert dico("york new_york").align_sentence(["york"], ["new", "york"]) == []


def test_grow_diag_final_and():
    fwd = {(0, 0), (1, 1), (2, 2), (3, 2)}
    rev = {(0, 0), (1, 1), (2, 2), (2, 3)}
    # Intersection {00, 11, 22}; 32 and 23 neighbour 22 and cover unaligned words 3 -> added.
    assert grow_diag_final_and(fwd, rev) == {(0, 0), (1, 1), (2, 2), (3, 2), (2, 3)}
    # final-and: a far union link is added only if both its words are unaligned.
    assert grow_diag_final_and({(0, 0), (5, 5)}, {(0, 0), (5, 1)}) == {(0, 0), (5, 5)}
    assert one_to_one({(0, 0), (1, 1), (1, 2)}) == {(0, 0)}


def test_aer_by_hand():
    gold = [WordAlignment(sure={(0, 0), (1, 1)}, possible={(0, 0), (1, 1), (2, 2)})]
    # A = {00, 22, 12}: |A∩S| = 1, |A∩P| = 2, |A| = 3, |S| = 2
    s = alignment_scores(gold, [[(0, 0), (2, 2), (1, 2)]])
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(1 / 2)
    assert s.aer == pytest.approx(1 - (1 + 2) / (3 + 2))


def test_mutual_argmax_and_itermax():
    sim = np.array([[0.9, 0.1, 0.0, 0.0], [0.8, 0.2, 0.1, 0.3], [0.0, 0.1, 0.7, 0.0], [0.1, 0.6, 0.2, 0.1]])
    assert sorted(zip(*np.nonzero(mutual_argmax(sim)))) == [(0, 0), (2, 2), (3, 1)]
    # Round two: row 1 and column 3 are free. Weighted, row 1 is [.72 .18 .09 .3] and column
    # 3 is [0 .3 0 .09]; row 1's best is column 0, whose best is row 1 -> link (1, 0).
    assert sorted(zip(*np.nonzero(itermax(sim)))) == [(0, 0), (1, 0), (2, 2), (3, 1)]
    # With every column aligned after round one, nothing more is added (SimAlign's rule).
    assert sorted(zip(*np.nonzero(itermax(sim[:, :3])))) == [(0, 0), (2, 2), (3, 1)]


class CountingAligner(WordAligner):
    name = "counting"

    def __init__(self):
        self.calls = 0

    def settings(self):
        return {}

    def align_words(self, src, tgt, progress=None):
        self.calls += 1
        return [[(0, 0), (0, 1)] if s[0] != "none" else [] for s in src]


def test_shared_pipeline_caches_drops_unlinked_and_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path))
    pairs = [SentencePair("Paris is big", "Paris est grand"), SentencePair("none here", "rien ici")]
    aligner = CountingAligner()
    corpus = align_corpus(pairs, aligner, "en", "fr", drop_identical=True)
    assert [(p.index, p.links) for p in corpus.pairs] == [(0, [(0, 1)])]  # Paris-Paris dropped
    assert corpus.n_sentence_pairs == 2
    again = align_corpus(pairs, aligner, "en", "fr", drop_identical=True)
    assert aligner.calls == 1 and again.pairs[0].links == [(0, 1)]
    align_corpus(pairs, aligner, "en", "fr", drop_identical=False)
    assert aligner.calls == 2  # other settings, other cache entry


def test_zero_links_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path))
    with pytest.raises(AlignfreezeError, match=r"^0 aligned pairs from 2 sentence pairs \(dictionary aligner\)$"):
        align_corpus([SentencePair("a b", "c d")] * 2, dico("x y"), "en", "fr")


def test_links_past_the_end_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path))
    links = write(tmp_path / "links.txt", "0-0 3-0\n")
    with pytest.raises(AlignfreezeError, match="link 3-0 points past the source sentence's end"):
        align_corpus([SentencePair("a b", "c d")], PharaohAligner(links), "en", "fr")


def test_eflomal_aligns_a_repetitive_corpus(tmp_path, monkeypatch):
    pytest.importorskip("eflomal")
    from alignfreeze.align import EflomalAligner

    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path))
    words = [("cat", "chat"), ("dog", "chien"), ("house", "maison"), ("red", "rouge"), ("big", "grand")]
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(300):
        chosen = [words[i] for i in rng.choice(5, size=3, replace=False)]
        pairs.append(SentencePair(" ".join(e for e, _ in chosen), " ".join(f for _, f in chosen)))
    corpus = align_corpus(pairs, EflomalAligner(), "en", "fr", use_cache=False)
    correct = sum((i, i) in p.links for p in corpus.pairs for i in range(3))
    assert correct / (3 * len(corpus.pairs)) > 0.9


def test_embedding_aligner_identical_sentences_and_batching(tmp_path, monkeypatch, xlmr_tokenizer):
    """With a tiny random model, a sentence aligned with itself must link each word to itself
    (identical contexts give identical vectors), whatever the batch size."""
    from tiny_models import tiny_model

    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path))
    model = tiny_model(layers=2, vocab_size=250037)
    sentences = [["the", "red", "house", "is", "big"], ["a", "cat"], ["one", "two", "three", "four"]]
    results = []
    for batch_size in (1, 8):
        aligner = EmbeddingAligner(layer=2, method="argmax", batch_size=batch_size)
        aligner._model, aligner._tokenizer = model.eval(), xlmr_tokenizer
        results.append(aligner.align_words(sentences, sentences))
    assert results[0] == results[1]
    assert [sorted(r) for r in results[0]] == [[(i, i) for i in range(len(s))] for s in sentences]
