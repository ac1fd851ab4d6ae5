"""Preflight: every input of a run is validated before any model is loaded (issue 18).

A run's model folder here has corrupt weights, so that any test that reached the model's
load would fail with a safetensors error instead of the one-line error asserted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from alignfreeze.data.catalog import DataCatalog
from alignfreeze.errors import AlignfreezeError, DataFormatError
from alignfreeze.experiments import load_experiment, run_experiment
from alignfreeze.experiments.planning import RunData, check_freeze_specs, preflight
from alignfreeze.models.layers import model_layer_count
from alignfreeze.realign.freeze import FreezeSpec
from fixtures_tasks import experiment_yaml


@pytest.fixture()
def broken_model(tmp_path, xlmr_tokenizer):
    """A 4-layer tiny model whose weights file is garbage: loading it fails, its config reads."""
    from tiny_models import tiny_model

    folder = tmp_path / "broken-model"
    tiny_model(layers=4, hidden=32).save_pretrained(folder)
    xlmr_tokenizer.save_pretrained(folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(b"not a safetensors file" * 10)
    return folder


def test_the_broken_model_really_fails_to_load(broken_model):
    """What the tests below rely on: loading this model is an error (not an AlignfreezeError)."""
    from alignfreeze.models.loading import load_model

    with pytest.raises(Exception) as err:
        load_model(str(broken_model), "token", ["NOUN", "VERB"])
    assert not isinstance(err.value, AlignfreezeError)


@pytest.mark.parametrize(
    "content,problem",
    [
        ("", "file is empty"),
        ("1\tcat\t_\tNOUN\t_\t_\t0\tdep\t_\n", "expected 10 tab-separated columns, found 9"),
        ("1\tcat\t_\tNOUNISH\t_\t_\t0\tdep\t_\t_\n", "unknown UPOS tag"),
    ],
)
def test_an_empty_or_malformed_eval_file_stops_the_run_before_the_model_loads(toy, broken_model, content, problem):
    root, _, tmp = toy
    bad = root / "ud" / "fr_toy-ud-test.conllu"
    bad.write_text(content, encoding="utf-8")
    cfg = experiment_yaml(
        tmp / "x.yaml", broken_model, [{"method": "baseline"}, {"method": "before", "freeze": "front"}]
    )
    out = tmp / "out"
    with pytest.raises(DataFormatError, match=problem) as err:
        run_experiment(load_experiment(cfg), out, data_dir=root, progress=False)
    assert err.value.path == str(bad) and "\n" not in str(err.value)
    assert not (out / "runs").exists()  # no run started: execute_run makes its folder first


def test_a_malformed_training_file_names_its_line(toy, broken_model):
    root, _, tmp = toy
    train = root / "ud" / "en_toy-ud-train.conllu"
    lines = train.read_text().splitlines()
    lines[1] = lines[1].replace("\t", " ", 1)
    train.write_text("\n".join(lines) + "\n")
    cfg = experiment_yaml(tmp / "x.yaml", broken_model, [{"method": "baseline"}])
    with pytest.raises(DataFormatError, match=r"en_toy-ud-train\.conllu:2: expected 10 tab-separated columns"):
        run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)


def test_parallel_files_of_unequal_length_stop_the_run_before_the_model_loads(toy, broken_model):
    root, _, tmp = toy
    fr = root / "parallel" / "UNv1.0.devset.fr"
    fr.write_text("".join(fr.read_text().splitlines(keepends=True)[:-3]))
    cfg = experiment_yaml(tmp / "x.yaml", broken_model, [{"method": "before", "freeze": "front"}])
    with pytest.raises(DataFormatError, match="parallel files differ in length"):
        run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)
    assert not (tmp / "out" / "runs").exists()


def test_a_malformed_dictionary_stops_the_run_before_the_model_loads(toy, broken_model):
    root, _, tmp = toy
    (root / "muse" / "en-fr.txt").write_text("cat chat\ndog\n")
    cfg = experiment_yaml(tmp / "x.yaml", broken_model, [{"method": "before", "freeze": "front"}])
    with pytest.raises(DataFormatError, match=r"en-fr\.txt:2: expected 'source target'"):
        run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)


def test_freeze_beyond_the_models_layers_fails_the_run_before_loading(toy, broken_model):
    root, _, tmp = toy
    cfg = experiment_yaml(tmp / "x.yaml", broken_model, [{"method": "before", "freeze": "layers:5-99"}])
    with pytest.raises(AlignfreezeError) as err:
        run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)
    message = str(err.value)
    assert "'layers:5-99'" in message and str(broken_model) in message and "4 layers" in message, message
    assert not (tmp / "out" / "runs").exists()


def test_grid_dry_run_refuses_a_freeze_beyond_the_models_layers(toy, broken_model):
    root, _, tmp = toy
    cfg = experiment_yaml(
        tmp / "g.yaml", broken_model, [{"method": "baseline"}, {"method": "before", "freeze": ["front", "layers:5-99"]}]
    )
    done = subprocess.run(
        [sys.executable, "-m", "alignfreeze.cli", "grid", str(cfg), "--dry-run", "--out", str(tmp / "out")]
        + ["--data-dir", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) <= 2, done.stderr
    assert "'layers:5-99'" in done.stderr and "4 layers" in done.stderr, done.stderr
    assert not (tmp / "out").exists()


def test_freeze_specs_that_fit_pass_and_baselines_are_not_checked(toy):
    root, model, tmp = toy  # a 2-layer model
    cfg = experiment_yaml(
        tmp / "x.yaml", model, [{"method": "baseline"}, {"method": "before", "freeze": "layers:0-1+embeddings"}]
    )
    check_freeze_specs(load_experiment(cfg).runs())
    too_far = experiment_yaml(tmp / "y.yaml", model, [{"method": "during", "freeze": "bottom:3"}])
    with pytest.raises(AlignfreezeError, match=r"'bottom:3' does not fit model .*, which has 2 layers \(0-1\)"):
        check_freeze_specs(load_experiment(too_far).runs())


def test_layer_counts_are_read_from_configs_without_loading(tmp_path, monkeypatch):
    from tiny_models import tiny_config

    for kind, key in [("bert", "num_hidden_layers"), ("distilbert", "n_layers"), ("deberta-v2", "num_hidden_layers")]:
        folder = tmp_path / kind
        tiny_config(kind, layers=3).save_pretrained(folder)
        assert key in json.loads((folder / "config.json").read_text())
        assert model_layer_count(str(folder)) == 3
    # A hub id in the local cache is read from there; one not cached is not checked (None).
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    snapshot = cache / "models--org--tiny" / "snapshots" / "abc123"
    tiny_config("bert", layers=5).save_pretrained(snapshot)
    (cache / "models--org--tiny" / "refs").mkdir(parents=True)
    (cache / "models--org--tiny" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    assert model_layer_count("org/tiny") == 5
    assert model_layer_count("org/not-cached") is None
    # A model path that cannot be a model is refused with one line.
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AlignfreezeError, match="is a file"):
        model_layer_count(str(tmp_path / "file"))
    with pytest.raises(AlignfreezeError, match="has no config.json"):
        model_layer_count(str(tmp_path / "empty"))


def test_freeze_spec_parse_refuses_an_empty_range_and_check_names_everything():
    with pytest.raises(AlignfreezeError, match="empty range"):
        FreezeSpec.parse("layers:4-2")
    with pytest.raises(AlignfreezeError, match=r"'front\+layers:5-99' does not fit model 'm', which has 4 layers"):
        FreezeSpec.parse("front+layers:5-99").check_fits(4, "m")
    FreezeSpec.parse("back+layers:3+bottom:4").check_fits(4, "m")


def test_a_model_path_that_is_a_file_or_empty_folder_fails_in_preflight(toy, tmp_path):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "x.yaml", model, [{"method": "baseline"}])
    (tmp / "empty-model").mkdir()
    for bad, message in [(tmp / "x.yaml", "is a file"), (tmp / "empty-model", "has no config.json")]:
        runs = load_experiment(cfg, [f"model={bad}"]).runs()
        with pytest.raises(AlignfreezeError, match=message):
            preflight(runs, DataCatalog(root))


def test_preflight_parses_each_file_once_and_the_runs_reuse_the_records(toy, monkeypatch):
    """The records preflight parsed are the ones the runs use; no file is parsed again."""
    import alignfreeze.experiments.planning as planning

    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "x.yaml", model, [{"method": "baseline"}], seeds=[0, 1])
    calls = []
    real = planning.load_records
    monkeypatch.setattr(planning, "load_records", lambda *a: calls.append(a[2].language) or real(*a))
    outcomes = run_experiment(load_experiment(cfg), tmp / "out", data_dir=root, progress=False)
    assert len(outcomes) == 2 and not any(o.skipped for o in outcomes)
    assert sorted(calls) == ["en", "en", "fr"]  # en train, en test, fr test: once each for two runs


def test_run_data_keeps_only_what_later_runs_read(toy):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "x.yaml", model, [{"method": "baseline"}])
    run = load_experiment(cfg).runs()[0]
    data = preflight([run], DataCatalog(root))
    assert len(data) == 3  # train en, eval en and fr
    first = data.records(run.task, run.eval[1])
    assert data.records(run.task, run.eval[1]) is first
    other = run.model_copy(update={"eval": run.eval[:1]})
    data.keep_only([other])
    assert len(data) == 2
    data.keep_only([])
    assert len(data) == 0 and isinstance(data, RunData)


def test_a_premise_split_that_leaves_nothing_is_refused(tmp_path):
    from alignfreeze.data.refs import DataRef
    from alignfreeze.experiments.planning import load_records
    from conftest import write

    lines = "".join(f"premise {k}\thypothesis {k}\tentailment\n" for k in range(3))
    for lang in ("en", "fr"):
        write(tmp_path / "xnli" / f"dev-{lang}.tsv", lines)
    catalog = DataCatalog(tmp_path)
    # The three premises' draws are 0.35, 0.42 and 0.48: all go to train at 0.9, to test at 0.1.
    assert (
        len(
            load_records(
                catalog, "nli", DataRef(language="fr", split="dev", premise_split="train", premise_train_fraction=0.9)
            )
        )
        == 3
    )
    for side, fraction in (("test", 0.9), ("train", 0.1)):
        ref = DataRef(language="fr", split="dev", premise_split=side, premise_train_fraction=fraction)
        with pytest.raises(AlignfreezeError, match=f"premise_split '{side}' leaves no item of its 3"):
            load_records(catalog, "nli", ref)


def test_max_parallel_below_one_is_refused_before_anything_runs(toy):
    from alignfreeze.experiments.grid_runner import check_max_parallel, run_grid

    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "g.yaml", model, [{"method": "baseline"}])
    runs = load_experiment(cfg).runs()
    for value in (-1, 0):
        with pytest.raises(AlignfreezeError, match=f"--max-parallel {value}: runs at a time must be 1 or more"):
            run_grid(runs, tmp / "out", root, max_parallel=value, progress=False)
    assert not (tmp / "out").exists()
    check_max_parallel(0, "ray")  # as many as the cluster fits
    with pytest.raises(AlignfreezeError, match="must be 0"):
        check_max_parallel(-2, "ray")


@pytest.mark.parametrize(
    "override,where",
    [
        ("seeds=[-1]", "seeds.0: Input should be greater than or equal to 0"),
        ("seeds=[4294967296]", "seeds.0: Input should be less than or equal to 4294967295"),
        ("analysis.sample_seed=-3", "analysis.sample_seed: Input should be greater than or equal to 0"),
        ("eval_limit=-3", "eval_limit: Input should be greater than or equal to 1"),
        ("train.limit=-440", "train.0.limit: Input should be greater than or equal to 1"),
        ("eval.0.limit=0", "eval.0.limit: Input should be greater than or equal to 1"),
        ("realignment_pairs.0.limit=-5", "realignment_pairs.0.limit: Input should be greater than or equal to 1"),
        ("analysis.n_pairs=-1", "analysis.n_pairs: Input should be greater than or equal to 2"),
    ],
)
def test_negative_counts_and_seeds_are_config_errors_with_their_path(toy, override, where):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "x.yaml", model, [{"method": "baseline"}])
    with pytest.raises(AlignfreezeError, match="invalid configuration") as err:
        load_experiment(cfg, [override])
    assert where in str(err.value) and "\n" not in str(err.value)


def test_a_run_config_refuses_a_negative_seed():
    from pydantic import ValidationError

    from alignfreeze.experiments.config import RunConfig

    base = {"model": "e5-small", "task": "pos", "method": "baseline", "train": {"language": "en"}}
    assert RunConfig(**base, eval=[{"language": "fr"}], seed=0).seed == 0
    with pytest.raises(ValidationError, match="seed"):
        RunConfig(**base, eval=[{"language": "fr"}], seed=-1)
