"""Nothing a user owns is lost (issue 18): no command replaces, overwrites or deletes what
alignfreeze did not write, resume keeps the rows it did not write, and Ctrl-C says what was
saved. On a tiny real model and toy data."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alignfreeze.align import AlignedCorpus, AlignedPair
from alignfreeze.cli import app
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments import load_experiment, run_experiment
from alignfreeze.experiments.results import append_rows, read_results, reconcile, rows_to_csv
from alignfreeze.fileio import atomic_directory, check_replaceable, read_marker
from alignfreeze.realign import RealignConfig, realign_files
from alignfreeze.schema import COLUMNS
from fixtures_tasks import experiment_yaml

CLI = [sys.executable, "-m", "alignfreeze.cli"]


def pairs_file(path: Path) -> Path:
    src = [["the", "cat", "sat"], ["a", "big", "dog"], ["the", "red", "car"], ["a", "house"]]
    tgt = [["le", "chat", "assis"], ["un", "grand", "chien"], ["la", "voiture", "rouge"], ["une", "maison"]]
    links = [[(0, 0), (1, 1)], [(1, 1), (2, 2)], [(1, 2), (2, 1)], [(1, 1)]]
    pairs = [AlignedPair(i, s, t, ln) for i, (s, t, ln) in enumerate(zip(src * 3, tgt * 3, links * 3))]
    AlignedCorpus("en", "fr", pairs, "test", {}, len(pairs)).save(path)
    return path


def user_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "t.tex").write_text("draft\n")
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".stale-" in p.name or ".tmp-" in p.name or ".old-" in p.name)


# --- folders written whole ---------------------------------------------------------------


def test_check_replaceable_refuses_what_alignfreeze_did_not_write(tmp_path, monkeypatch):
    mine = user_folder(tmp_path / "x")
    with pytest.raises(
        AlignfreezeError, match=r"--out .*x exists and was not written by alignfreeze \(it holds t\.tex\)"
    ):
        check_replaceable(mine, "--out")
    note = tmp_path / "note.txt"
    note.write_text("mine\n")
    with pytest.raises(AlignfreezeError, match="is an existing file"):
        check_replaceable(note, "--out")
    monkeypatch.chdir(mine)
    for here in (".", "..", str(tmp_path)):
        with pytest.raises(AlignfreezeError, match="holds the current folder"):
            check_replaceable(Path(here), "--out")
    with pytest.raises(AlignfreezeError, match="cannot create --out .*note.txt is a file"):
        check_replaceable(note / "sub", "--out")
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    check_replaceable(tmp_path / "new" / "deeper")
    assert (mine / "t.tex").read_text() == "draft\n" and note.read_text() == "mine\n"


def test_atomic_directory_replaces_only_the_folders_it_wrote(tmp_path):
    target = tmp_path / "model"
    for version in ("1", "2"):  # its own folder is replaced
        with atomic_directory(target, "model") as tmp:
            (tmp / "weights").write_text(version)
    assert (target / "weights").read_text() == "2"
    assert read_marker(target) == {"kind": "model", "written_by": "alignfreeze", "files": ["weights"]}

    (target / "t.tex").write_text("draft\n")  # the user added a file: no longer replaced
    with pytest.raises(AlignfreezeError, match=r"holds files alignfreeze did not write \(t\.tex\)"):
        with atomic_directory(target, "model") as tmp:
            (tmp / "weights").write_text("3")
    assert (target / "t.tex").read_text() == "draft\n" and (target / "weights").read_text() == "2"

    entered = []
    theirs = user_folder(tmp_path / "theirs")
    with pytest.raises(AlignfreezeError, match="not written by alignfreeze"):
        with atomic_directory(theirs, "model"):
            entered.append(True)  # refused before any work
    assert not entered and [p.name for p in theirs.iterdir()] == ["t.tex"]
    file_target = tmp_path / "file"
    file_target.write_text("mine\n")
    with pytest.raises(AlignfreezeError, match="existing file"):
        with atomic_directory(file_target, "model"):
            pass
    assert file_target.read_text() == "mine\n" and leftovers(tmp_path) == []


def test_realign_refuses_a_users_folder_with_one_line_and_keeps_it(toy):
    """The issue's reproduction: ``realign --out`` on a folder holding t.tex. The refusal runs
    as a real process (its exit status and stderr); the rest in this one, to save start-ups."""
    root, model, tmp = toy
    pairs = pairs_file(tmp / "pairs.jsonl")
    theirs = user_folder(tmp / "x")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    args = ["realign", "--pairs", str(pairs), "--model", str(model), "--steps", "1", "--batch-size", "4"]
    done = subprocess.run(CLI + args + ["--out", str(theirs)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        f"error: --out {theirs} exists and was not written by alignfreeze (it holds t.tex); "
        "choose another folder or remove it"
    ]
    assert [p.name for p in theirs.iterdir()] == ["t.tex"] and leftovers(tmp) == []
    here = _invoke(args + ["--out", "."], cwd=theirs)
    assert isinstance(here.exception, AlignfreezeError) and "holds the current folder" in str(here.exception)
    assert [p.name for p in theirs.iterdir()] == ["t.tex"]

    # Its own folder is replaced: written, then written again.
    out = tmp / "realigned"
    for _ in range(2):
        done = _invoke(args + ["--out", out], cwd=tmp)
        assert done.exit_code == 0, (done.exception, done.output)
    assert read_marker(out)["kind"] == "realigned" and (out / "realign.json").is_file()
    assert leftovers(tmp) == []


def test_realign_checks_out_before_the_model_loads(tmp_path):
    pairs = pairs_file(tmp_path / "pairs.jsonl")
    theirs = user_folder(tmp_path / "x")
    # No such model: the --out is refused first, before anything is loaded.
    with pytest.raises(AlignfreezeError, match="not written by alignfreeze"):
        realign_files(str(tmp_path / "no-model"), [pairs], RealignConfig(steps=1), out=theirs)


# --- other outputs -----------------------------------------------------------------------


def _invoke(args, cwd: Path | None = None):
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return CliRunner().invoke(app, [str(a) for a in args])
    finally:
        os.chdir(old)


@pytest.mark.parametrize(
    "command",
    [
        ["align", "--method", "dictionary", "--src-lang", "en", "--tgt-lang", "fr", "--parallel-file", "{par}"]
        + ["--out", "{file}"],
        ["import-reference", "{pairs}", "--out", "{file}"],
        ["plot-alignment", "{pairs}", "--out", "{file}"],
        ["report", "{pairs}", "--out", "{folder}"],
        ["measure-alignment", "--pairs", "{pairs}", "--model", "{model}", "--out", "{folder}"],
        ["correlate", "{pairs}", "--task", "pos"],  # its default --out: ./correlation
        ["run", "{cfg}", "--out", "{folder}"],
        ["run", "{cfg}", "--out", "{file}"],
        ["grid", "{cfg}", "--out", "{folder}"],
        ["grid", "{cfg}", "--out", "{file}", "--dry-run"],
        ["sweep-freeze", "--realign-pairs", "{pairs}", "--eval-pairs", "{pairs}", "--out", "{folder}"],
    ],
    ids=lambda c: " ".join(x for x in c if not x.startswith("{"))[:48],
)
def test_no_command_overwrites_a_users_file_or_folder(toy, command):
    root, model, tmp = toy
    paths = {
        "{pairs}": pairs_file(tmp / "pairs.jsonl"),
        "{par}": root / "parallel" / "UNv1.0.devset.en",
        "{model}": model,
        "{cfg}": experiment_yaml(tmp / "toy.yaml", model, [{"method": "baseline"}]),
        "{folder}": user_folder(tmp / "correlation"),  # also the default --out of correlate
        "{file}": tmp / "figure.png",
    }
    paths["{file}"].write_bytes(b"my own figure")
    with_data = command[0] not in ("import-reference", "plot-alignment", "report", "correlate")
    result = _invoke([paths.get(a, a) for a in command] + ["--data-dir", root] * with_data, tmp)
    assert isinstance(result.exception, AlignfreezeError), (result.exception, result.output)
    assert "--out" in str(result.exception), result.exception
    assert "not written by alignfreeze" in str(result.exception) or "existing file" in str(result.exception)
    theirs = paths["{folder}"]
    assert [p.name for p in theirs.iterdir()] == ["t.tex"] and (theirs / "t.tex").read_text() == "draft\n"
    assert paths["{file}"].read_bytes() == b"my own figure" and leftovers(tmp) == []


def test_outputs_alignfreeze_wrote_are_written_again(toy):
    root, model, tmp = toy
    out = tmp / "aligned.jsonl"
    args = ["align", "--method", "dictionary", "--src-lang", "en", "--tgt-lang", "fr", "--data-dir", root]
    args += ["--src-file", root / "parallel" / "UNv1.0.devset.en", "--tgt-file", root / "parallel" / "UNv1.0.devset.fr"]
    for limit in (3, 5):  # an aligned-pairs file is alignfreeze's: replaced
        result = _invoke(args + ["--out", out, "--limit", limit], tmp)
        assert result.exit_code == 0, (result.exception, result.output)
    assert AlignedCorpus.load(out).n_sentence_pairs == 5
    measured = tmp / "measured"
    for _ in range(2):  # a folder measure-alignment wrote: written again
        result = _invoke(["measure-alignment", "--pairs", out, "--model", model, "--out", measured], tmp)
        assert result.exit_code == 0, (result.exception, result.output)
    assert read_marker(measured)["files"] == ["alignment.csv", "alignment.json", "alignment.png"]
    figure = tmp / "curves.png"  # a figure plot-alignment wrote, in a folder of the user's: drawn again
    for _ in range(2):
        result = _invoke(["plot-alignment", measured / "alignment.csv", "--out", figure], tmp)
        assert result.exit_code == 0, (result.exception, result.output)
    assert figure.read_bytes().startswith(b"\x89PNG")


# --- resume keeps foreign rows -----------------------------------------------------------


def row(run_id: str, lang: str = "en", value: float = 0.5) -> dict:
    return dict(zip(COLUMNS, [run_id, "m", "pos", "baseline", "none", "none", 0, lang, "finetuned", "accuracy", value]))


def test_reconcile_keeps_rows_it_did_not_write_and_drops_its_unfinished_runs(tmp_path):
    runs = tmp_path / "runs"
    (runs / "done").mkdir(parents=True)
    (runs / "done" / "metrics.json").write_text(json.dumps({"rows": [row("done"), row("done", "fr")]}))
    (runs / "started").mkdir()
    (runs / "started" / "config.yaml").write_text("run_id: started\n")  # alignfreeze began it
    results = tmp_path / "results.csv"
    append_rows(results, [row("paper-1"), row("paper-1", "fr")])  # e.g. from import-reference
    append_rows(results, [row("done")])  # partial: rewritten from metrics.json
    append_rows(results, [row("started")])  # a run that did not finish: dropped
    with results.open("a") as f:
        f.write(rows_to_csv([row("paper-2", value=0.25)], header=False).rstrip("\n"))  # no final newline
    reconcile(tmp_path)
    got = [(r["run_id"], r["language"], r["value"]) for r in read_results([results])]
    assert got == [
        ("paper-1", "en", "0.5"),
        ("paper-1", "fr", "0.5"),
        ("done", "en", "0.5"),
        ("done", "fr", "0.5"),
        ("paper-2", "en", "0.25"),
    ]
    with results.open("a") as f:
        f.write("done,m,pos,basel")  # a torn write of alignfreeze's is still dropped
    reconcile(tmp_path)
    assert [(r["run_id"], r["language"], r["value"]) for r in read_results([results])] == got


def test_reconcile_refuses_rows_it_cannot_tell_and_files_that_are_not_results(tmp_path):
    (tmp_path / "runs" / "odd").mkdir(parents=True)  # a folder alignfreeze did not write
    results = tmp_path / "results.csv"
    append_rows(results, [row("odd")])
    before = results.read_text()
    with pytest.raises(AlignfreezeError, match=r"1 row\(s\) of run\(s\) odd .*did not write"):
        reconcile(tmp_path)
    assert results.read_text() == before
    results.write_text("name,grade\nann,A\n")
    with pytest.raises(AlignfreezeError, match="not an alignfreeze results file"):
        reconcile(tmp_path)
    assert results.read_text() == "name,grade\nann,A\n"


def test_a_resumed_experiment_keeps_the_rows_a_user_added(toy):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "toy.yaml", model, [{"method": "baseline"}])
    out = tmp / "out"
    first = run_experiment(load_experiment(cfg), out, data_dir=root, progress=False)
    foreign = [row("reference-pos-1", lang) for lang in ("en", "fr", "de")]
    append_rows(out / "results.csv", foreign)
    again = run_experiment(load_experiment(cfg), out, data_dir=root, progress=False)
    assert all(o.skipped for o in again)
    rows = read_results([out])
    assert [r for r in rows if r["run_id"] == "reference-pos-1"] == [{k: str(v) for k, v in r.items()} for r in foreign]
    assert len([r for r in rows if r["run_id"] == first[0].run.run_id]) == len(first[0].rows)


# --- Ctrl-C ------------------------------------------------------------------------------


def interrupt(cmd: list[str], when: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own process group and send it SIGINT, as Ctrl-C in a terminal does,
    once a file matching the glob ``when`` exists."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # A suite started in the background (`nohup make test &`) inherits an ignored SIGINT,
        # which Python then leaves ignored: give the command the default, as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not glob.glob(when):
        time.sleep(0.05)
    time.sleep(0.3)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "grid"])
def test_ctrl_c_says_what_was_saved_and_a_rerun_resumes(toy, command):
    root, model, tmp = toy
    cfg = experiment_yaml(tmp / "toy.yaml", model, [{"method": "baseline"}], seeds=[0, 1])
    out = tmp / "out"
    cmd = CLI + [command, str(cfg), "--out", str(out), "--data-dir", str(root)]
    stopped = interrupt(cmd, str(out / "runs" / "*" / "metrics.json"), tmp)
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    assert "Traceback" not in stopped.stderr
    assert stopped.stderr.strip().splitlines()[-1] == (
        f"interrupted: 1 of 2 runs are saved in {out}; run the same command again to resume (finished runs are skipped)"
    )
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert again.returncode == 0, again.stderr[-2000:]
    runs = load_experiment(cfg).runs()
    assert {r["run_id"] for r in read_results([out])} == {run.run_id for run in runs}


def test_ctrl_c_during_realign_says_nothing_was_written(toy):
    root, model, tmp = toy
    pairs = pairs_file(tmp / "pairs.jsonl")
    out = tmp / "realigned"
    cmd = CLI + ["realign", "--pairs", str(pairs), "--model", str(model), "--steps", "100000", "--out", str(out)]
    # The batches' cache is written as realignment starts.
    stopped = interrupt(cmd + ["--batch-size", "4"], str(tmp / "home" / "cache" / "realign-chunks" / "*"), tmp)
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    assert "Traceback" not in stopped.stderr
    assert (
        stopped.stderr.strip().splitlines()[-1]
        == f"interrupted: nothing was written to {out}; run the same command again"
    )
    assert not out.exists() and leftovers(tmp) == []
