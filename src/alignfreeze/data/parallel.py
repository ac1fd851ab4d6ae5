"""Parallel corpora: two line-aligned files, or one ``source ||| target`` file."""

from __future__ import annotations

from pathlib import Path

from alignfreeze.data.records import SentencePair
from alignfreeze.data.textfile import read_text
from alignfreeze.errors import DataFormatError

SEPARATOR = " ||| "


def _lines(path: str | Path) -> list[str]:
    text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start a new one
    return [line.rstrip("\r") for line in lines]


def read_parallel(src_path: str | Path, tgt_path: str | Path | None = None) -> list[SentencePair]:
    """Sentence pairs from ``src_path`` and ``tgt_path`` read line by line, or from ``src_path``
    alone as ``source ||| target`` lines. Line i of one side is the translation of line i of
    the other; a length mismatch or a missing separator is an error naming the file and line.

    Example::

        pairs = af.read_parallel("UNv1.0.en-fr.en", "UNv1.0.en-fr.fr")
        pairs[0].src, pairs[0].tgt
    """
    if tgt_path is None:
        pairs = []
        for line_no, line in enumerate(_lines(src_path), start=1):
            if SEPARATOR.strip() not in line:
                raise DataFormatError(src_path, line_no, "expected 'source ||| target'")
            src, tgt = line.split("|||", 1)
            if "|||" in tgt:
                raise DataFormatError(src_path, line_no, "more than one '|||' separator")
            pairs.append(SentencePair(src.strip(), tgt.strip()))
        return pairs
    src_lines, tgt_lines = _lines(src_path), _lines(tgt_path)
    if len(src_lines) != len(tgt_lines):
        shorter = src_path if len(src_lines) < len(tgt_lines) else tgt_path
        raise DataFormatError(
            shorter,
            min(len(src_lines), len(tgt_lines)) + 1,
            f"parallel files differ in length: {src_path} has {len(src_lines)} lines, {tgt_path} has {len(tgt_lines)}",
        )
    return [SentencePair(s.strip(), t.strip()) for s, t in zip(src_lines, tgt_lines)]
