"""The data-source registry: the catalog, fetch and the hub fallback all answer from it, so
they agree; a split a source does not have is an error, never another split."""

from __future__ import annotations

import itertools

import pytest

from alignfreeze.data.catalog import DataCatalog
from alignfreeze.data.fetch import plan_target
from alignfreeze.data.sources import (
    DATA_SOURCES,
    KINDS,
    DatasetSource,
    HubDataset,
    NoSourceError,
    find_source,
    hub_configs,
    register_source,
    remote_origin,
    remote_source,
    source_table,
)
from alignfreeze.errors import AlignfreezeError

#: A language and split each fetchable source has (checked against hub_configs.json below).
SAMPLES = {
    "xtreme": ("fr", "test", None),
    "ud": ("fr", "dev", "gsd"),
    "panx": ("uk", "train", None),
    "xnli": ("fr", "dev", None),
    "xquad": ("es", "test", None),
    "squad": ("en", "train", "squad"),
    "opus100": ("en-fr", "train", "opus100"),
    "nllb": ("en-ha", "train", "nllb"),
    "xtremer": ("fr", "test", "xtremer"),
    "muse": ("en-fr", "full", None),
}


def test_every_fetchable_source_is_sampled_and_its_fetched_files_are_read_back(tmp_path):
    """What a fetch writes, the catalog finds as the same data set: each source's
    ``fetched_as`` agrees with its ``layouts`` (or, for XTREME's udpos, UD's)."""
    assert {name for name, s in DATA_SOURCES.items() if s.fetchable} == set(SAMPLES)
    for name, (language, split, dataset) in SAMPLES.items():
        source = DATA_SOURCES[name]
        target = plan_target(source.kind, language, split, dataset)
        assert target.source is not None, target.reason
        root = tmp_path / name
        for relative in target.files:
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text("")
        found = DataCatalog(root).find(source.kind, language, split, dataset, allow_hub=False)
        assert [p.relative_to(root).as_posix() for p in found.files] == list(target.files), name


def test_remote_source_and_plan_target_agree_everywhere():
    """The two answers to "where does this data come from" are one: for every kind, split
    and dataset, both name the same source or both none."""
    datasets = [None, *DATA_SOURCES, "gsd", "reference", "nosuch"]
    languages = {"parallel": ["en-fr"], "dictionary": ["en-fr"], "gold_align": ["en-fr"]}
    for kind, split, dataset in itertools.product(KINDS, ["train", "dev", "validation", "test", "full"], datasets):
        for language in languages.get(kind, ["en", "es"]):
            described = remote_source(kind, language, split, dataset)
            target = plan_target(kind, language, split, dataset)
            assert (target.source.describe() if target.source else None) == described, (kind, language, split, dataset)
            assert bool(target.files) == (described is not None)
            assert target.reason or described is not None


@pytest.mark.parametrize("split", ["train", "dev", "validation"])
def test_qa_without_a_dataset_never_trains_on_xquads_test_set(tmp_path, split):
    """XQuAD has one split, test (the hub's validation): a QA config that names no dataset
    and asks for train or dev is refused, by the catalog, fetch and the grid listing alike."""
    with pytest.raises(NoSourceError, match="XQuAD has no split '(train|dev)' \\(it has: test\\)"):
        remote_origin("qa", "es", split)
    with pytest.raises(AlignfreezeError, match="no hub source: XQuAD has no split"):
        DataCatalog(tmp_path).find("qa", "es", split)
    assert remote_source("qa", "es", split) is None
    assert "XQuAD has no split" in plan_target("qa", "es", split).reason
    # A local XQuAD file is the test split, and only that.
    (tmp_path / "xquad").mkdir()
    (tmp_path / "xquad" / "xquad.es.json").write_text('{"data": []}')
    with pytest.raises(AlignfreezeError, match="no qa data for language 'es', split '(train|dev)'"):
        DataCatalog(tmp_path).find("qa", "es", split)
    assert DataCatalog(tmp_path).find("qa", "es", "test").files == [tmp_path / "xquad" / "xquad.es.json"]
    # SQuAD is trained on (and its dev set is the test set: it has no public one).
    assert remote_source("qa", "en", "train", "squad") == "hub:rajpurkar/squad/plain_text[train]"


def test_each_source_names_the_hub_configs_it_reads_and_a_licence():
    for name, source in DATA_SOURCES.items():
        assert source.licence and source.title and source.kind in KINDS, name
        if source.hub is not None:
            configs = hub_configs(source.hub.path)
            hub_splits = {split for splits in configs.values() for split in splits}
            assert set(source.splits.values()) <= hub_splits, name
            assert source.hub.columns, name
        assert source.fetchable or not source.fetched_as, name
    rows = source_table()
    assert [r["name"] for r in rows] == list(DATA_SOURCES)
    assert {r["licence"] for r in rows if r["name"] == "xnli"} == {"CC BY-NC 4.0"}


def test_which_source_a_dataset_names():
    assert find_source("pos", None).name == "xtreme"
    assert find_source("pos", "ewt").name == "ud"  # a treebank: a part of UD
    assert find_source("ner", "wikiann").name == find_source("ner", "xtreme").name == "panx"
    assert find_source("qa", None).name == "xquad"
    with pytest.raises(NoSourceError, match="no download source for parallel dataset \\(any\\): name one"):
        find_source("parallel", None)
    with pytest.raises(NoSourceError, match="no download source for nli dataset 'nosuch' \\(known: xnli\\)"):
        find_source("nli", "nosuch")
    with pytest.raises(NoSourceError, match="SQuAD v1.1 has one language, 'en'"):
        remote_origin("qa", "fr", "train", "squad")
    with pytest.raises(NoSourceError, match="MUSE dictionaries has no split '0-5000' \\(it has: full\\)"):
        remote_origin("dictionary", "en-fr", "0-5000")


def test_register_source_checks_its_entry():
    with pytest.raises(AlignfreezeError, match="a data source named 'xnli' exists already"):
        register_source(DatasetSource(name="xnli", kind="nli", title="x", licence="x"))
    with pytest.raises(AlignfreezeError, match="unknown kind 'sts'"):
        register_source(DatasetSource(name="stsb", kind="sts", title="x", licence="x"))
    with pytest.raises(NoSourceError, match="nobody/nothing is not listed in hub_configs.json"):
        register_source(
            DatasetSource(name="nothing", kind="nli", title="x", licence="x", hub=HubDataset("nobody/nothing"))
        )
    assert "nothing" not in DATA_SOURCES
