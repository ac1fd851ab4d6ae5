"""`alignfreeze fetch` with the network off: a local mirror stands in for the hub and a server on
127.0.0.1 for the URLs; the fetched files then feed a tiny preset end to end."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from alignfreeze.cli import app
from alignfreeze.data.catalog import DataCatalog, _hub_source
from alignfreeze.data.fetch import download, plan_target
from alignfreeze.data.hub import load_hub_records
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments import load_experiment, run_experiment
from hub_mirror import FR, UrlServer, build_hub_mirror, muse_text

MUSE_PATH = "dl.fbaipublicfiles.com/arrival/dictionaries"


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
    (UD's order differs from XTREME's), multiword tokens dropped as the CoNLL-U reader does."""
    ud = load_hub_records("pos", _hub_source("pos", "fr", "test", "gsd"))
    assert ud[0].words == FR[0].split() and ud[0].tags == ["DET", "NOUN", "VERB", "DET", "NOUN"]
    assert ud[-1].words == ["de", "le", "chat"]  # "du" (tagged "_") dropped
    xtreme = load_hub_records("pos", _hub_source("pos", "fr", "test"))
    assert [s.tags for s in xtreme] == [s.tags for s in ud[:-1]]
    ner = load_hub_records("ner", _hub_source("ner", "fr", "test"))
    assert ner[1].tags == ["B-PER", "I-PER", "O"]
    nli = load_hub_records("nli", _hub_source("nli", "fr", "test"))
    assert [e.label for e in nli] == ["entailment", "contradiction"]
    (qa,) = load_hub_records("qa", _hub_source("qa", "fr", "test"))
    assert qa.context[qa.answers[0].start :].startswith("dans la maison")
    # A run without local files reads the same records through the catalog.
    source = DataCatalog(offline / "empty").resolve("ner", "fr", "test")
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
    # A second language whose dictionary the server lacks: its failure is named, the rest arrive.
    config = preset(
        tmp_path / "tiny.yaml",
        model,
        realignment_pairs=[
            {"pair": "en-fr", "dataset": "opus100", "split": "train"},
            {"pair": "en-sw", "dataset": "opus100", "split": "train"},
        ],
    )
    with UrlServer(urls) as base:
        result = CliRunner().invoke(app, ["fetch", str(config), "--data-dir", str(data), "--url-mirror", base])
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "failed dictionary en-sw muse:full from https://dl.fbaipublicfiles.com/arrival/dictionaries/en-sw.txt" in out
    assert "HTTP 404" in out
    assert "failed parallel en-sw opus100:train from hub:Helsinki-NLP/opus-100/en-sw[train]" in out
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
    assert {(r["method"], r["language"]) for r in rows} == {("baseline", "fr"), ("before", "fr")}
    realigned = json.loads((tmp_path / "out/runs" / outcomes[1].run.run_id / "metrics.json").read_text())
    assert realigned["realign"]["pairs_per_language"]["en-fr"] > 0


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


def test_en_x_config_finds_opus_files_named_with_sorted_codes(tmp_path):
    (tmp_path / "opus.ar-en-train.ar").write_text("مرحبا\n")
    (tmp_path / "opus.ar-en-train.en").write_text("hello\n")
    pairs, dataset = DataCatalog(tmp_path).parallel_pairs("en-ar", "train")
    assert dataset == "opus100" and (pairs[0].src, pairs[0].tgt) == ("hello", "مرحبا")
