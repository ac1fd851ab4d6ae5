"""`align`, `align-eval` and `realign` as a user runs them, bad input included."""

from __future__ import annotations

import json

import pytest

from conftest import write
from test_cli import run_cli


def test_dictionary_with_no_link_writes_nothing(tmp_path):
    src = write(tmp_path / "a.en", "one two\nthree\n")
    tgt = write(tmp_path / "a.fr", "un deux\ntrois\n")
    d = write(tmp_path / "d.txt", "cat chat\n")
    out = tmp_path / "pairs.jsonl"
    r = run_cli(
        "align",
        "--method",
        "dictionary",
        "--src-file",
        str(src),
        "--tgt-file",
        str(tgt),
        "--src-lang",
        "en",
        "--tgt-lang",
        "fr",
        "--dictionary",
        str(d),
        "--out",
        str(out),
        "--no-cache",
    )
    assert r.returncode == 2 and "0 aligned pairs from 2 sentence pairs" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_empty_pairs_file_for_realign(tmp_path):
    empty = write(tmp_path / "empty.jsonl", "")
    r = run_cli("realign", "--pairs", str(empty), "--steps", "1", "--out", str(tmp_path / "model"))
    assert r.returncode == 2 and f"{empty}: file is empty" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "model").exists()


def test_bad_freeze_spec_is_a_validation_error(tmp_path):
    r = run_cli("realign", "--pairs", str(tmp_path / "x.jsonl"), "--freeze", "middle")
    assert r.returncode == 2 and "unknown freeze spec 'middle'" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.integration
@pytest.mark.parametrize("method,max_aer", [("eflomal", 0.30), ("embedding", 0.12)])
def test_align_then_eval_on_en_fr_gold(shared_data, e5_small_path, tmp_path, method, max_aer):
    out = tmp_path / f"{method}.jsonl"
    r = run_cli(
        "align",
        "--method",
        method,
        "--parallel-file",
        str(shared_data / "gold_align" / "enfr.src-tgt"),
        "--src-lang",
        "en",
        "--tgt-lang",
        "fr",
        "--pretokenized",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    r = run_cli(
        "align-eval", "--gold", str(shared_data / "gold_align" / "enfr.gold"), "--pred", str(out), "--gold-one-based"
    )
    assert r.returncode == 0, r.stderr
    scores = json.loads(r.stdout)
    assert set(scores) >= {"precision", "recall", "aer"} and scores["n_sentences"] == 447
    assert scores["aer"] < max_aer, scores
