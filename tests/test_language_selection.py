"""realignment_languages: lists, named selections, script and family filters, URIEL distance."""

import numpy as np
import pytest

import alignfreeze as af
from alignfreeze.data.languages import from_nllb_code, script_of
from alignfreeze.data.selection import (
    NAMED_SELECTIONS,
    REFERENCE_SELECTIONS,
    cosine_distance,
    dataset_languages,
    expand_languages,
    uriel_distance,
    uriel_vector,
)

pytest.importorskip("lang2vec")

EXPERIMENT = """
name: sel
task: nli
models: [e5-small]
train: {language: en}
eval_languages: [fr]
methods: [{method: before}]
realignment_data: {dataset: opus100, split: train}
"""


def _experiment(tmp_path, extra: str, overrides=None):
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT + extra)
    return af.load_experiment(path, overrides)


def test_nllb_codes_map_to_ours_with_their_script():
    assert [from_nllb_code(c) for c in ("hau_Latn", "ewe_Latn", "gaz_Latn", "kaz_Cyrl", "mya_Mymr", "fr")] == [
        "ha",
        "ee",
        "om",
        "kk",
        "my",
        "fr",
    ]
    assert (script_of("my"), script_of("kk"), script_of("ja"), script_of("fon")) == ("Mymr", "Cyrl", "Jpan", "Latn")
    assert all(script_of(code) for code in NAMED_SELECTIONS["xt_afri"])


def test_reference_selections_are_the_scripts_lists():
    assert len(NAMED_SELECTIONS["xt_afri"]) == 65 == len(set(NAMED_SELECTIONS["xt_afri"]))
    assert len(NAMED_SELECTIONS["most_uriel_en_40"]) == 40
    assert set(NAMED_SELECTIONS["most_uriel_en_40"]) < set(NAMED_SELECTIONS["xt_afri"])
    # final_run_script.sh:27-28 keeps es, fr and ru but drops de, nl and it
    assert {"es", "fr", "ru"} <= set(NAMED_SELECTIONS["most_uriel_en_40"])
    assert not {"de", "nl", "it"} & set(NAMED_SELECTIONS["most_uriel_en_40"])
    assert REFERENCE_SELECTIONS["most_uriel_en_40"][:5] == ("af", "ar", "az", "eu", "mya_Mymr")


def test_cosine_distance_by_hand_ignores_missing_values():
    # known dimensions: 0 and 2 -> (1, 0) vs (1, 1): 1 - 1/sqrt(2)
    assert cosine_distance(np.array([1.0, -1, 0]), np.array([1.0, 1, 1])) == pytest.approx(1 - 2**-0.5)
    assert cosine_distance(np.array([0.0, 0]), np.array([1.0, 1])) == 1.0


def test_uriel_distance_is_the_mean_cosine_distance_of_the_feature_sets():
    by_hand = np.mean([cosine_distance(uriel_vector("en", s), uriel_vector("ja", s)) for s in ("syntax_knn", "fam")])
    assert uriel_distance("en", "ja", ["syntax_knn", "fam"]) == pytest.approx(by_hand)
    assert uriel_distance("en", "de", "syntax_knn") < uriel_distance("en", "ja", "syntax_knn")
    assert uriel_distance("en", "en") == pytest.approx(0.0)


def test_most_distant_ranks_farthest_first():
    pool = ["de", "nl", "ja", "ko"]
    got = expand_languages({"select": "most_distant", "pool": pool, "n": 2, "features": "fam"})
    # de and nl share Germanic with English (fam distance < 1); ja and ko share no family with it
    assert sorted(got) == ["ja", "ko"]
    assert expand_languages({"select": "most_distant", "pool": pool, "n": 4, "features": "fam"})[2:] == sorted(
        ["de", "nl"], key=lambda c: -uriel_distance("en", c, "fam")
    )


def test_script_and_family_filters():
    assert expand_languages({"pool": "xt_afri", "script": "Cyrl"}) == ["bg", "ru", "uk", "kk"]
    assert expand_languages({"pool": "xt_afri", "family": "Germanic"}) == ["af", "de", "nl"]
    assert expand_languages({"pool": ["de", "ja", "ru"], "script": ["Latn", "Jpan"]}) == ["de", "ja"]


def test_all_is_every_pair_the_dataset_lists():
    languages = dataset_languages("opus100", "train")
    assert {"fr", "de", "zu", "af"} <= set(languages) and "en" not in languages
    assert len(languages) == 99  # OPUS-100: English paired with 99 languages (hub_configs.json)
    assert "sn" not in languages  # no en-sn configuration in OPUS-100


def test_experiment_expands_the_selection_into_realignment_pairs(tmp_path):
    experiment = _experiment(tmp_path, "realignment_languages: [fr, hau_Latn]\n")
    pairs = experiment.runs()[0].realignment_pairs
    assert [(p.pair, p.split, p.dataset) for p in pairs] == [
        ("en-fr", "train", "opus100"),
        ("en-ha", "train", "opus100"),
    ]
    explicit = _experiment(
        tmp_path,
        "realignment_pairs: [{pair: en-fr, split: train, dataset: opus100}, {pair: en-ha, split: train, dataset: opus100}]\n",
    )
    assert explicit.runs()[0].run_id == experiment.runs()[0].run_id  # the same runs, however written
    named = _experiment(tmp_path, "realignment_languages: most_uriel_en_40\n")
    assert len(named.runs()[0].realignment_pairs) == 40


def test_selection_errors_are_one_line(tmp_path):
    with pytest.raises(af.AlignfreezeError, match="unknown selection 'nope'"):
        _experiment(tmp_path, "realignment_languages: nope\n")
    with pytest.raises(af.AlignfreezeError, match="most_distant needs n"):
        _experiment(tmp_path, "realignment_languages: {select: most_distant}\n")
    with pytest.raises(af.AlignfreezeError, match="not both"):
        _experiment(tmp_path, "realignment_languages: [fr]\nrealignment_pairs: [{pair: en-de}]\n")


def test_grid_dry_run_lists_the_selected_languages(tmp_path):
    from typer.testing import CliRunner

    from alignfreeze.cli import app

    path = tmp_path / "g.yaml"
    path.write_text(EXPERIMENT + "realignment_languages: {select: most_distant, pool: xt_afri, n: 3}\n")
    result = CliRunner().invoke(
        app, ["grid", str(path), "--out", str(tmp_path / "out"), "--dry-run", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    chosen = expand_languages({"select": "most_distant", "pool": "xt_afri", "n": 3})
    assert f"realignment languages (3, opus100/train): {' '.join('en-' + c for c in chosen)}" in result.output


def test_a_grid_sweeps_a_selection_setting():
    import yaml

    from alignfreeze.experiments.grid import expand_grid

    grid = yaml.safe_load(EXPERIMENT) | {
        "realignment_languages": {"select": "most_distant", "pool": "xt_afri", "n": [2, 3]}
    }
    runs = expand_grid(grid)
    assert sorted(len(r.realignment_pairs) for r in runs) == [2, 3]
