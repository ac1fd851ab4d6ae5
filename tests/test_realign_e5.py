"""Realignment on the real e5-small with real dictionary pairs (short run)."""

from __future__ import annotations

import pytest

from alignfreeze.align import DictionaryAligner, align_corpus
from alignfreeze.data import DataCatalog, read_muse, read_parallel

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_front_realignment_on_un_dictionary_pairs_lowers_the_loss(e5_small_path, shared_data, tmp_path, monkeypatch):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from alignfreeze.realign import RealignConfig, realign, save_realigned

    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path / "home"))  # the aligner cache only
    catalog = DataCatalog(shared_data)
    pairs = read_parallel(*catalog.find("parallel", "en-fr", "dev", dataset="un").files)[:400]
    corpus = align_corpus(
        pairs, DictionaryAligner(read_muse(catalog.find("dictionary", "en-fr", "full").files[0])), "en", "fr"
    )
    assert len(corpus.pairs) > 300  # most sentence pairs get links
    tok = AutoTokenizer.from_pretrained(e5_small_path)
    model = AutoModel.from_pretrained(e5_small_path)
    layer0 = model.encoder.layer[0].attention.self.query.weight.detach().clone()
    config = RealignConfig(steps=10, batch_size=8)
    result = realign(model, tok, [corpus], config, freeze="front", seed=0, progress=False)
    assert sum(result.losses[-3:]) / 3 < sum(result.losses[:3]) / 3, result.losses
    assert torch.equal(model.encoder.layer[0].attention.self.query.weight, layer0)
    out = save_realigned(
        result, tok, tmp_path / "realigned", {"model": "e5-small", "config": config.model_dump(mode="json")}
    )
    assert (out / "realign.json").is_file() and (out / "config.json").is_file()
    reloaded = AutoModel.from_pretrained(out)
    assert torch.equal(reloaded.encoder.layer[11].output.dense.weight, model.encoder.layer[11].output.dense.weight)
