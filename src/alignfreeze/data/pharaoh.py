"""Pharaoh word alignments: ``i-j`` (sure) and ``ipj`` (possible) links, one sentence a line.

The caller must say whether indices are 0- or 1-based (gold sets differ: the
awesome-align sets are 1-based, fast_align and eflomal output 0-based). A line may start
with ``id<TAB>`` (the SimAlign gold format); the id is then returned with the links.
An empty line is a sentence pair with no link.
"""

from __future__ import annotations

import re
from pathlib import Path

from alignfreeze.data.records import WordAlignment
from alignfreeze.data.textfile import numbered_lines
from alignfreeze.errors import DataFormatError

_LINK = re.compile(r"(\d+)([-p])(\d+)")


def parse_links(text: str, one_based: bool) -> WordAlignment:
    """Parse one line of links; raises ``ValueError`` with the offending token."""
    shift = 1 if one_based else 0
    alignment = WordAlignment()
    for token in text.split():
        m = _LINK.fullmatch(token)
        if not m:
            raise ValueError(f"bad link {token!r} (expected i-j or ipj)")
        i, j = int(m.group(1)) - shift, int(m.group(3)) - shift
        if i < 0 or j < 0:
            raise ValueError(f"link {token!r} has index 0 but the file was declared 1-based")
        if m.group(2) == "-":
            alignment.sure.add((i, j))
        alignment.possible.add((i, j))  # sure links are possible too (Och & Ney: S ⊆ P)
    return alignment


def read_pharaoh(path: str | Path, *, one_based: bool, with_ids: bool | None = None) -> list[WordAlignment]:
    """Read links, one line per sentence pair. ``with_ids`` forces or forbids a leading
    ``id<TAB>`` column; by default it is detected from the first non-empty line."""
    rows = list(numbered_lines(path))
    if rows and rows[-1][1] == "":
        rows.pop()
    if with_ids is None:
        with_ids = any("\t" in line for _, line in rows[:1])
    out: list[WordAlignment] = []
    for line_no, line in rows:
        if with_ids:
            if "\t" not in line:
                raise DataFormatError(path, line_no, "expected 'id<TAB>links'")
            line = line.split("\t", 1)[1]
        try:
            out.append(parse_links(line, one_based))
        except ValueError as exc:
            raise DataFormatError(path, line_no, str(exc)) from None
    return out


def link_past_end(alignment: WordAlignment, n_src: int, n_tgt: int, one_based: bool) -> str | None:
    """The first link of ``alignment`` (0-based, as read) that points past the end of a
    sentence pair of ``n_src`` and ``n_tgt`` words, described as its file writes it
    (1-based numbers for a 1-based file); None when every link fits."""
    shift = 1 if one_based else 0
    for i, j in sorted(alignment.possible | alignment.sure):
        link = f"{i + shift}{'-' if (i, j) in alignment.sure else 'p'}{j + shift}"
        for side, index, n in (("source", i, n_src), ("target", j, n_tgt)):
            if index >= n:
                words = f"{n} word{'s' if n != 1 else ''}" + (f", {shift}-{n - 1 + shift}" if n else "")
                return f"link {link} points past the {side} sentence's end ({words})"
    return None


def check_links_fit(
    path: str | Path, alignments: list[WordAlignment], lengths: list[tuple[int, int]], one_based: bool
) -> None:
    """Raise a :class:`DataFormatError` naming ``path`` and the line of the first link that
    does not fit its sentence pair (``lengths``: source and target words, line by line)."""
    for line_no, (alignment, (n_src, n_tgt)) in enumerate(zip(alignments, lengths), start=1):
        problem = link_past_end(alignment, n_src, n_tgt, one_based)
        if problem:
            raise DataFormatError(path, line_no, problem)
