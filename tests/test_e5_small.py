"""The embedded model: dequantisation, the cache, loading with every head, and real weights."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import numpy as np
import pytest

from alignfreeze.models.e5_small import dequantize_q4_0, prepare_e5_small, q4_block, source_files, verify_checkpoint


def test_dequantize_q4_0_by_hand():
    # One block: scale 0.5; byte j holds nibble j (low) and nibble 15 - j (high).
    block = np.zeros(1, dtype=q4_block())
    block["d"] = 0.5
    block["qs"][0] = [j | ((15 - j) << 4) for j in range(16)]
    w = dequantize_q4_0(block.tobytes(), 1, 32)[0]
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert w.tolist() == expected


@pytest.mark.integration
def test_cache_is_reused_fast_and_rebuilt_when_corrupted(tmp_path):
    try:
        source_files()
    except Exception as exc:
        pytest.skip(str(exc))
    home = tmp_path / "home"
    folder = prepare_e5_small(home=home)
    assert sorted(p.name for p in folder.iterdir()) == [
        ".alignfreeze-output",
        "config.json",
        "manifest.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    assert not [p for p in folder.parent.iterdir() if ".tmp-" in p.name]
    t0 = time.perf_counter()
    assert prepare_e5_small(home=home) == folder
    assert time.perf_counter() - t0 < 2.0
    # Verified files are not hashed again while unchanged; a changed one is, whatever its size.
    assert (folder.parent / f".{folder.name}.verified").is_file()
    # Corrupt one byte of the weights: the manifest catches it and the cache is rebuilt.
    weights = folder / "model.safetensors"
    with open(weights, "r+b") as f:
        f.seek(weights.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert verify_checkpoint(folder) == "model.safetensors fails its checksum"
    prepare_e5_small(home=home)
    assert verify_checkpoint(folder) is None
    # A partial cache (a file missing) is rebuilt too.
    (folder / "tokenizer.json").unlink()
    assert verify_checkpoint(folder) == "tokenizer.json is missing"
    prepare_e5_small(home=home)
    assert verify_checkpoint(folder) is None


@pytest.mark.integration
def test_loads_offline_with_every_head(e5_small_path):
    import torch
    from transformers import (
        AutoModel,
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    tok = AutoTokenizer.from_pretrained(e5_small_path)
    enc = tok(["Bonjour le monde"], return_tensors="pt")
    with torch.no_grad():
        assert AutoModel.from_pretrained(e5_small_path)(**enc).last_hidden_state.shape[-1] == 384
        assert (
            AutoModelForTokenClassification.from_pretrained(e5_small_path, num_labels=18)(**enc).logits.shape[-1] == 18
        )
        assert AutoModelForSequenceClassification.from_pretrained(e5_small_path, num_labels=3)(**enc).logits.shape == (
            1,
            3,
        )
        assert AutoModelForQuestionAnswering.from_pretrained(e5_small_path)(**enc).start_logits.shape[0] == 1
    config = json.loads((e5_small_path / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["vocab_size"]) == (12, 384, 250037)


@pytest.mark.integration
def test_matches_the_reference_c_engine(e5_small_path, tmp_path):
    """Compile the package's own e5.c and compare sentence embeddings. The engine quantises
    activations to int8, so agreement is close but not exact."""
    import ctypes

    import torch
    from transformers import AutoModel, AutoTokenizer

    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler to build the reference engine")
    weights, _ = source_files()
    lib_path = tmp_path / "libe5.so"
    subprocess.run(
        [gcc, "-O2", "-fopenmp", "-shared", "-fPIC", str(weights.parent / "e5.c"), "-o", str(lib_path), "-lm"],
        check=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    engine = lib.e5_load(str(weights).encode())
    tok = AutoTokenizer.from_pretrained(e5_small_path)
    model = AutoModel.from_pretrained(e5_small_path).eval()
    for text in [
        "The cat sits on the mat.",
        "Le chat est assis sur le tapis.",
        "猫坐在垫子上。",
        "Кошка сидит на ковре.",
    ]:
        out = (ctypes.c_float * 384)()
        assert lib.e5_embed(engine, text.encode(), 1, out) == 0
        enc = tok("query: " + text, return_tensors="pt")  # the engine adds this prefix
        with torch.no_grad():
            ours = model(**enc).last_hidden_state[0].mean(0).numpy()
        cos = float(np.dot(ours / np.linalg.norm(ours), np.array(out)))
        assert cos > 0.999, (text, cos)


@pytest.mark.slow
@pytest.mark.integration
def test_translations_are_closer_than_random_sentences(e5_small_path, shared_data):
    """Acceptance check: 200 UN dev pairs, en-fr and en-zh, at least 95% each."""
    from transformers import AutoModel, AutoTokenizer

    from alignfreeze.analysis import translation_check
    from alignfreeze.data import DataCatalog, read_parallel

    tok = AutoTokenizer.from_pretrained(e5_small_path)
    model = AutoModel.from_pretrained(e5_small_path)
    catalog = DataCatalog(shared_data)
    for pair in ("en-fr", "en-zh"):
        pairs = read_parallel(*catalog.find("parallel", pair, "dev", dataset="un").files)[:200]
        result = translation_check(model, tok, [p.src for p in pairs], [p.tgt for p in pairs], pair)
        assert result.n_pairs == 200
        assert result.accuracy >= 0.95, result
