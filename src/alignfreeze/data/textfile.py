"""Shared file checks for every reader: missing, empty, not UTF-8 -- each reported with the
file and the line, never as a bare ``UnicodeDecodeError``."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from alignfreeze.errors import DataFormatError


def read_bytes_checked(path: str | Path) -> bytes:
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, None, "file not found")
    if not path.is_file():
        raise DataFormatError(path, None, "not a regular file")
    data = path.read_bytes()
    if not data.strip():
        raise DataFormatError(path, None, "file is empty")
    return data


def decode_utf8(path: str | Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataFormatError(path, line, f"bytes that are not UTF-8 ({data[exc.start : exc.start + 4]!r})") from None
    return text[1:] if text.startswith("\ufeff") else text  # tolerate a byte-order mark


def read_text(path: str | Path) -> str:
    """The whole file as text; raises :class:`DataFormatError` if missing, empty or not UTF-8."""
    return decode_utf8(path, read_bytes_checked(path))


def numbered_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """``(line_number, line)`` pairs, 1-based, without the trailing newline."""
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        yield number, line.rstrip("\r")


def line_of(text: str, needle: str) -> int | None:
    """1-based line where ``needle`` first occurs in ``text`` (for JSON diagnostics)."""
    at = text.find(needle)
    return None if at < 0 else text.count("\n", 0, at) + 1
