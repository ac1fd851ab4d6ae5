"""`alignfreeze fetch` with the network off: a local mirror stands in for the hub and a server on
127.0.0.1 for the URLs; the fetched files then feed a tiny preset end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alignfreeze.cli import app
from alignfreeze.data.catalog import DataCatalog, NoSourceError, hub_configs, remote_origin
from alignfreeze.data.fetch import download, plan_target
from alignfreeze.data.hub import load_hub_records
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments import load_experiment, run_experiment
from alignfreeze.experiments.fetch import plan_fetch
from hub_mirror import FR, UrlServer, build_hub_mirror, mirrored_configs, muse_text

MUSE_PATH = "dl.fbaipublicfiles.com/arrival/dictionaries"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return build_hub_mirror(tmp_path_factory.mktemp("hub"))


@pytest.fixture
def offline(monkeypatch, tmp_path, mirror):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("ALIGNFREEZE_HUB_MIRROR", str(mirror))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return mirror


def preset(path, model, **extra):
    """A tiny paper-like PoS preset: EWT train, the reference treebank for French, OPUS-100
    en-fr aligned with the MUSE en-fr dictionary."""
    config = {
        "name": "tiny-paper",
        "model": str(model),
        "task": "pos",
        "protocol": "reference",
        "methods": [{"method": "baseline"}, {"method": "before", "freeze": "front"}],
        "aligner": "dictionary",
        "seeds": [0],
        "train": {"language": "en", "split": "train", "dataset": "ewt"},
        "eval_languages": ["fr"],
        "eval_dataset": "reference",
        "realignment_pairs": [{"pair": "en-fr", "dataset": "opus100", "split": "train"}],
        "realignment": {"steps": 2, "batch_size": 4},
        "training": {"epochs": 1, "batch_size": 8, "micro_batch_size": 4, "learning_rate": 1e-3},
        **extra,
    }
    path.write_text(json.dumps(config))
    return path


def test_hub_loaders_read_every_dataset_of_the_mirror(offline):
    """The loaders of data/hub.py against the repositories' real layouts: labels by name
    (UD's order differs from XTREME's), multiword tokens dropped as the CoNLL-U reader does, NER
    from WikiANN."""
    ud = load_hub_records("pos", remote_origin("pos", "fr", "test", "gsd"))
    assert ud[0].words == FR[0].split() and ud[0].tags == ["DET", "NOUN", "VERB", "DET", "NOUN"]
    assert ud[-1].words == ["de", "le", "chat"]  # "du" (tagged "_") dropped
    xtreme = load_hub_records("pos", remote_origin("pos", "fr", "test"))
    assert [s.tags for s in xtreme] == [s.tags for s in ud[:-1]]
    wikiann = remote_origin("ner", "fr", "test")
    assert (wikiann.path, wikiann.name, wikiann.split) == ("unimelb-nlp/wikiann", "fr", "test")
    ner = load_hub_records("ner", wikiann)
    assert [s.words for s in ner] == [["Paris", "est", "grande"], ["Jean", "Dupont", "court"]]
    assert [s.tags for s in ner] == [["B-LOC", "O", "O"], ["B-PER", "I-PER", "O"]]
    nli = load_hub_records("nli", remote_origin("nli", "fr", "test"))
    assert [e.label for e in nli] == ["entailment", "contradiction"]
    (qa,) = load_hub_records("qa", remote_origin("qa", "es", "test"))
    assert qa.context[qa.answers[0].start :].startswith("en la casa")
    # A run without local files reads the same records through the catalog.
    source = DataCatalog(offline / "empty").find("ner", "fr", "test")
    assert source.hub is not None and source.load() == ner


def test_dry_run_lists_every_file_with_its_source(offline, tmp_path):
    config = preset(tmp_path / "tiny.yaml", "e5-small")
    result = CliRunner().invoke(app, ["fetch", str(config), "--data-dir", str(tmp_path / "data"), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    for expected in (
        "ud/en_ewt-ud-train.conllu",
        "hub:universal-dependencies/universal_dependencies/en_ewt[train]@refs/convert/parquet",
        "ud/fr_gsd-ud-test.conllu",
        "parallel/opus100/opus.en-fr-train.en",
        "hub:Helsinki-NLP/opus-100/en-fr[train]",
        "muse/en-fr.txt",
        f"https://{MUSE_PATH}/en-fr.txt",
        "0 present, 4 to fetch",
    ):
        assert expected in out, expected
    assert not (tmp_path / "data").exists()  # a dry run writes nothing


def test_fetch_then_run_a_tiny_preset_offline(offline, tmp_path, xlmr_tokenizer, monkeypatch):
    from fixtures_tasks import make_tiny_model

    model = make_tiny_model(tmp_path / "model", xlmr_tokenizer)
    data = tmp_path / "data"
    urls = tmp_path / "urls"
    (urls / MUSE_PATH).mkdir(parents=True)
    (urls / MUSE_PATH / "en-fr.txt").write_text(muse_text())
    # A second language that exists on the hub but neither in the mirror nor on the URL server:
    # its failures are named, the rest arrive.
    config = preset(
        tmp_path / "tiny.yaml",
        model,
        realignment_pairs=[
            {"pair": "en-fr", "dataset": "opus100", "split": "train"},
            {"pair": "en-de", "dataset": "opus100", "split": "train"},
        ],
    )
    with UrlServer(urls) as base:
        result = CliRunner().invoke(app, ["fetch", str(config), "--data-dir", str(data), "--url-mirror", base])
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "failed dictionary en-de muse:full from https://dl.fbaipublicfiles.com/arrival/dictionaries/en-de.txt" in out
    assert "HTTP 404" in out
    assert "failed parallel en-de opus100:train from hub:Helsinki-NLP/opus-100/de-en[train]" in out
    assert "4 fetched, 2 failed" in out
    manifest = json.loads((data / ".alignfreeze-fetch.json").read_text())
    assert manifest["muse/en-fr.txt"]["source"] == f"https://{MUSE_PATH}/en-fr.txt"
    assert manifest["muse/en-fr.txt"]["bytes"] == len(muse_text().encode())
    assert (data / "parallel/opus100/opus.en-fr-train.fr").read_text().splitlines()[:2] == FR[:2]

    # Fetched once: a second fetch of the en-fr preset has nothing left to get.
    config = preset(tmp_path / "tiny.yaml", model)
    again = CliRunner().invoke(app, ["fetch", str(config), "--data-dir", str(data), "--dry-run"])
    assert "4 present, 0 to fetch" in " ".join(again.output.split())

    # The preset runs from the fetched files alone: no hub mirror, hub offline.
    monkeypatch.delenv("ALIGNFREEZE_HUB_MIRROR")
    outcomes = run_experiment(load_experiment(config), tmp_path / "out", data_dir=data, progress=False)
    rows = [r for o in outcomes for r in o.rows]
    scores = [r for r in rows if r["stage"] == "finetuned"]
    assert {(r["method"], r["language"]) for r in scores} == {("baseline", "fr"), ("before", "fr")}
    realigned = json.loads((tmp_path / "out/runs" / outcomes[1].run.run_id / "metrics.json").read_text())
    assert realigned["realign"]["pairs_per_language"]["en-fr"] > 0
    # What realignment drew, recorded as run-level rows: 2 steps of 4 pairs, all distinct.
    counts = {r["metric"]: r["value"] for r in rows if r["stage"] == "run"}
    assert counts == {"realignment_pairs_drawn": 8, "realignment_pairs_distinct": 8}
    assert realigned["realignment_sentence_pairs"]["distinct"] == 8


def test_download_resumes_a_partial_file_and_checks_its_size(tmp_path):
    text = ("the le\n" * 5000).encode()
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "d.txt").write_bytes(text)
    target = tmp_path / "got" / "d.txt"
    target.parent.mkdir()
    (tmp_path / "got" / "d.txt.part").write_bytes(text[:1000])  # an interrupted earlier try
    server = UrlServer(tmp_path / "srv")
    with server as base:
        download(base + "d.txt", target)
    assert target.read_bytes() == text and not (tmp_path / "got" / "d.txt.part").exists()
    assert server.handler.ranges == ["bytes=1000-"]


def test_a_code_without_a_hub_mapping_fails_only_when_fetched():
    assert plan_target("pos", "sw", "test").source is None
    assert "no udpos configuration for 'sw'" in plan_target("pos", "sw", "test").reason
    assert plan_target("ner", "sw", "test").files == ("panx/test-sw.tsv",)
    with pytest.raises(AlignfreezeError, match="gold word alignments have no download source"):
        from alignfreeze.data.fetch import fetch_target

        fetch_target(plan_target("gold_align", "en-fr", "test"), "/nonexistent")


def test_only_configurations_and_splits_the_cards_list_have_a_source():
    """hub_configs.json decides, offline: a language XTREME's udpos lacks, a made-up code, a
    pair OPUS-100 lacks, a split a configuration lacks have no source, and each says why."""
    no_source = {
        ("pos", "ca", "test", None): "google/xtreme has no configuration 'udpos.Catalan'",
        ("pos", "th", "train", None): "google/xtreme udpos.Thai has no split 'train' (it has: test)",
        ("pos", "fr", "train", "pud"): "has no split 'train' (it has: test)",
        ("pos", "fr", "test", "nosuch"): "universal_dependencies has no configuration 'fr_nosuch'",
        ("ner", "qq", "test", None): "unimelb-nlp/wikiann has no configuration 'qq'",
        ("nli", "ja", "test", None): "facebook/xnli has no configuration 'ja'",
        ("qa", "ja", "test", None): "google/xquad has no configuration 'xquad.ja'",
        ("parallel", "en-sw", "train", "opus100"): "Helsinki-NLP/opus-100 has no configuration 'en-sw'",
        ("parallel", "en-yo", "dev", "opus100"): "Helsinki-NLP/opus-100 en-yo has no split 'validation'",
    }
    for (kind, language, split, dataset), reason in no_source.items():
        with pytest.raises(NoSourceError, match=re.escape(reason)):
            remote_origin(kind, language, split, dataset)
        target = plan_target(kind, language, split, dataset)
        assert target.source is None and reason in target.reason and target.files == ()
    # WikiANN for any language its card lists, named by ISO code; Cantonese is filed as zh-yue.
    assert remote_origin("ner", "uk", "dev").describe() == "hub:unimelb-nlp/wikiann/uk[validation]"
    assert remote_origin("ner", "yue", "test").name == "zh-yue"
    assert remote_origin("pos", "fr", "dev", "reference").data_dir == "fr_gsd"
    assert remote_origin("parallel", "en-ar", "train", "opus100").name == "ar-en"
    # A run without local files gets the same answer from the catalog, and the reason with it.
    with pytest.raises(AlignfreezeError, match=r"no ner data.*no hub source: unimelb-nlp/wikiann has no configuration"):
        DataCatalog("/nonexistent").find("ner", "qq", "test")


def test_the_mirror_holds_only_what_the_cards_list(mirror):
    """The mirror is laid out as the hub's repositories are: each configuration and split it
    holds is one hub_configs.json records for that repository."""
    found = mirrored_configs(mirror)
    assert set(found) >= {"unimelb-nlp/wikiann", "google/xtreme", "universal-dependencies/universal_dependencies"}
    for repo, configs in found.items():
        listed = hub_configs(repo)
        for config, splits in configs.items():
            assert config in listed, (repo, config)
            assert set(splits) <= set(listed[config]), (repo, config, splits)


def test_paper_ner_preset_reads_wikiann_for_every_language(tmp_path):
    """configs/paper/ner.yaml: English and its 34 evaluation languages from unimelb-nlp/wikiann
    (PAN-X has 12 of them not), and fetch's plan and the data-needs listing agree on every source."""
    from alignfreeze.experiments.grid import load_grid
    from alignfreeze.experiments.planning import data_needs

    paper = REPO_ROOT / "configs" / "paper" / "ner.yaml"
    plan = plan_fetch([paper], data_dir=tmp_path / "empty")
    ner = [t for t in plan.targets if t.kind == "ner"]
    languages = set(load_experiment(paper).eval_languages)
    assert len(languages) == 34 and {t.language for t in ner} == languages | {"en"}
    assert all(t.source is not None and t.source.path == "unimelb-nlp/wikiann" for t in ner)
    assert {t.source.name for t in ner if t.language in {"ca", "cs", "no", "uk"}} == {"ca", "cs", "no", "uk"}
    assert all(t.source is not None for t in plan.targets), [t.reason for t in plan.targets if t.source is None]
    needs = data_needs(load_grid(paper)[1], DataCatalog(tmp_path / "empty"))
    assert [need.remote for need in needs] == [t.source.describe() for t in plan.targets]


def test_dry_run_counts_configs_without_a_source(tmp_path):
    """A small NER config with two real languages and a made-up code: the code is listed as
    'no source' with the reason, and the summary counts it."""
    config = tmp_path / "ner.yaml"
    config.write_text(
        json.dumps(
            {
                "name": "ner-sources",
                "model": "e5-small",
                "task": "ner",
                "methods": [{"method": "baseline"}],
                "seeds": [0],
                "train": {"language": "en", "split": "train"},
                "eval_languages": ["uk", "qq"],
                "eval_split": "test",
            }
        )
    )
    result = CliRunner().invoke(app, ["fetch", str(config), "--data-dir", str(tmp_path / "data"), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "hub:unimelb-nlp/wikiann/en[train]" in out and "hub:unimelb-nlp/wikiann/uk[test]" in out
    rows = [line for line in result.output.splitlines() if line.startswith("│ ner ")]
    [unknown] = [line for line in rows if " qq " in line]
    assert "no source" in unknown and "unimelb-nlp/wikiann has no configuration 'qq'" in out
    assert "0 present, 2 to fetch, 1 without a known source" in out  # en train and uk test; qq


def test_en_x_config_finds_opus_files_named_with_sorted_codes(tmp_path):
    (tmp_path / "opus.ar-en-train.ar").write_text("مرحبا\n")
    (tmp_path / "opus.ar-en-train.en").write_text("hello\n")
    pairs, dataset = DataCatalog(tmp_path).parallel_pairs("en-ar", "train")
    assert dataset == "opus100" and (pairs[0].src, pairs[0].tgt) == ("hello", "مرحبا")
