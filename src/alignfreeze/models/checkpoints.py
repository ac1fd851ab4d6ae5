"""The cache of embedded models' checkpoints: a manifest of checksums, its check, the lock.

An embedded model (``e5-small``, ``gemma3-270m``: :mod:`alignfreeze.models.embedded`) is
converted once from an installed package into ``$ALIGNFREEZE_HOME/models/<name>-v<N>``. The
folder is written whole under a temporary name (:func:`alignfreeze.fileio.atomic_directory`)
and ends with a ``manifest.json`` listing each file's size and SHA-256, so that a later call
tells a complete cache from a partial or corrupted one (which is rebuilt). Nothing here
imports torch or numpy: a prepared model is found in well under a second.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from importlib import metadata
from pathlib import Path

from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import sha256_file
from alignfreeze.paths import alignfreeze_home

MANIFEST = "manifest.json"


def models_dir(home: Path | None = None) -> Path:
    """Where embedded models' checkpoints live: ``$ALIGNFREEZE_HOME/models``."""
    return (home or alignfreeze_home()) / "models"


def verify_checkpoint(folder: Path) -> str | None:
    """Return ``None`` if ``folder`` holds a complete checkpoint, else what is wrong."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return "no manifest"
    try:
        files = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError) as exc:
        return f"unreadable manifest ({exc})"
    for name, info in files.items():
        p = folder / name
        if not p.is_file():
            return f"{name} is missing"
        if p.stat().st_size != info["size"]:
            return f"{name} has the wrong size"
    # Hashing the weights takes seconds: files unchanged since they last passed (same inode,
    # size and modification times, recorded beside the folder) are not hashed again.
    with contextlib.suppress(OSError, ValueError):
        if json.loads(_stamp(folder).read_text()) == _files_state(folder, files):
            return None
    for name, info in files.items():
        if sha256_file(folder / name) != info["sha256"]:
            return f"{name} fails its checksum"
    _write_stamp(folder, files)
    return None


def mark_verified(folder: Path) -> None:
    """Record ``folder``'s files as verified without hashing them again: called by a
    conversion right after :func:`write_manifest` hashed them, so that the next call finds
    the model in a fraction of a second rather than hashing a gigabyte of weights."""
    _write_stamp(folder, json.loads((folder / MANIFEST).read_text())["files"])


def _stamp(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.verified"


def _files_state(folder: Path, files) -> dict[str, list[int]]:
    """What changes when a file is written or replaced (inode, size, times), per file."""
    states = {}
    for name in [MANIFEST, *files]:
        state = (folder / name).stat()
        states[name] = [state.st_ino, state.st_size, state.st_mtime_ns, state.st_ctime_ns]
    return states


def _write_stamp(folder: Path, files) -> None:
    with contextlib.suppress(OSError):  # a read-only cache is verified in full each time
        _stamp(folder).write_text(json.dumps(_files_state(folder, files)))


def write_manifest(folder: Path, **info) -> None:
    """Write ``folder``'s manifest: ``info`` (what it was converted from) and the size and
    SHA-256 of every file in it. Called last, once every other file is written."""
    files = {}
    for p in sorted(folder.iterdir()):
        files[p.name] = {"size": p.stat().st_size, "sha256": sha256_file(p)}
    (folder / MANIFEST).write_text(json.dumps({**info, "files": files}, indent=2) + "\n")


@contextlib.contextmanager
def checkpoint_lock(folder: Path):
    """Serialise conversions of ``folder`` (parallel runs): the first converts, the others
    wait, then find it verified."""
    path = folder.parent / f".{folder.name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def installed_version(package: str, version: str, install_hint: str) -> metadata.Distribution:
    """The installed distribution ``package``, which must be at ``version``; else an
    :class:`AlignfreezeError` with ``install_hint`` (the command that installs it)."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise AlignfreezeError(
            f"the embedded model needs the package {package}=={version}, which is not installed; run: {install_hint}"
        ) from None
    if dist.version != version:
        raise AlignfreezeError(
            f"{package} {dist.version} is installed but the converter is written for {version}; run: {install_hint}"
        )
    return dist
