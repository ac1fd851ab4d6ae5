"""import-reference + report on a hand-made example whose answer is computed by hand."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from alignfreeze.cli import app
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.paper_table import holm, paper_table, round1
from alignfreeze.experiments.reference import METHOD_FORMS, ImportSummary, convert, map_method, reference_method

HEADER = (
    "seed,model,task,method,finetuning_steps,realignment_steps,eval_ar_accuracy,eval_de_accuracy,"
    "final_eval_ar_accuracy,final_eval_fr_accuracy,final_eval_avg_accuracy,final_eval_same_accuracy"
)

# mbert PoS, languages ar and fr (final_eval_) and de (eval_ only: the fallback), 3 seeds.
# eval_ar (0.1) must lose to final_eval_ar; avg (0.5) and same (0.97) are not target languages.
MBERT = {
    "baseline": {"ar": [0.60, 0.62, 0.61], "fr": [0.86, 0.86, 0.86], "de": [0.70] * 3},
    "freeze_realign_unfreeze_dico": {"ar": [0.63, 0.64, 0.65], "fr": [0.85, 0.85, 0.86], "de": [0.69] * 3},
    "freeze_realign_unfreeze_last_half_dico": {"ar": [0.6017] * 3, "fr": [0.861, 0.862, 0.86], "de": [0.70] * 3},
}
XLMR = {
    "baseline": [0.70, 0.72],
    "freeze_realign_unfreeze_dico": [0.69, 0.69],
    "freeze_realign_unfreeze_last_6_dico": [0.73, 0.73],
}


def reference_csv(path):
    lines = [HEADER]
    for method, langs in MBERT.items():
        for i, seed in enumerate((1, 2, 3)):
            lines.append(
                f"{seed},mbert,udpos,{method},1000,200,0.1,{langs['de'][i]},{langs['ar'][i]},{langs['fr'][i]},0.5,0.97"
            )
    for method, values in XLMR.items():
        for i, seed in enumerate((1, 2)):
            lines.append(f"{seed},xlmr,udpos,{method},1000,200,,,{values[i]},,0.5,0.97")
    for method, value in (("baseline", 0.50), ("during_dico", 0.52)):
        for seed in (1, 2, 3):
            lines.append(f"{seed},mbert,xnli,{method},1000,200,,,{value},,,")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_hand_computed_example_through_the_cli(tmp_path):
    runner = CliRunner()
    src = reference_csv(tmp_path / "reference.csv")
    result = runner.invoke(app, ["import-reference", str(src), "--out", str(tmp_path / "results.csv")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["report", str(tmp_path / "results.csv"), "--format", "json", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    objects = json.loads((tmp_path / "r" / "report.json").read_text())
    rows = {(o["model"], o["task"], o["method"], o["freeze"]): o for o in objects}
    # By hand (x100). mbert baseline: ar 61.0 (std 0.8165 -> 0.8), fr 86.0 (0.0), de 70.0 (0.0): average 72.33
    base = rows[("mbert", "pos", "baseline", "none")]
    assert (
        round(base["mean"], 1) == 72.3 and base["n_down"] is None and base["n_languages"] == 3 and base["n_seeds"] == 3
    )
    # front: ar 64.0 > 61.0 + 0.8 (up); fr 85.33 -> 85.3 < 86.0 (down); de 69.0 < 70.0 (down): avg 72.78
    front = rows[("mbert", "pos", "before", "front")]
    assert (round(front["mean"], 1), front["n_down"], front["n_up"]) == (72.8, 2, 1)
    # back: ar 60.17 -> 60.2, not < 61.0 - 0.8 = 60.2 (the unrounded 60.17 < 60.18 would count);
    # fr 86.1 > 86.0 + 0.0 (up); de 70.0 = 70.0: avg 72.09
    back = rows[("mbert", "pos", "before", "back")]
    assert (round(back["mean"], 1), back["n_down"], back["n_up"]) == (72.1, 0, 1)
    # xlmr: baseline ar 71.0 +- 1.0; front 69.0 < 70.0 (down); last_6 = back: 73.0 > 72.0 (up)
    assert (rows[("xlmr", "pos", "before", "front")]["n_down"], rows[("xlmr", "pos", "before", "back")]["n_up"]) == (
        1,
        1,
    )
    # nli: during 52.0 > 50.0 + 0.0 (up)
    assert rows[("mbert", "nli", "during", "none")]["n_up"] == 1
    totals = {(o["task"], o["method"], o["freeze"]): (o["n_down"], o["n_up"]) for o in objects if o["model"] == "total"}
    assert totals[("pos", "before", "front")] == (3, 1)
    assert totals[("pos", "before", "back")] == (0, 2)
    assert totals[("nli", "during", "none")] == (0, 1)
    assert totals[("all", "before", "front")] == (3, 1) and totals[("all", "during", "none")] == (0, 1)
    for o in objects:
        assert {
            "model",
            "task",
            "method",
            "freeze",
            "aligner",
            "metric",
            "mean",
            "std",
            "n_down",
            "n_up",
            "n_languages",
            "n_seeds",
        } <= set(o)
    md = runner.invoke(app, ["report", str(tmp_path / "results.csv")]).output
    # The released average (each run's own avg column, 0.5 here) sits beside ours.
    assert "| mbert | PoS | before/front/dictionary | accuracy | 72.8 | 50.0 | 2 | 1 |" in md
    assert "| before/front/dictionary | 3 / 1 |" in md


def test_import_maps_names_prefers_final_eval_and_keeps_avg(tmp_path):
    summary = ImportSummary()
    rows = convert(reference_csv(tmp_path / "reference.csv"), summary)
    first = [r for r in rows if r["run_id"] == rows[0]["run_id"]]
    # eval_ar (0.1) loses to final_eval_ar; de has eval_ only; same -> en; avg kept as "avg".
    assert {r["language"]: r["value"] for r in first} == {"ar": 0.60, "de": 0.70, "fr": 0.86, "en": 0.97, "avg": 0.5}
    assert (summary.runs, summary.duplicated_cells, summary.differing_cells) == (
        21,
        9,
        9,
    )  # 9 mbert pos runs have both ar columns
    bad = tmp_path / "bad.csv"
    bad.write_text("seed,model,task,method,final_eval_ar_accuracy\n1,m,udpos,baseline,61.0\n")
    with pytest.raises(AlignfreezeError, match=r"bad.csv:2:5: column final_eval_ar_accuracy: 61.0 is not a fraction"):
        convert(bad)


def test_every_reference_method_name_maps_both_ways():
    assert map_method("baseline") == ("baseline", "none", "none")
    assert map_method("before_fastalign") == ("before", "none", "fastalign")
    assert map_method("during_awesome") == ("during", "none", "awesome")
    assert map_method("freeze_realign_unfreeze_dico") == ("before", "front", "dictionary")
    assert map_method("freeze_realign_unfreeze_last_half_awesome") == ("before", "back", "awesome")
    assert map_method("freeze_realign_unfreeze_last_6_dico") == ("before", "back", "dictionary")
    assert map_method("during_partial_freeze_front_fastalign") == ("during", "front", "fastalign")
    assert map_method("during_partial_freeze_back_dico") == ("during", "back", "dictionary")
    for form in METHOD_FORMS:
        for aligner in ("dico", "fastalign", "awesome"):
            name = f"{form}_{aligner}"
            back = reference_method(*map_method(name))
            # last_6 is XLM-R's spelling of last_half: both read back as last_half.
            assert back == name.replace("last_6", "last_half"), name
    assert reference_method("baseline", "none", "none") == "baseline"
    assert reference_method("before", "front", "eflomal") is None  # eflomal stands in for FastAlign but is not it
    assert reference_method("before", "layers:0-3", "dictionary") is None
    for bad in (
        "sideways_dico",
        "before_giza",
        "freeze_realign_unfreeze_last_4_dico",
        "during_partial_freeze_middle_dico",
    ):
        with pytest.raises(ValueError, match="unknown reference method"):
            map_method(bad)


def test_qa_and_ner_files_import_every_metric(tmp_path):
    qa = tmp_path / "xquad.csv"
    qa.write_text(
        "seed,model,task,method,finetuning_steps,realignment_steps,distinct_realignment_samples,"
        "repeated_realignment_samples,train_loss,realignment_loss,task_loss,eval_ar_em,eval_ar_f1,eval_avg_em,"
        "eval_avg_f1,eval_same_em,eval_same_f1\n"
        "31,xlm-roberta-base,xquad,before_dico,10,10,5,160,0.5,0,0.5,0.25,0.5,0.25,0.5,0.75,0.875\n"
    )
    rows = convert(qa)
    got = {(r["language"], r["metric"]): r["value"] for r in rows}
    assert got == {
        ("ar", "exact_match"): 0.25,
        ("ar", "f1"): 0.5,
        ("avg", "exact_match"): 0.25,
        ("avg", "f1"): 0.5,
        ("en", "exact_match"): 0.75,
        ("en", "f1"): 0.875,
        # the released counts of what realignment drew: 160 in all, 5 distinct
        ("all", "realignment_pairs_drawn"): 160.0,
        ("all", "realignment_pairs_distinct"): 5.0,
    }
    assert {r["stage"] for r in rows if r["language"] == "all"} == {"run"}
    assert {r["task"] for r in rows} == {"qa"}
    ner = tmp_path / "wikiann.csv"
    ner.write_text(
        "seed,model,task,method,final_eval_fr_precision,final_eval_fr_recall,final_eval_fr_f1,final_eval_fr_accuracy\n"
        "17,m,wikiann,during_partial_freeze_back_dico,0.8,0.6,0.6857,0.9\n"
    )
    rows = convert(ner)
    assert sorted((r["metric"], r["value"]) for r in rows) == [
        ("accuracy", 0.9),
        ("f1", 0.6857),
        ("precision", 0.8),
        ("recall", 0.6),
    ]
    assert {(r["method"], r["freeze"], r["aligner"]) for r in rows} == {("during", "back", "dictionary")}


def test_unknown_names_and_columns_stop_with_file_line_column(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("seed,model,task,method,eval_ar_accuracy,wall_clock\n1,m,udpos,baseline,0.5,3\n")
    with pytest.raises(AlignfreezeError, match=r"r.csv:1:6: unknown column 'wall_clock'"):
        convert(path)
    path.write_text("seed,model,task,method,eval_ar_bleu\n1,m,udpos,baseline,0.5\n")
    with pytest.raises(AlignfreezeError, match=r"r.csv:1:5: column 'eval_ar_bleu': unknown metric 'bleu'"):
        convert(path)
    path.write_text("seed,model,task,method,eval_ar_accuracy\n1,m,udpos,baseline,0.5\n1,m,udpos,sideways_dico,0.5\n")
    with pytest.raises(AlignfreezeError, match=r"r.csv:3:4: unknown reference method 'sideways_dico'"):
        convert(path)
    path.write_text("seed,model,task,method,eval_ar_accuracy\n1,m,squad2,baseline,0.5\n")
    with pytest.raises(AlignfreezeError, match=r"r.csv:2:3: unknown task 'squad2'"):
        convert(path)


def test_rounding_follows_the_notebook():
    # .1f rounds the binary value half to even: 60.25 is exact in binary (-> 60.2), 77.05 is
    # stored as 77.0499... (-> 77.0). Decimal half-up reads the repr and gives 60.3 and 77.1.
    assert (round1(60.25), round1(77.05), round1(60.17)) == (60.2, 77.0, 60.2)
    assert (round1(60.25, "half_up"), round1(77.05, "half_up")) == (60.3, 77.1)
    # A case the two rules decide differently: baseline 0.6025 on 3 seeds (std 0), method 0.6031.
    rows = [
        {
            "run_id": f"{m}{s}",
            "model": "m",
            "task": "pos",
            "method": m,
            "aligner": "dictionary",
            "freeze": "front",
            "seed": s,
            "language": "ar",
            "metric": "accuracy",
            "value": v,
        }
        for m, v in (("baseline", 0.6025), ("before", 0.6031))
        for s in range(3)
    ]
    notebook = next(r for r in paper_table(rows)[0] if r.method == "before")
    half_up = next(r for r in paper_table(rows, rounding="half_up")[0] if r.method == "before")
    # notebook: baseline 60.25 -> 60.2, method 60.31 -> 60.3 > 60.2 + 0.0: up; half-up: 60.3 vs 60.3: not up.
    assert (notebook.n_up, half_up.n_up) == (1, 0)


def test_significance_counts_use_welch_and_holm():
    assert holm([0.01, 0.04, 0.03, float("nan")])[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert round1(100 * 0.6017) == 60.2
    rows = []
    for method, shift in (("baseline", 0.0), ("before", 0.05)):
        for seed, noise in enumerate((0.0, 0.002, -0.002, 0.001, -0.001)):
            for lang, base in (("ar", 0.6), ("fr", 0.8)):
                value = base + noise + (shift if lang == "ar" else 0.0)
                rows.append(
                    {
                        "run_id": f"{method}{seed}",
                        "model": "m",
                        "task": "pos",
                        "method": method,
                        "aligner": "dictionary",
                        "freeze": "front",
                        "seed": seed,
                        "language": lang,
                        "metric": "accuracy",
                        "value": value,
                    }
                )
    table, _ = paper_table(rows)
    before = next(r for r in table if r.method == "before")
    assert (before.sig_up, before.sig_down, before.n_up) == (1, 0, 1)


def find_chromium() -> str | None:
    """A Chromium or Chrome on PATH; the tests never install one."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_html_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    src = reference_csv(tmp_path / "reference.csv")
    assert (
        CliRunner().invoke(app, ["import-reference", str(src), "--out", str(tmp_path / "results.csv")]).exit_code == 0
    )
    result = CliRunner().invoke(
        app, ["report", str(tmp_path / "results.csv"), "--format", "html", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r" / "report.html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page and "http" not in page.replace("http-equiv", "")
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium or Chrome on PATH to render the HTML report in (install chromium to run this check)")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1400,1800",
            f"file://{tmp_path / 'r' / 'report.html'}",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), "Chromium wrote no screenshot"
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    counts = {rgb: n for n, rgb in colours}
    assert counts.get((0xF6, 0xD5, 0xD5), 0) > 200 and counts.get((0xD5, 0xEC, 0xD5), 0) > 200  # table's #↓ / #↑ cells
    # The heat map: saturated reds and blues of the RdBu colour map.
    red = sum(n for (r, g, b), n in counts.items() if r > 150 and g < 90 and b < 90)
    blue = sum(n for (r, g, b), n in counts.items() if b > 120 and r < 80)
    assert red > 500 and blue > 500, (red, blue)


def test_alignment_curves_appear_when_results_hold_alignment_rows():
    from alignfreeze.experiments.full_report import alignment_figures

    rows = []
    for method, freeze in (("baseline", "none"), ("before", "front")):
        for stage in ("initial", "finetuned") if method == "baseline" else ("initial", "realigned", "finetuned"):
            for layer in range(4):
                rows.append(
                    {
                        "run_id": method,
                        "model": "m",
                        "task": "pos",
                        "method": method,
                        "aligner": "dictionary",
                        "freeze": freeze,
                        "seed": 0,
                        "language": "fr",
                        "stage": stage,
                        "metric": f"alignment_strong_fwd_L{layer}",
                        "value": 0.1 * layer,
                    }
                )
    figures = alignment_figures(rows)
    assert list(figures) == ["alignment_m_pos"] and figures["alignment_m_pos"][:8] == b"\x89PNG\r\n\x1a\n"
    assert alignment_figures([{**r, "metric": "accuracy"} for r in rows]) == {}
