"""`alignfreeze run` on a tiny model and toy data: rows, resume, kill -9, validation."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments import load_experiment, run_experiment
from alignfreeze.experiments.results import append_rows, reconcile
from alignfreeze.schema import COLUMNS
from fixtures_tasks import experiment_yaml


def read_results(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_run_writes_long_format_rows_and_resumes(toy):
    root, model, tmp = toy
    methods = [{"method": "baseline"}, {"method": "before", "freeze": "front"}, {"method": "during"}]
    cfg = experiment_yaml(tmp / "toy.yaml", model, methods)
    out = tmp / "out"
    outcomes = run_experiment(load_experiment(cfg), out, data_dir=root, progress=False)
    assert [o.skipped for o in outcomes] == [False, False, False]
    rows = read_results(out / "results.csv")
    assert tuple(rows[0]) == COLUMNS
    assert {(r["method"], r["freeze"], r["aligner"]) for r in rows} == {
        ("baseline", "none", "none"),
        ("before", "front", "dictionary"),
        ("during", "none", "dictionary"),
    }
    scores = [r for r in rows if r["stage"] == "finetuned"]
    assert {r["language"] for r in scores} == {"en", "fr"} and {r["metric"] for r in scores} == {"accuracy"}
    assert all(0.0 <= float(r["value"]) <= 1.0 for r in scores)
    # What realignment drew (stage "run"): before, 2 steps of 4 pairs; during, one batch of 4
    # per fine-tuning optimiser step (5). The toy corpus has more than 20 pairs: none repeats.
    drawn = {(r["method"], r["metric"]): float(r["value"]) for r in rows if r["stage"] == "run"}
    assert drawn == {
        ("before", "realignment_pairs_drawn"): 8,
        ("before", "realignment_pairs_distinct"): 8,
        ("during", "realignment_pairs_drawn"): 20,
        ("during", "realignment_pairs_distinct"): 20,
    }
    for o in outcomes:
        run_dir = out / "runs" / o.run.run_id
        assert {p.name for p in run_dir.iterdir()} >= {"config.yaml", "metrics.json", "log.txt"}
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["finetune"]["optimizer_steps"] == 5  # 40 examples / batch 8, 1 epoch
    assert "realigned 2 steps" in (out / "runs" / outcomes[1].run.run_id / "log.txt").read_text()
    again = run_experiment(load_experiment(cfg), out, data_dir=root, progress=False)
    assert all(o.skipped for o in again)
    assert read_results(out / "results.csv") == rows


def test_a_failed_run_is_recorded_the_others_go_on_and_the_error_is_raised_after(toy):
    """`run` is the grid driver's serial path: a run that fails (its model's weights are
    unreadable, which preflight, reading config.json only, cannot see) leaves failed.json,
    the next run still runs, then the first failure's own error is raised; run again, only
    the failed run runs."""
    import shutil

    root, model, tmp = toy
    broken_model = tmp / "broken-model"
    shutil.copytree(model, broken_model)
    (weights,) = broken_model.glob("*.safetensors")
    weights.write_bytes(b"not a safetensors file")
    cfg = experiment_yaml(tmp / "x.yaml", model, [{"method": "baseline"}])
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "model": [str(broken_model), str(model)]}))
    broken, good = load_experiment(cfg).runs()
    out = tmp / "out"
    with pytest.raises(Exception) as raised:
        run_experiment(load_experiment(cfg), out, data_dir=root, progress=False)
    failed = json.loads((out / "runs" / broken.run_id / "failed.json").read_text())
    assert failed["error"] == f"{type(raised.value).__name__}: {raised.value}"
    assert {r["run_id"] for r in read_results(out / "results.csv")} == {good.run_id}
    shutil.copy(next(model.glob("*.safetensors")), weights)
    outcomes = run_experiment(load_experiment(cfg), out, data_dir=root, progress=False)
    assert [(o.run.run_id, o.skipped) for o in outcomes] == [(broken.run_id, False), (good.run_id, True)]
    assert not (out / "runs" / broken.run_id / "failed.json").exists()


def test_run_id_is_a_hash_of_the_resolved_config(toy):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "a.yaml", model, [{"method": "baseline"}])
    a = load_experiment(cfg).runs()[0]
    b = load_experiment(cfg, ["training.learning_rate=0.002"]).runs()[0]
    c = load_experiment(cfg, ["realignment.steps=7"]).runs()[0]  # irrelevant to a baseline
    assert a.run_id != b.run_id and a.run_id == c.run_id and len(a.run_id) == 12


@pytest.mark.parametrize(
    "override,message",
    [
        ("task=sts", "task: Input should be 'pos', 'ner', 'nli' or 'qa'"),
        ("eval_languages=[EN]", "language 'EN' is not an ISO 639 code"),
        ("eval_languages=[french]", "language 'french' is not an ISO 639 code"),
        ("methods=[{method: before, freeze: middle}]", "unknown freeze spec 'middle'"),
        (
            "model=./no/such/model",
            "is neither an embedded model (e5-small, gemma3-270m), an existing folder, nor a hub id",
        ),
        ("trainng={epochs: 1}", "trainng: Extra inputs are not permitted"),
        ("methods=[{method: sideways}]", "Input should be 'baseline', 'before', 'during' or 'before+during'"),
    ],
)
def test_bad_configs_fail_before_training(toy, override, message):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "bad.yaml", model, [{"method": "baseline"}])
    with pytest.raises(AlignfreezeError, match="invalid configuration") as err:
        load_experiment(cfg, [override])
    assert message in str(err.value)


def test_language_without_data_names_the_path(toy, monkeypatch):
    root, model, tmp = toy
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = experiment_yaml(tmp / "de.yaml", model, [{"method": "baseline"}], eval_languages=["de"])
    with pytest.raises(AlignfreezeError, match=rf"no pos data for language 'de'.*{root}/\*\*/de_toy-ud-test\.conllu"):
        run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)
    assert not (tmp / "out" / "runs").exists() or not any((tmp / "out" / "runs").iterdir())


def test_any_iso_code_works_with_local_files_and_names_what_is_missing(toy, monkeypatch):
    """Swahili (and any ISO 639 code, 'fra' read as 'fr') is a language like the others: with
    its file under the data root it runs; without it, the error names the file looked for and
    says that no hub source is known for a code outside the hub's names."""
    from alignfreeze.data.catalog import remote_source

    root, model, tmp = toy
    (root / "ud" / "sw_toy-ud-test.conllu").write_text((root / "ud" / "fr_toy-ud-test.conllu").read_text())
    cfg = experiment_yaml(tmp / "sw.yaml", model, [{"method": "baseline"}], eval_languages=["sw", "fra"])
    experiment = load_experiment(cfg)
    assert [ref.language for ref in experiment.runs()[0].eval] == ["en", "sw", "fr"]
    outcome = run_experiment(experiment, tmp / "out", data_dir=root, progress=False)[0]
    assert {r["language"] for r in outcome.rows} == {"en", "sw", "fr"}
    assert remote_source("pos", "sw", "test") is None  # XTREME's udpos has no Swahili config
    assert remote_source("ner", "sw", "test") == "hub:unimelb-nlp/wikiann/sw[test]"
    missing = experiment_yaml(tmp / "yo.yaml", model, [{"method": "baseline"}], eval_languages=["yo"])
    with pytest.raises(AlignfreezeError, match=r"no pos data for language 'yo'.*yo_toy-ud-test"):
        run_experiment(load_experiment(missing), tmp / "out2", data_dir=root, progress=False)


def test_reconcile_repairs_torn_lines_missing_rows_and_strays(tmp_path):
    out = tmp_path

    def rows(rid):
        return [
            dict(zip(COLUMNS, [rid, "m", "pos", "baseline", "none", "none", 0, lang, "finetuned", "accuracy", 0.5]))
            for lang in ("en", "fr")
        ]

    for rid in ("aaa", "bbb"):
        (out / "runs" / rid).mkdir(parents=True)
        (out / "runs" / rid / "metrics.json").write_text(json.dumps({"rows": rows(rid)}))
    append_rows(out / "results.csv", rows("aaa"))
    (out / "runs" / "zzz").mkdir(parents=True, exist_ok=True)  # alignfreeze started it: config.yaml, no metrics.json
    (out / "runs" / "zzz" / "config.yaml").write_text("")
    append_rows(out / "results.csv", rows("zzz"))  # a run without metrics.json
    with open(out / "results.csv", "a") as f:
        f.write("bbb,m,pos,base")  # torn write of bbb's rows
    done = reconcile(out)
    assert set(done) == {"aaa", "bbb"}
    got = Counter((r["run_id"], r["language"]) for r in read_results(out / "results.csv"))
    assert got == Counter({("aaa", "en"): 1, ("aaa", "fr"): 1, ("bbb", "en"): 1, ("bbb", "fr"): 1})


def test_results_written_before_the_stage_column_are_upgraded(tmp_path):
    old = [
        "run_id,model,task,method,aligner,freeze,seed,language,metric,value",
        "aaa,m,pos,baseline,none,none,0,en,accuracy,0.5",
    ]
    (tmp_path / "runs" / "aaa").mkdir(parents=True)
    (tmp_path / "runs" / "aaa" / "metrics.json").write_text(
        json.dumps({"rows": [dict(zip(old[0].split(","), old[1].split(",")))]})
    )
    (tmp_path / "results.csv").write_text("\n".join(old) + "\n")
    reconcile(tmp_path)
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert lines == [",".join(COLUMNS), "aaa,m,pos,baseline,none,none,0,en,finetuned,accuracy,0.5"]


@pytest.mark.slow
def test_kill_minus_9_and_resume_keep_every_row_once(toy):
    root, model, tmp = toy
    methods = [
        {"method": "baseline"},
        {"method": "before", "freeze": "none"},
        {"method": "before", "freeze": "back"},
        {"method": "during"},
    ]
    cfg = experiment_yaml(tmp / "kill.yaml", model, methods, seeds=[0, 1])
    out = tmp / "out"
    cmd = [
        sys.executable,
        "-m",
        "alignfreeze.cli",
        "run",
        str(cfg),
        "--out",
        str(out),
        "--data-dir",
        str(root),
        "--quiet",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    killed = []
    for later in (1, 2):  # kill once after the first run is recorded, once two runs into the restart
        target = len(list(out.glob("runs/*/metrics.json"))) + later
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if len(list(out.glob("runs/*/metrics.json"))) >= target:
                time.sleep(0.3)  # land somewhere inside the next run (or its bookkeeping)
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        killed.append(proc.wait() == -signal.SIGKILL)  # False: it ended by itself, every run done
    assert killed == [True, True]
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    rows = read_results(out / "results.csv")
    runs = load_experiment(cfg).runs()
    scores = [r for r in rows if r["stage"] == "finetuned"]
    assert Counter(r["run_id"] for r in scores) == Counter({run.run_id: 2 for run in runs})  # en + fr, once each
    assert len({tuple(r.values()) for r in rows}) == len(rows)


def test_alignment_is_measured_at_three_stages_on_held_out_sentences(toy):
    root, model, tmp = toy
    methods = [{"method": "baseline"}, {"method": "before", "freeze": "front+embeddings"}]
    analysis = {"alignment": True, "n_pairs": 8, "pairs": [{"pair": "en-fr", "dataset": "un", "split": "test"}]}
    cfg = experiment_yaml(tmp / "align.yaml", model, methods, analysis=analysis)
    experiment = load_experiment(cfg)
    assert all(r.analysis.exclude_pairs == experiment.realignment_pairs for r in experiment.runs())
    outcomes = run_experiment(experiment, tmp / "out", data_dir=root, progress=False)
    rows = read_results(tmp / "out" / "results.csv")
    alignment = [r for r in rows if r["metric"].startswith("alignment_")]
    stages = {(r["method"], r["stage"]) for r in alignment}
    assert stages == {
        ("baseline", "initial"),
        ("baseline", "finetuned"),
        ("before", "initial"),
        ("before", "realigned"),
        ("before", "finetuned"),
    }
    names = {r["metric"] for r in alignment}
    assert names == {f"alignment_{m}_{d}_L{k}" for m in ("weak", "strong") for d in ("fwd", "bwd") for k in range(3)}
    assert all(r["language"] == "fr" and 0 <= float(r["value"]) <= 1 for r in alignment)
    value = {(r["method"], r["stage"], r["metric"]): float(r["value"]) for r in alignment}
    # Same pretrained model, same held-out sample: both runs start from the same alignment.
    for name in names:
        assert value[("baseline", "initial", name)] == value[("before", "initial", name)]
    # front+embeddings on a 2-layer model freezes layer 0: hidden states 0 and 1 are unchanged.
    for name in names:
        if name.endswith(("_L0", "_L1")):
            assert value[("before", "realigned", name)] == value[("before", "initial", name)]
    task_rows = [r for r in rows if not r["metric"].startswith("alignment_") and r["stage"] != "run"]
    assert {r["stage"] for r in task_rows} == {"finetuned"}
    diagnostics = json.loads((tmp / "out" / "runs" / outcomes[1].run.run_id / "metrics.json").read_text())[
        "diagnostics"
    ]
    assert diagnostics["alignment"]["en-fr"]["pairs"] == 8


def test_alignment_on_the_realignment_sentences_is_refused(toy):
    root, model, tmp = toy
    analysis = {"alignment": True, "n_pairs": 12, "pairs": [{"pair": "en-fr", "dataset": "un", "split": "dev"}]}
    cfg = experiment_yaml(tmp / "leak.yaml", model, [{"method": "baseline"}], analysis=analysis)
    with pytest.raises(AlignfreezeError, match="were used for realignment"):
        run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)


def test_default_alignment_pairs_avoid_the_realignment_corpora(toy):
    from alignfreeze.data import DataCatalog
    from alignfreeze.experiments.planning import analysis_pairs

    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "d.yaml", model, [{"method": "baseline"}], analysis={"alignment": True})
    run = load_experiment(cfg).runs()[0]
    # The toy catalog has UN dev (used for realignment) and UN test for en-fr.
    assert [(r.pair, r.dataset, r.split) for r in analysis_pairs(run, DataCatalog(root))] == [("en-fr", "un", "test")]
    cfg = experiment_yaml(
        tmp / "d2.yaml",
        model,
        [{"method": "baseline"}],
        analysis={"alignment": True},
        realignment_pairs=[{"pair": "en-fr", "dataset": "un", "split": "test"}],
    )
    run = load_experiment(cfg).runs()[0]
    assert [(r.pair, r.dataset, r.split) for r in analysis_pairs(run, DataCatalog(root))] == [("en-fr", "un", "dev")]
