"""Where alignfreeze keeps its cache and where it looks for data."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root when running from a checkout (src/alignfreeze/paths.py -> repo).
REPO_ROOT = Path(__file__).resolve().parents[2]


def alignfreeze_home() -> Path:
    """Cache root: ``$ALIGNFREEZE_HOME``, else ``~/.cache/alignfreeze``."""
    env = os.environ.get("ALIGNFREEZE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "alignfreeze"


def default_data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Data root: the explicit argument, else ``$ALIGNFREEZE_DATA``, else ``../shared/data``
    beside the repository (the layout CI and the developer machines use)."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("ALIGNFREEZE_DATA")
    if env:
        return Path(env).expanduser()
    return REPO_ROOT.parent / "shared" / "data"
