"""Each tracker (``tracking: tensorboard | wandb | mlflow``) on a tiny real run, read back from
the tracker's own store: tensorboard's event files, wandb's offline run file, mlflow's SQLite
database. Whatever the run sent (config, losses and learning rates per step, scores, alignment
over layers) must be there, at its step. No login, no network."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from alignfreeze.experiments import load_experiment, run_experiment
from alignfreeze.experiments.tracking import flatten
from alignfreeze.metric_names import alignment_series, parse_alignment_metric
from fixtures_tasks import experiment_yaml


def read_tensorboard(folder: Path, run_id: str) -> tuple[dict, dict]:
    """``(config, {tag: [(step, value)]})`` from the event files under ``<out>/tracking/<run_id>``."""
    pytest.importorskip("tensorboard", reason="tensorboard tracking needs tensorboard (pip install -e .[tracking])")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    def accumulator(path: Path) -> EventAccumulator:
        events = EventAccumulator(str(path), size_guidance={"scalars": 0})
        events.Reload()
        return events

    events = accumulator(folder / "tracking" / run_id)
    curves = {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
    # The hyperparameters go to event files of their own, one folder down (SummaryWriter.add_hparams).
    (hparams_events,) = (folder / "tracking" / run_id).glob("*/events.out.tfevents.*")
    contents = accumulator(hparams_events.parent).PluginTagToContent("hparams").values()
    infos = [plugin_data_pb2.HParamsPluginData.FromString(c).session_start_info for c in contents]
    (info,) = [i for i in infos if i.hparams]
    config = {key: getattr(value, value.WhichOneof("kind")) for key, value in info.hparams.items()}
    return config, curves


def wandb_records(path: Path):
    """The records of a ``.wandb`` file, wandb's own log format: a 7-byte header (``:W&B``,
    magic, version), then 32 KiB blocks of chunks, each ``crc32 (4) | length (2) | type (1)``
    (1: whole record, 2/3/4: first/middle/last piece); a block's tail shorter than a chunk
    header is padding. The wandb 0.31 SDK no longer ships a reader for it."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", path
    block, position, pending = 32 * 1024, 7, b""
    while position + 7 <= len(data):
        if block - position % block < 7:
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if (kind, length) == (0, 0):  # zeros: the end of what was written
            break
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def read_wandb(folder: Path, run_id: str) -> tuple[dict, dict]:
    """``(config, {key: [(step, value)]})`` from the offline run under ``$WANDB_DIR``, the step
    being the key wandb logged with each section's curves (``realign/step``...), 0 for
    values logged once."""
    import wandb

    wandb.teardown()  # ends wandb's service process, which has written the run file by then
    (run_file,) = (folder / "wandb").glob("offline-run-*/run-*.wandb")
    config: dict = {}
    curves: dict[str, list] = {}
    for record in wandb_records(run_file):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            assert (record.run.display_name, record.run.project) == (run_id, "alignfreeze")
        elif kind == "config":
            config.update({item.key: json.loads(item.value_json) for item in record.config.update})
        elif kind == "history":
            # A key with a "/" (all of ours) is kept split into its parts.
            row = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            step = next((row[key] for key in ("realign/step", "finetune/step", "alignment/layer") if key in row), 0)
            for key, value in row.items():
                if not key.startswith("_") and not key.endswith(("/step", "/layer")):
                    curves.setdefault(key, []).append((step, value))
    return config, curves


def read_mlflow(folder: Path, run_id: str) -> tuple[dict, dict]:
    """``(config, {metric: [(step, value)]})`` of the run named ``run_id`` in the SQLite store."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("alignfreeze")
    (run,) = client.search_runs([experiment.experiment_id], filter_string=f"attributes.run_name = '{run_id}'")
    assert run.info.status == "FINISHED"
    curves = {
        name: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, name)] for name in run.data.metrics
    }
    return run.data.params, curves


READERS = {"tensorboard": read_tensorboard, "wandb": read_wandb, "mlflow": read_mlflow}


@pytest.fixture()
def tracker_store(request, toy, monkeypatch):
    """``(kind, toy)`` with the tracker's package present and its store inside the test's folder."""
    kind = request.param
    pytest.importorskip(kind, reason=f"tracking: {kind} needs {kind} (pip install -e .[tracking])")
    tmp = toy[2]
    if kind == "wandb":
        monkeypatch.setenv("WANDB_MODE", "offline")
        for name in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
            monkeypatch.setenv(name, str(tmp))
        monkeypatch.setenv("WANDB_SILENT", "true")
        monkeypatch.setenv("WANDB_CONSOLE", "off")
        for name in ("WANDB_PROJECT", "WANDB_RUN_ID", "WANDB_NAME", "WANDB_RESUME"):
            monkeypatch.delenv(name, raising=False)
    if kind == "mlflow":
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
        for name in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID", "MLFLOW_TAGS", "MLFLOW_NESTED_RUN"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp)  # where a tracker writes by default, if it ignores the settings above
    return kind, toy


@pytest.mark.parametrize("tracker_store", list(READERS), indirect=True)
def test_a_run_reads_back_from_its_tracker(tracker_store):
    kind, (root, model, tmp) = tracker_store
    analysis = {"alignment": True, "n_pairs": 8, "pairs": [{"pair": "en-fr", "dataset": "un", "split": "test"}]}
    methods = [{"method": "before", "freeze": "front"}]
    experiment = load_experiment(
        experiment_yaml(tmp / "toy.yaml", model, methods, analysis=analysis), [f"tracking={kind}"]
    )
    (run,) = experiment.runs()
    out = tmp / "out"
    (outcome,) = run_experiment(experiment, out, data_dir=root, progress=False)
    metrics = json.loads((out / "runs" / run.run_id / "metrics.json").read_text())

    config, logged = READERS[kind](tmp if kind != "tensorboard" else out, run.run_id)

    sent = flatten({"run_id": run.run_id, **run.model_dump(mode="json")})
    assert config["run_id"] == run.run_id
    assert sorted(config) == sorted(sent)
    for key, value in sent.items():
        if kind == "mlflow":  # mlflow keeps parameters as text
            value = str(value)
        elif kind == "tensorboard" and isinstance(value, bool):  # and tensorboard's hparams as numbers
            value = float(value)
        assert config[key] == value, key
    for stage in ("realign", "finetune"):
        losses = metrics[stage]["losses"]
        assert [s for s, _ in logged[f"{stage}/loss"]] == list(range(1, len(losses) + 1))
        assert [v for _, v in logged[f"{stage}/loss"]] == pytest.approx(losses, rel=1e-6)
        assert len(logged[f"{stage}/learning_rate"]) == len(losses)
    assert [v for _, v in logged["realign/learning_rate"]] == pytest.approx(
        [float(run.realignment.learning_rate)] * len(metrics["realign"]["losses"]), rel=1e-6
    )
    scores = [r for r in outcome.rows if r["stage"] == "finetuned" and not r["metric"].startswith("alignment_")]
    assert {r["language"] for r in scores} == {"en", "fr"}
    for row in scores:
        assert logged[f"score/{row['language']}/{row['metric']}"] == [(0, pytest.approx(row["value"], abs=1e-6))]
    alignment = [r for r in outcome.rows if r["metric"].startswith("alignment_")]
    assert {r["stage"] for r in alignment} == {"initial", "realigned", "finetuned"}
    for row in alignment:
        mode, direction, layer = parse_alignment_metric(row["metric"])
        curve = dict(logged[f"alignment/{row['stage']}/{row['language']}/{alignment_series(mode, direction)}"])
        assert curve[layer] == pytest.approx(row["value"], abs=1e-6)
