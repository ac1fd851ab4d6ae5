"""Where alignfreeze keeps its cache and where it looks for data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from alignfreeze.errors import AlignfreezeError

#: The repository root when running from a checkout (src/alignfreeze/paths.py -> repo).
REPO_ROOT = Path(__file__).resolve().parents[2]


def _not_a_file(path: Path, what: str) -> Path:
    if path.exists() and not path.is_dir():
        raise AlignfreezeError(f"{what} {path} is a file, not a folder")
    return path


def alignfreeze_home() -> Path:
    """Cache root: ``$ALIGNFREEZE_HOME``, else ``~/.cache/alignfreeze``. A file there is an
    :class:`AlignfreezeError` naming it."""
    env = os.environ.get("ALIGNFREEZE_HOME")
    if env:
        return _not_a_file(Path(env).expanduser(), "ALIGNFREEZE_HOME")
    return _not_a_file(Path.home() / ".cache" / "alignfreeze", "the cache folder")


def default_data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Data root: the explicit argument, else ``$ALIGNFREEZE_DATA``, else ``../shared/data``
    beside the repository (the layout CI and the developer machines use). A file there is
    an :class:`AlignfreezeError` naming it."""
    if explicit is not None:
        return _not_a_file(Path(explicit).expanduser(), "the data root")
    env = os.environ.get("ALIGNFREEZE_DATA")
    if env:
        return _not_a_file(Path(env).expanduser(), "ALIGNFREEZE_DATA")
    return REPO_ROOT.parent / "shared" / "data"


def check_can_create(path: str | os.PathLike[str], option: str | None = None) -> Path:
    """Raise an :class:`AlignfreezeError` (naming ``option``, e.g. ``--out``) unless ``path``,
    a file or folder that need not exist yet, can be written: the nearest existing folder
    (``path`` itself, or the first ancestor that exists) takes a new entry. That is tried, by
    creating and removing an empty temporary folder in it, because permission bits do not
    tell (root, read-only mounts, ``/sys``). Nothing is left behind; ``path`` is not created."""
    path = Path(path).expanduser()
    label = f"{option} {path}" if option else str(path)
    folder = path if path.is_dir() else path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise AlignfreezeError(f"cannot create {label}: {folder} is a file, not a folder")
    try:
        Path(tempfile.mkdtemp(prefix=".alignfreeze-probe-", dir=folder)).rmdir()
    except OSError as exc:
        raise AlignfreezeError(f"cannot create {label}: {folder} is not writable ({exc.strerror})") from None
    return path
