"""The alignment measure on the real e5-small and real UN/MUSE data."""

from __future__ import annotations

import pytest

from alignfreeze.data import DataCatalog

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_front_realignment_leaves_alignment_below_the_boundary_unchanged(
    e5_small_path, shared_data, tmp_path, monkeypatch
):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from alignfreeze.analysis.retrieval import first_subword_states, measure_alignment
    from alignfreeze.analysis.word_pairs import dictionary_aligned, sample_word_pairs
    from alignfreeze.realign import RealignConfig, realign

    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path / "home"))  # the aligner cache only
    catalog = DataCatalog(shared_data)
    train = dictionary_aligned(catalog, "en-fr", "dev", "un", limit=200)
    sample = sample_word_pairs(dictionary_aligned(catalog, "en-fr", "test", "un", limit=300), 300, seed=0)
    tok = AutoTokenizer.from_pretrained(e5_small_path)
    model = AutoModel.from_pretrained(e5_small_path)
    layers = list(range(13))
    before = measure_alignment(model, tok, sample, layers=layers)
    vectors_before, _ = first_subword_states(
        model, tok, sample.src_sentences, sample.src_sentence, sample.src_word, layers
    )
    config = RealignConfig(steps=8, batch_size=8, learning_rate=1e-4)
    realign(model, tok, [train], config, freeze="front+embeddings", seed=0, progress=False)
    after = measure_alignment(model, tok, sample, layers=layers)
    vectors_after, _ = first_subword_states(
        model, tok, sample.src_sentences, sample.src_sentence, sample.src_word, layers
    )
    # front freezes layers 0-5, whose outputs are hidden states 1-6 (0 is the embeddings).
    for layer in range(7):
        torch.testing.assert_close(vectors_after[layer], vectors_before[layer], rtol=1e-5, atol=1e-5)
        for mode in ("weak", "strong"):
            for direction in ("fwd", "bwd"):
                assert after.scores[(layer, mode, direction)] == before.scores[(layer, mode, direction)]
    for layer in range(7, 13):
        assert (vectors_after[layer] - vectors_before[layer]).abs().max() > 1e-3
    changed = [key for key in before.scores if key[0] >= 7 and before.scores[key] != after.scores[key]]
    assert changed, "realignment changed no retrieval score above the frozen boundary"
