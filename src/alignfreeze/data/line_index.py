"""Random access to the lines of a text file without reading it into memory.

Realignment corpora run to millions of lines (OPUS-100 train has up to 1M pairs per
language pair). Reading one whole into Python objects costs about 14 KB a sentence pair;
a :class:`LineIndex` keeps only the byte offset of each line (8 bytes), so a sampler can
draw any line at the cost of one seek. The index is built by one pass over the file in
blocks and cached under ``$ALIGNFREEZE_HOME/cache/line-index/``, keyed by the file's path,
size and modification time (an edited file gets a new index).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from alignfreeze.errors import DataFormatError
from alignfreeze.fileio import atomic_write_bytes
from alignfreeze.paths import alignfreeze_home

_BLOCK = 1 << 24  # 16 MiB read at a time while indexing


def _scan_offsets(path: Path) -> np.ndarray:
    """Start offset of every line, then the end of the last one (``len(lines) + 1`` values).

    A final newline ends the last line; it does not start a new, empty one (as
    :func:`alignfreeze.data.parallel.read_parallel` reads files)."""
    starts = [np.zeros(1, dtype=np.int64)]
    size = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(_BLOCK)
            if not block:
                break
            newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10).astype(np.int64)
            starts.append(newlines + size + 1)
            size += len(block)
    offsets = np.concatenate(starts)
    if offsets[-1] != size:  # no final newline: the last line ends at the end of the file
        offsets = np.append(offsets, size)
    return offsets


class LineIndex:
    """Byte offsets of the lines of one text file: ``len(index)`` lines, ``index.lines([i, j])``
    reads just those.

    Example::

        index = af.LineIndex("opus.en-fr-train.en")
        len(index), index.lines([0, 999_999])
    """

    def __init__(self, path: str | Path, use_cache: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataFormatError(self.path, None, "file not found" if not self.path.exists() else "not a regular file")
        stat = self.path.stat()
        if stat.st_size == 0:
            raise DataFormatError(self.path, None, "file is empty")
        key = hashlib.sha256(f"{self.path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:24]
        cache = alignfreeze_home() / "cache" / "line-index" / f"{key}.npy"
        offsets = None
        if use_cache and os.environ.get("ALIGNFREEZE_NO_CACHE") != "1" and cache.is_file():
            try:
                offsets = np.load(cache)
            except (OSError, ValueError):
                offsets = None
        if offsets is None:
            offsets = _scan_offsets(self.path)
            if use_cache and os.environ.get("ALIGNFREEZE_NO_CACHE") != "1":
                import io

                buffer = io.BytesIO()
                np.save(buffer, offsets)
                atomic_write_bytes(cache, buffer.getvalue())
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lines(self, indices: Sequence[int]) -> list[str]:
        """The lines at ``indices`` (0-based), in that order, without their line ends."""
        n = len(self)
        order = sorted(range(len(indices)), key=lambda k: indices[k])  # seek forward only
        out: list[str] = [""] * len(indices)
        with open(self.path, "rb") as f:
            for k in order:
                i = int(indices[k])
                if not 0 <= i < n:
                    raise IndexError(f"line {i} of {self.path} ({n} lines)")
                start, end = int(self.offsets[i]), int(self.offsets[i + 1])
                f.seek(start)
                raw = f.read(end - start)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise DataFormatError(self.path, i + 1, "bytes that are not UTF-8") from None
                if i == 0:
                    text = text.removeprefix("\ufeff")  # tolerate a byte-order mark
                out[k] = text.rstrip("\n").rstrip("\r")
        return out
