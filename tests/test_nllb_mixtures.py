"""NLLB-200 through fetch and the catalog (a server on 127.0.0.1 stands in for its bucket),
XTREME-R udpos from a hub mirror, and mixtures of parallel corpora."""

from __future__ import annotations

import pytest

from alignfreeze.data.catalog import DataCatalog, NoSourceError, remote_origin
from alignfreeze.data.fetch import fetch_target, plan_target
from alignfreeze.data.hub import load_hub_records
from alignfreeze.data.languages import NLLB_CODES, from_nllb_code, nllb_code
from alignfreeze.data.mixtures import REFERENCE_NLLB_LANGUAGES, MixedParallelFile, mixture_parts
from alignfreeze.data.parallel import ParallelFile
from alignfreeze.data.refs import ParallelRef
from hub_mirror import EN, FR, HA, UrlServer, build_hub_mirror, build_nllb_urls

# The reference's 27 NLLB languages (emnlp-2026 final_run_script.sh lines 23-24).
REFERENCE_NLLB = (
    "amh_Ethi bam_Latn ewe_Latn fon_Latn hau_Latn ibo_Latn kin_Latn lin_Latn lug_Latn luo_Latn mos_Latn nya_Latn "
    "gaz_Latn sna_Latn swh_Latn tsn_Latn twi_Latn wol_Latn xho_Latn yor_Latn zul_Latn mya_Mymr jav_Latn tgl_Latn "
    "tel_Telu mar_Deva kaz_Cyrl"
).split()


def test_nllb_codes_map_both_ways_for_the_reference_languages():
    ours = [from_nllb_code(code) for code in REFERENCE_NLLB]
    assert ours[:6] == ["am", "bm", "ee", "fon", "ha", "ig"]
    assert [from_nllb_code(c) for c in ("gaz_Latn", "swh_Latn", "kaz_Cyrl", "mya_Mymr")] == ["om", "sw", "kk", "my"]
    assert [nllb_code(code) for code in ours] == REFERENCE_NLLB
    assert sorted(ours) == sorted(REFERENCE_NLLB_LANGUAGES)
    # AfriXNLI's three-letter codes, and a code without a mapping kept as it is
    assert [from_nllb_code(c) for c in ("orm", "swa", "hau", "eng", "pcm")] == ["om", "sw", "ha", "en", "pcm"]
    assert len(set(NLLB_CODES.values())) == len(NLLB_CODES)


def test_nllb_pairs_are_named_as_the_card_lists_them():
    assert remote_origin("parallel", "en-ha", "train", "nllb").url.endswith("/nllb/eng_Latn-hau_Latn.gz")
    amharic = remote_origin("parallel", "en-am", "train", "nllb")
    assert amharic.url.endswith("/nllb/amh_Ethi-eng_Latn.gz") and amharic.languages == ("am", "en")
    with pytest.raises(NoSourceError, match="no configuration 'eng_Latn-deu_Latn'"):
        remote_origin("parallel", "en-de", "train", "nllb")  # not mined by NLLB: high-resource
    with pytest.raises(NoSourceError, match="no split 'dev'"):
        remote_origin("parallel", "en-ha", "dev", "nllb")
    with pytest.raises(NoSourceError, match="no NLLB code for 'xx'"):
        remote_origin("parallel", "en-xx", "train", "nllb")


def test_fetch_nllb_writes_each_side_in_its_language(tmp_path):
    """The TSV's columns follow the pair's name: amh_Ethi-eng_Latn has Amharic first, and the
    fetched English file must still hold English."""
    mirror = build_nllb_urls(tmp_path / "urls")
    root = tmp_path / "data"
    with UrlServer(mirror) as base:
        for pair in ("en-ha", "en-am"):
            target = plan_target("parallel", pair, "train", "nllb")
            fetch_target(target, root, url_mirror=base)
    catalog = DataCatalog(root)
    hausa, dataset = catalog.parallel_pairs("en-ha", "train", "nllb")
    assert dataset == "nllb" and [(p.src, p.tgt) for p in hausa] == list(zip(EN, HA))
    amharic, _ = catalog.parallel_pairs("en-am", "train", "nllb")
    assert [(p.src, p.tgt) for p in amharic] == [(e, f"am {k}") for k, e in enumerate(EN[:3])]
    assert sorted(p.name for p in (root / "parallel" / "nllb").iterdir()) == [
        "nllb.am-en-train.am",
        "nllb.am-en-train.en",
        "nllb.en-ha-train.en",
        "nllb.en-ha-train.ha",
    ]  # the downloaded archives are gone once split


def test_xtreme_r_udpos_reads_pos_tags_from_the_mirror(tmp_path, monkeypatch):
    mirror = build_hub_mirror(tmp_path / "hub")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("ALIGNFREEZE_HUB_MIRROR", str(mirror))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub = remote_origin("pos", "fr", "test", "xtremer")
    assert (hub.path, hub.name, hub.split) == ("izhx/xtreme-r-udpos", "fr", "test")
    sentences = load_hub_records("pos", hub)
    assert sentences[0].words == FR[0].split() and sentences[0].tags == ["DET", "NOUN", "VERB", "DET", "NOUN"]
    with pytest.raises(NoSourceError, match="no split 'train'"):
        remote_origin("pos", "fr", "train", "xtremer")  # only English has train and dev
    assert remote_origin("pos", "en", "train", "xtremer").split == "train"


def _corpus(folder, name, n):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.en").write_text("".join(f"{name} en {k}\n" for k in range(n)))
    (folder / f"{name}.xx").write_text("".join(f"{name} xx {k}\n" for k in range(n)))
    return ParallelFile(folder / f"{name}.en", folder / f"{name}.xx")


def test_weighted_mixture_draws_each_corpus_in_proportion_to_its_weight(tmp_path):
    a, b = _corpus(tmp_path, "a", 600), _corpus(tmp_path, "b", 400)
    mixed = MixedParallelFile([(a, 0.8), (b, 0.2)], names=["a", "b"], seed=3)
    assert len(mixed) == 1000
    drawn = mixed.corpus_of(range(len(mixed)))
    assert abs(drawn.count("a") / 1000 - 0.8) < 0.04
    # Each corpus is read in file order, from its start again once used up (a: 800 > 600).
    from_a = [p.src for p, corpus in zip(mixed.lines(), drawn) if corpus == "a"]
    assert from_a[:3] == ["a en 0", "a en 1", "a en 2"] and from_a[600] == "a en 0"
    assert [p.tgt.split()[0] for p in mixed.pairs([5, 1, 5])] == [drawn[5], drawn[1], drawn[5]]
    again = MixedParallelFile([(a, 0.8), (b, 0.2)], names=["a", "b"], seed=3)
    assert again.corpus_of(range(50)) == drawn[:50]


def test_parallel_ref_keeps_a_weighted_mixture_as_one_name():
    ref = ParallelRef(pair="en-ha", split="train", dataset={"opus100": 0.5, "nllb": 0.5})
    assert ref.dataset == "nllb=0.5+opus100=0.5"
    assert ParallelRef(pair="en-ha", split="train", dataset=ref.dataset) == ref
    assert mixture_parts("en-ha", ref.dataset) == [("nllb", 0.5), ("opus100", 0.5)]
    with pytest.raises(ValueError, match="positive number"):
        ParallelRef(pair="en-ha", dataset={"nllb": 0, "opus100": 1})
    assert ParallelRef(pair="en-fr", dataset="opus100").dataset == "opus100"


def _write_pair(root, dataset, lang, n):
    folder = root / dataset
    folder.mkdir(parents=True, exist_ok=True)
    a, b = sorted(["en", lang])
    prefix = "opus" if dataset == "opus100" else dataset
    for side in (a, b):
        (folder / f"{prefix}.{a}-{b}-train.{side}").write_text("".join(f"{dataset} {side} {k}\n" for k in range(n)))


def test_catalog_reads_named_and_weighted_mixtures(tmp_path):
    _write_pair(tmp_path, "opus100", "fr", 4)
    _write_pair(tmp_path, "opus100", "ha", 4)
    _write_pair(tmp_path, "nllb", "ha", 6)
    catalog = DataCatalog(tmp_path)
    # mix_opus100_nllb: NLLB for the reference's NLLB languages (ha), OPUS-100 for the others
    assert catalog.find("parallel", "en-ha", "train", "mix_opus100_nllb").dataset == "nllb"
    french, dataset = catalog.parallel_file("en-fr", "train", "mix_opus100_nllb")
    assert dataset == "opus100" and french.pairs([0])[0].src == "opus100 en 0"
    mixed, name = catalog.parallel_file("en-ha", "train", "nllb=1+opus100=1")
    assert name == "nllb=1+opus100=1" and len(mixed) == 10
    assert {p.src.split()[0] for p in mixed.lines()} == {"nllb", "opus100"}
    found = catalog.find("parallel", "en-ha", "train", "nllb=1+opus100=1")
    assert len(found.files) == 4
    with pytest.raises(Exception, match="no parallel data"):
        catalog.parallel_file("en-fr", "train", "nllb=1+opus100=1")  # no NLLB en-fr here


def test_fetch_dry_run_lists_each_corpus_of_a_mixture(tmp_path):
    from typer.testing import CliRunner

    from alignfreeze.cli import app
    from test_fetch import preset

    pairs = [{"pair": "en-ha", "split": "train", "dataset": {"nllb": 0.5, "opus100": 0.5}}]
    config = preset(tmp_path / "mix.yaml", "e5-small", realignment_pairs=pairs, eval_languages=["fr"])
    result = CliRunner().invoke(app, ["fetch", str(config), "--data-dir", str(tmp_path / "data"), "--dry-run"])
    out = " ".join(result.output.split())
    for expected in (
        "parallel/nllb/nllb.en-ha-train.en",
        "https://storage.googleapis.com/allennlp-data-bucket/nllb/eng_Latn-hau_Latn.gz",
        "parallel/opus100/opus.en-ha-train.ha",
        "hub:Helsinki-NLP/opus-100/en-ha[train]",
    ):
        assert expected in out, (expected, result.output)


def test_a_run_realigns_on_a_weighted_mixture(tmp_path, monkeypatch, xlmr_tokenizer):
    """A tiny PoS run whose en-fr realignment pairs come from two local corpora, half each:
    realignment draws from both (the hub mirror serves the task data)."""
    import json

    from alignfreeze.experiments import load_experiment, run_experiment
    from fixtures_tasks import make_tiny_model
    from hub_mirror import muse_text
    from test_fetch import preset

    mirror = build_hub_mirror(tmp_path / "hub")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("ALIGNFREEZE_HUB_MIRROR", str(mirror))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = tmp_path / "data"
    for folder, prefix, tag in (("opus100", "opus", ""), ("nllb", "nllb", " !")):
        (data / folder).mkdir(parents=True)
        (data / folder / f"{prefix}.en-fr-train.en").write_text("".join(f"{s}{tag}\n" for s in EN * 4))
        (data / folder / f"{prefix}.en-fr-train.fr").write_text("".join(f"{s}{tag}\n" for s in FR * 4))
    (data / "muse").mkdir()
    (data / "muse" / "en-fr.txt").write_text(muse_text())
    for language, split, treebank in (("en", "train", "ewt"), ("fr", "test", "gsd")):  # from the mirror
        fetch_target(plan_target("pos", language, split, treebank), data, hub_mirror=mirror)
    pairs = [{"pair": "en-fr", "split": "train", "dataset": {"opus100": 1, "nllb": 1}}]
    config = preset(
        tmp_path / "mix.yaml",
        make_tiny_model(tmp_path / "model", xlmr_tokenizer),
        realignment_pairs=pairs,
        methods=[{"method": "before", "freeze": "front"}],
        realignment={"steps": 3, "batch_size": 8},
    )
    experiment = load_experiment(config)
    assert experiment.realignment_pairs[0].dataset == "nllb=1+opus100=1"
    (outcome,) = run_experiment(experiment, tmp_path / "out", data_dir=data, progress=False)
    metrics = json.loads((tmp_path / "out/runs" / outcome.run.run_id / "metrics.json").read_text())
    # Realignment read the mixture, both corpora's 24 pairs, not one corpus.
    assert metrics["realign"]["pairs_per_language"]["en-fr"] == 48
    assert metrics["realignment_sentence_pairs"]["drawn"] == 24  # 3 steps of 8
    mixed, _ = DataCatalog(data).parallel_file("en-fr", "train", "nllb=1+opus100=1")
    assert len(mixed) == 48 and set(mixed.corpus_of(range(48))) == {"nllb", "opus100"}
