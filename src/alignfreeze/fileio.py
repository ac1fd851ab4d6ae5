"""Crash-safe file writing, shared by every stage that persists something: the model cache,
aligned pairs, realigned encoders and run results. Write to a temporary name in the same
folder, then rename -- a crash leaves the old version or the new one, never half of one.

Nothing a user owns is replaced: a folder alignfreeze writes whole carries a marker file
(:data:`MARKER`), and an existing folder is replaced only when it is empty or carries the
marker (:func:`check_replaceable`); commands check their outputs before any expensive work."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from alignfreeze.errors import AlignfreezeError


def sha256_file(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_csv(path: str | Path, rows: Iterable[dict], columns: Sequence[str]) -> Path:
    """Write ``rows`` (only ``columns``, in that order, with a header) as one atomic CSV."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: r[k] for k in columns} for r in rows)
    return atomic_write_text(path, buffer.getvalue())


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


#: The marker file of every folder alignfreeze writes: JSON ``{"kind", "written_by",
#: "files", ...}``. A folder is replaced or written into only when it is empty, does not exist,
#: or carries this marker (and, to be replaced whole, holds nothing the marker does not list).
MARKER = ".alignfreeze-output"


def read_marker(folder: str | Path) -> dict | None:
    """The marker of ``folder`` (:data:`MARKER`), or None when it has none (or not ours)."""
    try:
        info = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("written_by") == "alignfreeze" else None


def write_marker(folder: str | Path, kind: str, files: Iterable[str] = (), **info) -> Path:
    """Mark ``folder`` as alignfreeze's ``kind`` of output; ``files`` (names of its top-level
    entries alignfreeze wrote) are added to those an earlier marker lists, whose kind stays."""
    folder = Path(folder)
    old = read_marker(folder) or {}
    listed = sorted(set(old.get("files", [])) | set(files))
    record = {**old, "kind": old.get("kind", kind), "written_by": "alignfreeze", "files": listed, **info}
    return atomic_write_text(folder / MARKER, json.dumps(record, indent=2) + "\n")


def _name(path: Path) -> str:
    return f"{path.name}/" if path.is_dir() and not path.is_symlink() else path.name


def _some(names: Sequence[str], shown: int = 3) -> str:
    names = sorted(names)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _label(path: Path, option: str | None) -> str:
    return f"{option} {path}" if option else str(path)


def check_creatable(path: str | Path, option: str | None = None) -> None:
    """``path`` (a file or folder that need not exist) can be created: its first existing
    ancestor is a folder that takes a new entry (:func:`alignfreeze.paths.check_can_create`)."""
    from alignfreeze.paths import check_can_create

    check_can_create(path, option)


def _check_not_a_file(path: Path, option: str | None) -> None:
    if path.is_symlink():
        raise AlignfreezeError(
            f"{_label(path, option)} is a link, not a folder alignfreeze wrote; choose another folder or remove it"
        )
    if path.exists() and not path.is_dir():
        raise AlignfreezeError(f"{_label(path, option)} is an existing file, not a folder; choose another folder")


def _check_not_above_cwd(path: Path, option: str | None) -> None:
    if Path.cwd().resolve().is_relative_to(path.resolve()):
        raise AlignfreezeError(f"{_label(path, option)} holds the current folder; choose another folder")


def _in_home(path: Path) -> bool:
    """Folders in alignfreeze's cache (``$ALIGNFREEZE_HOME``) are its own, marked or not
    (caches written before markers existed)."""
    from alignfreeze.paths import alignfreeze_home

    return path.resolve().is_relative_to(alignfreeze_home().resolve())


def check_replaceable(path: str | Path, option: str | None = None, owned: Callable[[Path], bool] | None = None) -> None:
    """Raise :class:`AlignfreezeError` unless a folder may be written whole at ``path``
    (:func:`atomic_directory`): it does not exist yet, or it is an empty folder, or alignfreeze
    wrote it and it holds nothing else (its marker lists every entry; ``owned(path)`` accepts
    folders written before markers existed). A file or link at ``path``, ``.``, ``..`` or any
    folder holding the current folder are refused. ``option`` (``--out``) names the path in
    the message. Commands call this before any expensive work."""
    path = Path(path)
    _check_not_a_file(path, option)
    if not path.exists():
        check_creatable(path, option)
        return
    _check_not_above_cwd(path, option)
    entries = [p for p in path.iterdir() if p.name != MARKER]
    if not entries:
        return
    marker = read_marker(path)
    if marker is None:
        if _in_home(path) or (owned is not None and owned(path)):
            return
        raise AlignfreezeError(
            f"{_label(path, option)} exists and was not written by alignfreeze "
            f"(it holds {_some([_name(p) for p in entries])}); choose another folder or remove it"
        )
    foreign = [_name(p) for p in entries if p.name not in set(marker.get("files", []))]
    if foreign:
        raise AlignfreezeError(
            f"{_label(path, option)} holds files alignfreeze did not write ({_some(foreign)}); "
            "choose another folder or remove them"
        )


def check_output_folder(
    path: str | Path,
    option: str | None = None,
    owned: Callable[[Path], bool] | None = None,
    names: Iterable[str] = (),
) -> None:
    """Raise :class:`AlignfreezeError` unless alignfreeze may write files into the folder
    ``path``: it does not exist yet, is empty, or carries alignfreeze's marker (or
    ``owned(path)`` says alignfreeze wrote it); of the ``names`` about to be written, none may
    exist unless the marker lists it. Nothing in it is ever removed."""
    path = Path(path)
    _check_not_a_file(path, option)
    if not path.exists():
        check_creatable(path, option)
        return
    entries = [p for p in path.iterdir() if p.name != MARKER]
    marker = read_marker(path)
    if marker is None:
        if not entries or (owned is not None and owned(path)):
            return
        raise AlignfreezeError(
            f"{_label(path, option)} exists and was not written by alignfreeze "
            f"(it holds {_some([_name(p) for p in entries])}); choose another folder or remove it"
        )
    listed = set(marker.get("files", []))
    clash = [n for n in names if (path / n).exists() and n not in listed]
    if clash:
        raise AlignfreezeError(
            f"{_label(path, option)}: {_some(clash)} would be overwritten and was not written by alignfreeze; "
            "choose another folder or remove them"
        )


def check_output_file(path: str | Path, option: str | None = None, ours: Callable[[Path], bool] | None = None) -> None:
    """Raise :class:`AlignfreezeError` unless a file may be written at ``path``: nothing is
    there yet (and it can be created), or it is a file ``ours(path)`` recognises as
    alignfreeze's own output."""
    path = Path(path)
    if path.is_dir():
        raise AlignfreezeError(f"{_label(path, option)} is a folder; give a file name")
    if not path.exists() and not path.is_symlink():
        check_creatable(path, option)
        return
    if path.is_symlink() or ours is None or not ours(path):
        raise AlignfreezeError(
            f"{_label(path, option)} exists and was not written by alignfreeze; choose another file or remove it"
        )


def claim_folder(path: str | Path, kind: str, files: Iterable[str] = ()) -> Path:
    """Create the folder ``path`` (checked with :func:`check_output_folder` first) and mark
    it as alignfreeze's ``kind`` of output, listing ``files``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    write_marker(path, kind, files)
    return path


@contextlib.contextmanager
def atomic_directory(
    target: str | Path, kind: str = "folder", owned: Callable[[Path], bool] | None = None, **info
) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it becomes ``target``, marked
    as alignfreeze's ``kind`` of output (:data:`MARKER`, with ``info``). An existing
    ``target`` is replaced only when :func:`check_replaceable` allows it (checked before the
    work and again before the swap); on error nothing changes."""
    target = Path(target)
    check_replaceable(target, owned=owned)
    target = target.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700 folders
    try:
        yield tmp
        write_marker(tmp, kind, [p.name for p in tmp.iterdir() if p.name != MARKER], **info)
        check_replaceable(target, owned=owned)  # nothing foreign arrived meanwhile
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            try:
                os.replace(target, old)  # ours (checked above): moved aside, then removed
                os.replace(tmp, target)
            except BaseException:  # Ctrl-C or an error between the two renames: put it back
                if old.exists() and not target.exists():
                    os.replace(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
