"""`import-reference` on the emnlp-2026 successor's result CSVs: hand-made files in their two
layouts (compact and wide raw), in folders named as theirs are."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from alignfreeze.cli import app
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.reference import (
    ImportSummary,
    convert,
    emnlp_language_map,
    emnlp_names,
    map_method,
    parse_emnlp_folder,
    reference_method,
)

URIEL_40 = (
    "af,ar,az,el,es,eu,ewe_Latn,fa,fon_Latn,fr,gaz_Latn,hau_Latn,he,ibo_Latn,ja,ka,kaz_Cyrl,kin_Latn,ko,lin_Latn,"
    "lug_Latn,mar_Deva,ml,ms,mya_Mymr,nya_Latn,ru,sna_Latn,ta,tel_Telu,tgl_Latn,th,tr,twi_Latn,ur,vi,xho_Latn,"
    "yor_Latn,zh,zul_Latn"
)


def _write(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_compact_file_maps_strategy_languages_and_english_test(tmp_path):
    """Format A: final_eval_ columns only; AfriXNLI's three-letter codes become ours, ``same``
    (the English test set) becomes en, and a seed's repeated row is imported once."""
    path = tmp_path / "most_uriel_en_40" / "xlm-roberta-large__mix_opus100_nllb__before_noaligner__xnli__16000__128.csv"
    header = ["seed", "model", "task", "method", "n_realignment_langs", "realignment_langs"]
    header += [
        "final_eval_ar_accuracy",
        "final_eval_hau_accuracy",
        "final_eval_orm_accuracy",
        "final_eval_same_accuracy",
    ]
    row = ["42", "xlm-roberta-large", "xnli", "before_noaligner", "40", URIEL_40, "0.777", "0.5", "0.25", "0.875"]
    _write(path, header, [row, ["31", *row[1:6], "0.7", "0.4", "0.3", "0.8"], row])
    summary = ImportSummary()
    rows = convert(path, summary)
    assert summary.runs == 2 and summary.repeated_runs == 1
    seed42 = {r["language"]: r["value"] for r in rows if r["seed"] == 42}
    assert seed42 == {"ar": 0.777, "ha": 0.5, "om": 0.25, "en": 0.875}
    first = rows[0]
    assert (first["method"], first["freeze"], first["aligner"], first["task"]) == ("before", "none", "none", "nli")
    assert first["run_id"].startswith("emnlp-most_uriel_en_40-nli-16000x128-s")
    assert {r["metric"] for r in rows} == {"accuracy"}


def test_wide_raw_baseline_file_keeps_final_eval_and_collisions(tmp_path):
    """Format B: bookkeeping, losses and eval_/final_eval_ columns; the baseline's folder is
    ft_only. AfriXNLI's fra stays fra beside XNLI's fr, and eng stays eng beside same."""
    path = tmp_path / "ft_only" / "xlm-roberta-large__mix_opus100_nllb__baseline__xnli__16000__128.csv"
    header = ["seed", "model", "task", "method", "n_realignment_langs", "realignment_langs", "finetuning_steps"]
    header += ["realignment_steps", "distinct_realignment_samples", "repeated_realignment_samples", "train_loss"]
    header += ["task_loss", "eval_fr_accuracy", "eval_avg_accuracy", "eval_same_accuracy"]
    header += ["final_eval_fr_accuracy", "final_eval_fra_accuracy", "final_eval_eng_accuracy"]
    header += ["final_eval_avg_accuracy", "final_eval_same_accuracy"]
    row = ["42", "xlm-roberta-large", "xnli", "baseline", "65", "af,amh_Ethi", "6136", "0", "0", "0", "0.35"]
    row += ["0.35", "0.7", "0.6", "0.9", "0.75", "0.5", "0.85", "0.65", "0.88"]
    _write(path, header, [row])
    summary = ImportSummary()
    rows = convert(path, summary)
    values = {r["language"]: r["value"] for r in rows}
    assert values == {"fr": 0.75, "fra": 0.5, "eng": 0.85, "avg": 0.65, "en": 0.88}
    assert summary.differing_cells == 3  # fr, avg and same: eval_ after the last epoch, final_eval_ at the end
    assert {(r["method"], r["aligner"]) for r in rows} == {("baseline", "none")}
    assert all(r["stage"] == "finetuned" for r in rows)  # a baseline has no realignment counts


def test_tasks_and_metrics_of_their_three_tasks(tmp_path):
    folder = tmp_path / "xt_afri__weighted__ucb__excoef0.1"
    base = ["seed", "model", "task", "method", "n_realignment_langs", "realignment_langs"]
    ner = folder / "xlm-roberta-large__mix_opus100_nllb__before_noaligner__wikiann__2000__128.csv"
    _write(
        ner,
        [*base, "final_eval_swa_f1", "final_eval_hau_f1", "final_eval_same_f1"],
        [["66", "m", "wikiann", "before_noaligner", "65", "af", "0.6", "0.7", "0.8"]],
    )
    pos = folder / "xlm-roberta-large__mix_opus100_nllb__before_noaligner__xtreme_r.udpos__2000__128.csv"
    _write(
        pos, [*base, "final_eval_wo_accuracy"], [["66", "m", "xtreme_r.udpos", "before_noaligner", "65", "af", "0.7"]]
    )
    ner_rows, pos_rows = convert(ner), convert(pos)
    assert {(r["task"], r["language"], r["metric"]) for r in ner_rows} == {
        ("ner", "swa", "f1"),  # MasakhaNER's Swahili; sw is XTREME-R's
        ("ner", "ha", "f1"),
        ("ner", "en", "f1"),
    }
    assert [(r["task"], r["language"]) for r in pos_rows] == [("pos", "wo")]
    assert pos_rows[0]["run_id"].startswith("emnlp-xt_afri__weighted__ucb__excoef0.1-pos-2000x128-s66-")


def test_a_method_other_than_the_file_name_says_is_refused(tmp_path):
    path = tmp_path / "xt_afri" / "m__mix_opus100_nllb__before_noaligner__xnli__2000__128.csv"
    _write(
        path,
        ["seed", "model", "task", "method", "n_realignment_langs", "realignment_langs", "final_eval_ar_accuracy"],
        [["1", "m", "xnli", "baseline", "65", "af", "0.5"]],
    )
    with pytest.raises(AlignfreezeError, match=r":2:4: method 'baseline': the file name says 'before_noaligner'"):
        convert(path)
    renamed = tmp_path / "xt_afri" / "results.csv"
    renamed.write_text(path.read_text())
    with pytest.raises(AlignfreezeError, match="is named <model>__mix_opus100_nllb__"):
        convert(renamed)
    odd = tmp_path / "random_10" / path.name
    _write(
        odd,
        ["seed", "model", "task", "method", "n_realignment_langs", "realignment_langs", "final_eval_ar_accuracy"],
        [["1", "m", "xnli", "before_noaligner", "10", "af", "0.5"]],
    )
    with pytest.raises(AlignfreezeError, match="unknown selection 'random_10'"):
        convert(odd)


def test_folders_parse_and_our_runs_get_their_names_back():
    assert parse_emnlp_folder("xt_afri") == {"selection": "xt_afri", "weighting": None, "adapter": None}
    ucb = parse_emnlp_folder("xt_afri__weighted__ucb__excoef0.1")["weighting"]
    assert ucb == {"kind": "ucb", "exploration_coef": 0.1}
    meta = parse_emnlp_folder("xt_afri__weighted__innerb10__metalr1e-3")["weighting"]
    assert meta == {"kind": "meta", "inner_batches": 10, "meta_lr": 0.001, "decoupled": False}
    decoupled = parse_emnlp_folder("xt_afri__weighted__decouple__innerb10__metalr1e-3")["weighting"]
    assert decoupled["decoupled"] is True
    assert parse_emnlp_folder("most_uriel_en_40__adapt__same")["adapter"] == "same"

    from alignfreeze.data.languages import from_nllb_code

    uriel = [from_nllb_code(c) for c in URIEL_40.split(",")]
    names = emnlp_names("before", "none", "contrastive_sentence", ["en", *uriel])
    assert names == {"strategy": "before_noaligner", "selection": "most_uriel_en_40", "folder": "most_uriel_en_40"}
    for folder in (
        "xt_afri__weighted__ucb__excoef0.1",
        "xt_afri__weighted__innerb10__metalr1e-3",
        "xt_afri__weighted__decouple__innerb10__metalr1e-3",
    ):
        from alignfreeze.experiments.reference import _selection_languages

        langs = sorted(_selection_languages()["xt_afri"])
        weighting = parse_emnlp_folder(folder)["weighting"]
        assert emnlp_names("before", None, "contrastive_sentence", langs, weighting)["folder"] == folder
    assert emnlp_names("baseline")["folder"] == "ft_only"
    other = emnlp_names("before", "dictionary", "contrastive_word", ["fr", "de"])
    assert other == {"strategy": None, "selection": None, "folder": None}
    assert map_method("before_noaligner") == ("before", "none", "none")
    assert reference_method("before", "none", "none") == "before_noaligner"


def test_language_map_keeps_codes_whose_two_letter_form_is_taken():
    assert emnlp_language_map(["fr", "fra", "amh", "eng", "same", "avg", "pcm"]) == {"same": "en", "amh": "am"}
    # AfriXNLI's swa stays swa in a compact XNLI file too, which has no XNLI sw column:
    # sw means XNLI's Swahili in every file.
    assert emnlp_language_map(["ar", "swa", "same"], "nli") == {"same": "en"}
    assert emnlp_language_map(["ar", "swa", "same"], "pos") == {"same": "en", "swa": "sw"}
    assert emnlp_language_map(["yo", "yor", "wol"], "ner") == {"same": "en", "wol": "wo"}


def test_cli_imports_an_emnlp_file(tmp_path):
    path = tmp_path / "xt_afri" / "xlm-roberta-large__mix_opus100_nllb__before_noaligner__xnli__8000__128.csv"
    _write(
        path,
        ["seed", "model", "task", "method", "n_realignment_langs", "realignment_langs", "final_eval_zul_accuracy"],
        [["31", "xlm-roberta-large", "xnli", "before_noaligner", "65", "af", "0.5"]],
    )
    out = tmp_path / "imported.csv"
    result = CliRunner().invoke(app, ["import-reference", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 rows from 1 runs" in result.output
    lines = out.read_text().splitlines()
    assert lines[1].split(",")[1:] == [
        "xlm-roberta-large",
        "nli",
        "before",
        "none",
        "none",
        "31",
        "zu",
        "finetuned",
        "accuracy",
        "0.5",
    ]


def test_the_successor_preset_has_the_reference_names():
    from alignfreeze.experiments import load_experiment
    from alignfreeze.experiments.reference import emnlp_names_of_run
    from alignfreeze.paths import REPO_ROOT

    runs = load_experiment(REPO_ROOT / "configs" / "successor" / "xnli-noaligner.yaml").runs()
    names = {run.label: emnlp_names_of_run(run) for run in runs}
    assert names["before/none/none"] == {
        "strategy": "before_noaligner",
        "selection": "most_uriel_en_40",
        "folder": "most_uriel_en_40",
    }
    assert names["baseline"]["folder"] == "ft_only"
    ucb = runs[-1].model_copy(
        update={
            "realignment": runs[-1].realignment.model_copy(
                update={"language_weighting": "ucb", "weighting_exploration": 0.1}
            )
        }
    )
    assert emnlp_names_of_run(ucb)["folder"] == "most_uriel_en_40__weighted__ucb__excoef0.1"
