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


class ParallelFile:
    """A parallel corpus read a few lines at a time: random access to its sentence pairs
    through a :class:`~alignfreeze.data.line_index.LineIndex` of each file, so that a corpus
    of millions of pairs costs memory only for the pairs asked for. The same two layouts as
    :func:`read_parallel`, and the same checks (unequal lengths up front; a line without the
    separator when it is read, with its file and line).

    Example::

        corpus = af.ParallelFile("UNv1.0.en-fr.en", "UNv1.0.en-fr.fr")
        len(corpus), corpus.pairs([0, 17])
    """

    def __init__(self, src_path: str | Path, tgt_path: str | Path | None = None):
        from alignfreeze.data.line_index import LineIndex

        self.files = (Path(src_path),) if tgt_path is None else (Path(src_path), Path(tgt_path))
        self._src = LineIndex(src_path)
        self._tgt = LineIndex(tgt_path) if tgt_path is not None else None
        if self._tgt is not None and len(self._src) != len(self._tgt):
            shorter = src_path if len(self._src) < len(self._tgt) else tgt_path
            raise DataFormatError(
                shorter,
                min(len(self._src), len(self._tgt)) + 1,
                f"parallel files differ in length: {src_path} has {len(self._src)} lines, "
                f"{tgt_path} has {len(self._tgt)}",
            )

    def __len__(self) -> int:
        return len(self._src)

    def pairs(self, indices) -> list[SentencePair]:
        """The sentence pairs at ``indices`` (0-based line numbers), in that order."""
        indices = [int(i) for i in indices]
        src_lines = self._src.lines(indices)
        if self._tgt is not None:
            return [SentencePair(s.strip(), t.strip()) for s, t in zip(src_lines, self._tgt.lines(indices))]
        out = []
        for i, line in zip(indices, src_lines):
            if SEPARATOR.strip() not in line:
                raise DataFormatError(self.files[0], i + 1, "expected 'source ||| target'")
            src, tgt = line.split("|||", 1)
            if "|||" in tgt:
                raise DataFormatError(self.files[0], i + 1, "more than one '|||' separator")
            out.append(SentencePair(src.strip(), tgt.strip()))
        return out

    def lines(self, start: int = 0, stop: int | None = None) -> list[SentencePair]:
        """The sentence pairs of lines ``start`` to ``stop`` (file order)."""
        stop = len(self) if stop is None else min(stop, len(self))
        return self.pairs(range(start, stop))
