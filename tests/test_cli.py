"""The command line as a user runs it: one-line errors without tracebacks, and doctor."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import write


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alignfreeze.cli", *args], capture_output=True, text=True, timeout=300)


def test_bad_file_is_one_line_error_without_traceback(tmp_path):
    path = write(tmp_path / "bad.conllu", "1\tx\tx\tNOUN\n")
    r = run_cli("read-data", str(path), "--format", "conllu")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{path}:1: expected 10 tab-separated columns, found 4" in lines[0]


def test_missing_file_and_unknown_format(tmp_path):
    r = run_cli("read-data", str(tmp_path / "none.tsv"), "--format", "xnli")
    assert r.returncode == 2 and "none.tsv: file not found" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("read-data", str(write(tmp_path / "a", "x\n")), "--format", "csv")
    assert r.returncode == 2 and "unknown format 'csv'" in r.stderr


def test_read_data_prints_records(tmp_path):
    r = run_cli("read-data", str(write(tmp_path / "d.tsv", "a\tb\tneutral\n")), "--format", "xnli")
    assert r.returncode == 0 and "1 records" in r.stdout and "neutral" in r.stdout


@pytest.mark.integration
def test_doctor_lists_every_task_and_language(shared_data):
    r = run_cli("doctor", "--json", "--data-dir", str(shared_data))
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["data_root"] == str(shared_data)
    for task in ("pos", "ner", "nli", "qa"):
        assert set(info["data"][task]) >= {"ar", "es", "ru", "zh", "en"}
    assert set(info["data"]["parallel"]) == {"en-ar", "en-es", "en-fr", "en-ru", "en-zh"}
    assert info["packages"]["torch"][:1].isdigit()  # the installed version, whichever build
    r = run_cli("doctor", "--data-dir", str(shared_data))
    assert r.returncode == 0 and "pos" in r.stdout and "en-zh" in r.stdout


def test_constraints_pin_torch_to_one_version():
    """The Makefile installs with constraints.txt: an unpinned torch would pull a multi-GB
    CUDA build from PyPI."""
    from pathlib import Path

    lines = (Path(__file__).resolve().parents[1] / "constraints.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    assert [name.strip() for name, *_ in pins].count("torch") == 1
    (version,) = [rest for name, *rest in pins if name.strip() == "torch"]
    assert len(version) == 1 and version[0].strip()[:1].isdigit(), "torch must be pinned with torch==VERSION"
