"""The How-to pages' worked examples run: each page's ``python`` blocks, in order, in one
namespace (a block right after ``<!-- not run -->`` is shown only: it edits the package or
downloads a model). The registries the pages add to are restored afterwards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

HOWTO = Path(__file__).resolve().parents[1] / "docs" / "how-to"
NOT_RUN = "<!-- not run -->"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """``(line, code)`` of each block of ``page`` that is run."""
    text = page.read_text(encoding="utf-8")
    blocks, end = [], 0
    for found in BLOCK.finditer(text):
        if not text[end : found.start()].rstrip().endswith(NOT_RUN):
            blocks.append((text.count("\n", 0, found.start()) + 2, found.group(1)))
        end = found.end()
    return blocks


def run_page(name: str, namespace: dict) -> dict:
    page = HOWTO / name
    blocks = python_blocks(page)
    assert blocks, f"{page} has no python block that runs"
    for line, code in blocks:
        # As a reader runs it: without this file's `from __future__ import annotations`.
        exec(compile(code, f"{page}:{line}", "exec", dont_inherit=True), namespace)
    return namespace


@pytest.fixture
def clean_registries():
    """Whatever a page registers is gone after its test."""
    from alignfreeze.align.config import ALIGNER_CONFIGS
    from alignfreeze.analysis.retrieval_modes import RETRIEVAL_MODES
    from alignfreeze.data.sources import DATA_SOURCES
    from alignfreeze.realign.objectives import OBJECTIVES

    registries = (ALIGNER_CONFIGS, DATA_SOURCES, RETRIEVAL_MODES, OBJECTIVES)
    saved = [(registry, dict(registry)) for registry in registries]
    yield
    for registry, before in saved:
        registry.clear()
        registry.update(before)


def test_blocks_after_the_marker_are_not_run(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# t\n\n```python\nx = 1\n```\n\n<!-- not run -->\n```python\nraise SystemExit\n```\n")
    assert python_blocks(page) == [(4, "x = 1\n")]


def test_add_an_aligner(clean_registries, xlmr_tokenizer):
    from alignfreeze.align.config import ALIGNER_CONFIGS
    from tiny_models import tiny_model

    run_page("add-an-aligner.md", {"model": tiny_model(layers=2), "tokenizer": xlmr_tokenizer})
    assert "diagonal" in ALIGNER_CONFIGS


def test_an_added_aligner_is_gone_after_its_test():
    from alignfreeze.align.config import ALIGNER_CONFIGS, parse_aligner
    from alignfreeze.errors import AlignfreezeError

    assert "diagonal" not in ALIGNER_CONFIGS
    with pytest.raises(AlignfreezeError, match="unknown aligner 'diagonal'"):
        parse_aligner("diagonal")


def test_add_an_objective(clean_registries, xlmr_tokenizer):
    from alignfreeze.realign.objectives import OBJECTIVES
    from test_realign import corpus
    from tiny_models import tiny_model

    run_page("add-an-objective.md", {"model": tiny_model(layers=2), "tokenizer": xlmr_tokenizer, "corpus": corpus()})
    assert "cosine_word" in OBJECTIVES


def test_an_added_objective_is_gone_after_its_test():
    from alignfreeze.realign.objectives import OBJECTIVES

    assert "cosine_word" not in OBJECTIVES


def test_add_a_dataset_source(clean_registries, tmp_path):
    from fixtures_tasks import make_data_root

    namespace = run_page("add-a-dataset-source.md", {"data_root": make_data_root(tmp_path / "data")})
    assert namespace["catalog"].root == tmp_path / "data"


def test_add_a_metric(clean_registries, xlmr_tokenizer, tmp_path, monkeypatch):
    from alignfreeze.analysis.retrieval_modes import RETRIEVAL_MODES
    from fixtures_tasks import make_data_root
    from tiny_models import tiny_model

    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path / "home"))  # caches of the measure stay here
    namespace = {"model": tiny_model(layers=2), "tokenizer": xlmr_tokenizer, "data_root": make_data_root(tmp_path)}
    run_page("add-a-metric.md", namespace)
    assert "mutual" in RETRIEVAL_MODES


def test_the_yaml_entry_on_the_dataset_source_page_is_the_registered_source(clean_registries, tmp_path):
    """The page shows one source twice, registered from Python and as a ``sources.yaml``
    entry: the two must describe the same source."""
    import yaml

    from alignfreeze.data.sources import DATA_SOURCES, source_from_entry
    from fixtures_tasks import make_data_root

    page = HOWTO / "add-a-dataset-source.md"
    (entry,) = re.findall(r"^```yaml\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M)
    ((name, fields),) = yaml.safe_load(entry).items()
    run_page(page.name, {"data_root": make_data_root(tmp_path / "data")})
    assert source_from_entry(name, fields) == DATA_SOURCES[name]
