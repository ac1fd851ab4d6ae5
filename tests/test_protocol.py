"""Protocols in experiment files and on the command line, and the reference protocol's
settings inside real (tiny) runs: matched realignment steps, partial freezing during
fine-tuning, imported links, the paper presets' dry runs."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from alignfreeze.cli import app
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments import load_experiment, run_experiment
from alignfreeze.experiments.config import PAPER_SEEDS, PROTOCOLS
from alignfreeze.paths import REPO_ROOT
from fixtures_tasks import experiment_yaml


def before_run(experiment):
    return next(r for r in experiment.runs() if r.method == "before")


def test_reference_protocol_sets_every_governed_setting(toy):
    _, model, tmp = toy
    cfg = experiment_yaml(
        tmp / "p.yaml", model, [{"method": "baseline"}, {"method": "before", "freeze": "front"}], protocol="reference"
    )
    run = before_run(load_experiment(cfg))
    reference = PROTOCOLS["reference"]
    # The file's own realignment.steps (2) stays: a protocol sits under the file's settings.
    assert run.realignment.steps == 2
    for key, value in reference["realignment"].items():
        if key not in ("steps", "learning_rate"):
            assert getattr(run.realignment, key) == value, key
    assert run.realignment.learning_rate == run.training.learning_rate == 1e-3  # 'match', resolved
    assert run.tokenization.lone_boundary_pieces == "remove"
    assert (run.training.long_sentences, run.training.max_grad_norm) == ("windows", None)
    # No length grouping; the schedule in the reference's micro-batches (4 for a model it does
    # not name), as many epochs as the released runs (the file's own 1 here).
    assert (run.training.group_by_length, run.training.schedule_unit) == (False, "micro_batches")
    assert (run.training.schedule_micro_batch_size, run.training.default_epochs) == (4, "reference")
    assert (run.evaluation.ner_bio_repair, run.evaluation.qa_scorer) == (True, "reference")
    assert (
        run.aligner.name,
        run.aligner.keep_one_to_one,
        run.aligner.drop_identical,
        run.aligner.unique_source,
        run.aligner.reverse_dictionary,
    ) == ("dictionary", True, True, "any_translation", "forward_copy")
    corrected = before_run(load_experiment(experiment_yaml(tmp / "c.yaml", model, [{"method": "before"}])))
    assert corrected.realignment.batching == "by_pair" and corrected.aligner.unique_source == "linked"
    assert corrected.run_id != run.run_id


def test_protocol_on_the_command_line_overrides_the_file_and_later_sets_override_it(toy):
    _, model, tmp = toy
    cfg = experiment_yaml(
        tmp / "p.yaml",
        model,
        [{"method": "before"}],
        training={"epochs": 1, "batch_size": 8, "micro_batch_size": 4, "learning_rate": 1e-3, "max_grad_norm": 0.5},
    )
    plain = before_run(load_experiment(cfg))
    assert (plain.realignment.steps, plain.training.max_grad_norm) == (2, 0.5)
    ref = before_run(load_experiment(cfg, ["protocol=reference"]))
    assert (ref.realignment.steps, ref.training.max_grad_norm) == ("match", None)  # the file's values gave way
    assert ref.training.epochs == 1  # not governed by any protocol: the file's value stays
    later = before_run(
        load_experiment(cfg, ["protocol=reference", "realignment.steps=7", "aligner.unique_source=linked"])
    )
    assert (later.realignment.steps, later.aligner.unique_source, later.aligner.keep_one_to_one) == (7, "linked", True)
    earlier = before_run(load_experiment(cfg, ["realignment.steps=7", "protocol=reference"]))
    assert earlier.realignment.steps == "match"  # the protocol came after, and took over
    # Back to ours from a reference file: corrected restores our defaults for governed settings.
    ref_file = experiment_yaml(
        tmp / "r.yaml",
        model,
        [{"method": "before"}],
        protocol="reference",
        realignment={"steps": 2, "layer": "penultimate"},
    )
    back = before_run(load_experiment(ref_file, ["protocol=corrected"]))
    assert (back.realignment.layer, back.realignment.batching, back.realignment.steps) == ("top", "by_pair", 200)


def test_protocol_aligner_settings_apply_where_the_aligner_has_them(toy):
    _, model, tmp = toy
    cfg = experiment_yaml(
        tmp / "e.yaml",
        model,
        [{"method": "before", "aligner": "eflomal"}, {"method": "before", "freeze": "front"}],
        protocol="reference",
    )
    runs = [r for r in load_experiment(cfg).runs() if r.method == "before"]
    eflomal, dictionary = (next(r for r in runs if r.aligner_name == name) for name in ("eflomal", "dictionary"))
    assert (eflomal.aligner.keep_one_to_one, eflomal.aligner.drop_identical) == (True, True)
    assert not hasattr(eflomal.aligner, "unique_source") and dictionary.aligner.unique_source == "any_translation"


def test_old_realignment_pairs_layout_still_reads(toy):
    _, model, tmp = toy
    cfg = tmp / "old.yaml"
    data = json.loads(experiment_yaml(tmp / "new.yaml", model, [{"method": "before"}]).read_text())
    data["realignment"]["pairs"] = data.pop("realignment_pairs")
    cfg.write_text(json.dumps(data))
    assert before_run(load_experiment(cfg)).run_id == before_run(load_experiment(tmp / "new.yaml")).run_id
    data["realignment_pairs"] = data["realignment"]["pairs"]
    cfg.write_text(json.dumps(data))
    with pytest.raises(AlignfreezeError, match="give the realignment data once"):
        load_experiment(cfg)


def test_matched_steps_and_partial_freeze_in_real_runs(toy):
    root, model, tmp = toy
    methods = [{"method": "before", "freeze": "front"}, {"method": "during", "freeze": "back"}]
    cfg = experiment_yaml(tmp / "m.yaml", model, methods, protocol="reference", realignment={"batch_size": 4})
    outcomes = run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)
    before, during = (json.loads((tmp / "out" / "runs" / o.run.run_id / "metrics.json").read_text()) for o in outcomes)
    # 40 training sentences, batch 8, one epoch: 5 optimiser steps, and as many realignment steps.
    assert before["finetune"]["optimizer_steps"] == 5 == before["realign"]["steps"] == len(before["realign"]["losses"])
    assert during["realign"] == {} and during["label"] == "during/back/dictionary"
    rows = {(r["method"], r["freeze"]) for o in outcomes for r in o.rows}
    assert rows == {("before", "front"), ("during", "back")}


def test_imported_links_realign_inside_a_run(toy):
    root, model, tmp = toy
    # Pharaoh links for the toy UN dev corpus (30 pairs of 4 words, word-for-word translations).
    links = tmp / "en-fr.links"
    links.write_text("\n".join("0-0 1-1 2-2 3-3" for _ in range(30)) + "\n")
    cfg = experiment_yaml(
        tmp / "l.yaml", model, [{"method": "before"}], aligner={"name": "pharaoh", "links": {"en-fr": str(links)}}
    )
    (outcome,) = run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)
    assert outcome.run.aligner_name == "pharaoh" and {r["aligner"] for r in outcome.rows} == {"pharaoh"}
    missing = experiment_yaml(tmp / "x.yaml", model, [{"method": "before"}], aligner={"name": "pharaoh", "links": {}})
    with pytest.raises(AlignfreezeError, match="no links file for en-fr"):
        load_experiment(missing)


def test_demo_dry_run_under_the_reference_protocol_matches_realignment_steps(toy):
    root, model, tmp = toy
    cfg = experiment_yaml(
        tmp / "d.yaml",
        model,
        [{"method": "baseline"}, {"method": "before", "freeze": "front"}, {"method": "before", "freeze": "back"}],
    )
    for option in ("protocol=reference", "realignment.steps=match"):
        result = CliRunner().invoke(
            app, ["grid", str(cfg), "--out", str(tmp / "g"), "--dry-run", "--set", option, "--data-dir", str(root)]
        )
        assert result.exit_code == 0, result.output
        before = [line for line in result.output.splitlines() if "before/" in line]
        assert len(before) == 2
        for line in before:
            cells = [c.strip() for c in line.split("│")]
            sampling, drawn, realign, finetune = cells[7], cells[8], cells[9], cells[10]
            assert realign == f"{finetune} (match)" and finetune == "5", line
            # The reference's shuffle-buffer stream; one batch of 4 pairs (the toy config's) a step.
            assert sampling == ("shuffle_buffer" if option == "protocol=reference" else "uniform"), line
            assert drawn == str(5 * 4), line


def test_paper_presets_dry_run_offline_lists_runs_and_sources(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    for task, n_languages in (("pos", 34), ("ner", 34), ("nli", 12), ("qa", 11)):
        out = [] if task == "pos" else ["--out", str(tmp_path / task)]  # --out defaults to runs/<name>
        result = CliRunner().invoke(
            app,
            [
                "grid",
                str(REPO_ROOT / "configs" / "paper" / f"{task}.yaml"),
                *out,
                "--dry-run",
                "--data-dir",
                str(empty),
            ],
        )
        assert result.exit_code == 0, result.output
        runs = [line for line in result.output.splitlines() if re.match(r"│ [0-9a-f]{12} ", line)]
        assert len(runs) == 60, task
        seeds = sorted({int(line.split("│")[5]) for line in runs})
        assert seeds == sorted(PAPER_SEEDS)
        realigned = [line for line in runs if "before/" in line]
        assert len(realigned) == 45 and all(line.split("│")[6].strip() == "34" for line in realigned)
        # As many realignment steps as fine-tuning steps, estimated offline from the training
        # split's size (hub_configs.json), and 16 pairs drawn a step.
        for line in realigned:
            cells = [c.strip() for c in line.split("│")]
            sampling, drawn, realign, finetune = cells[7], cells[8], cells[9], cells[10]
            assert sampling == "shuffle_buffer" and finetune.endswith(" ~"), line
            assert realign == f"{finetune.removesuffix(' ~')} (match)", line
            assert int(drawn.replace(",", "")) == 16 * int(finetune.removesuffix(" ~")), line
        assert "hub:Helsinki-NLP/opus-100/en-fr[train]" in result.output
        assert "https://dl.fbaipublicfiles.com/arrival/dictionaries/en-zh.txt" in result.output
        assert "no known source" not in result.output
        listed = {line.split("│")[1].split()[1] for line in result.output.splitlines() if line.startswith(f"│ {task} ")}
        assert len(listed - {"en"}) == n_languages  # every evaluation language, fetched from the hub
    experiment = load_experiment(REPO_ROOT / "configs" / "paper" / "pos.yaml")
    assert experiment.protocol == "reference" and experiment.seeds == list(PAPER_SEEDS)
    assert len(experiment.realignment_pairs) == 34 and len(experiment.eval_languages) == 34
    assert experiment.train[0].dataset == "ewt" and experiment.eval_dataset == "reference"
