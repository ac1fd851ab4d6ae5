"""Every file in ../shared/data through the readers: counts, consistency and speed."""

from __future__ import annotations

import time

import pytest

from alignfreeze.data import DataCatalog, read_muse, read_parallel, read_pharaoh
from alignfreeze.data.catalog import READERS

pytestmark = pytest.mark.integration


def test_read_every_file_under_20_seconds(shared_data):
    catalog = DataCatalog(shared_data)
    counts: dict[tuple[str, str, str, str], int] = {}
    t0 = time.perf_counter()
    for e in catalog.entries():
        if e.kind in READERS:
            records = READERS[e.kind](e.files[0])
        elif e.kind == "parallel":
            records = read_parallel(*e.files)
        elif e.kind == "dictionary":
            records = read_muse(e.files[0])
        else:  # gold alignment: the sentences and their 1-based links
            records = read_parallel(e.files[0])
            links = read_pharaoh(e.files[1], one_based=True)
            assert len(links) == len(records)
            for pair, link in zip(records, links):
                n_src, n_tgt = len(pair.src.split()), len(pair.tgt.split())
                assert all(i < n_src and j < n_tgt for i, j in link.possible)
        counts[(e.kind, e.dataset, e.language, e.split)] = len(records)
    elapsed = time.perf_counter() - t0
    assert elapsed < 20, f"reading all data took {elapsed:.1f}s"
    assert len(counts) >= 40
    for lang in ("ar", "es", "fr", "ru", "zh", "en"):
        assert counts[("pos", "pud", lang, "test")] == 1000
        assert counts[("nli", "xnli", lang, "dev")] == 2490
    for lang in ("ar", "es", "ru", "zh", "en"):
        assert counts[("qa", "xquad", lang, "test")] == 1190
    for pair in ("en-ar", "en-es", "en-fr", "en-ru", "en-zh"):
        assert counts[("parallel", "un", pair, "dev")] == 4000
        assert counts[("parallel", "tatoeba", pair, "test")] == 1000
    assert counts[("gold_align", "gold", "en-fr", "test")] == 447
    assert counts[("ner", "panx", "en", "train")] == 20000


def test_pud_is_parallel_across_languages(shared_data):
    catalog = DataCatalog(shared_data)
    ids = {
        lang: [s.sent_id for s in catalog.find("pos", lang, "test", dataset="pud").load()]
        for lang in ("en", "fr", "zh")
    }
    assert ids["en"] == ids["fr"] == ids["zh"]
