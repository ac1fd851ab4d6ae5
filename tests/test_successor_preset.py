"""The successor preset (configs/successor/): its dry run lists the selected languages, the
budget and the data to fetch, offline; sentence retrieval, the measure its acceptance
figures use, on a tiny model."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from alignfreeze.cli import app
from alignfreeze.data.languages import from_nllb_code
from alignfreeze.data.selection import REFERENCE_SELECTIONS
from alignfreeze.paths import REPO_ROOT

PRESETS = REPO_ROOT / "configs" / "successor"


def dry_run(name: str, data_dir, out) -> str:
    result = CliRunner().invoke(
        app, ["grid", str(PRESETS / name), "--dry-run", "--data-dir", str(data_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_headline_preset_lists_40_languages_the_budget_and_the_sources(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    output = dry_run("xnli-noaligner.yaml", empty, tmp_path / "out")
    runs = [line.split("│") for line in output.splitlines() if re.match(r"│ [0-9a-f]{12} ", line)]
    assert len(runs) == 10  # baseline and before x 5 seeds
    realigned = [[c.strip() for c in cells] for cells in runs if "before/" in cells[4]]
    assert len(realigned) == 5
    for cells in realigned:
        # 40 corpora; the budget, 2,048,000 pairs, is the reference's 16,000 steps of 128.
        assert cells[6] == "40" and cells[8] == "2,048,000" and cells[9] == "16000", cells
    listed = re.search(r"realignment languages \(40, mix_opus100_nllb/train\): (.*)", output.replace("\n", " "))
    assert listed, output
    expected = {from_nllb_code(code) for code in REFERENCE_SELECTIONS["most_uriel_en_40"]}
    assert set(re.findall(r"en-([a-z]+)", listed.group(1))) >= expected
    # Two-letter codes from OPUS-100, the others from NLLB, as the reference downloads them.
    assert "hub:Helsinki-NLP/opus-100/en-fr[train]" in output
    assert "allennlp-data-bucket/nllb/eng_Latn-hau_Latn.gz" in output
    assert "hub:facebook/xnli/sw[test]" in output


def test_sentence_retrieval_finds_each_sentence_among_copies_of_its_side(xlmr_tokenizer):
    from alignfreeze.analysis.translation import sentence_retrieval
    from tiny_models import tiny_model

    sentences = ["the cat sleeps", "a dog runs far away", "rain today", "seven green apples on a table"]
    model = tiny_model(layers=2)
    accuracy = sentence_retrieval(model, xlmr_tokenizer, sentences, sentences)
    assert accuracy == [1.0, 1.0, 1.0]  # embeddings and the 2 layers: each sentence is its own nearest
    shifted = sentence_retrieval(model, xlmr_tokenizer, sentences, sentences[1:] + sentences[:1])
    assert all(value < 1.0 for value in shifted)
