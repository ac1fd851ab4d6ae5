"""MUSE bilingual dictionaries.

Three line formats are accepted, detected per line:

* ``src tgt`` -- the MUSE release format (one space);
* ``src<TAB>tgt``;
* ``tgt @ src`` -- target first, as in some redistributed copies (``le @ the`` in an
  en-fr dictionary).

Entries come back oriented source -> target, in file order, duplicates removed.
"""

from __future__ import annotations

from pathlib import Path

from alignfreeze.data.records import DictionaryEntry
from alignfreeze.data.textfile import numbered_lines
from alignfreeze.errors import DataFormatError


def read_muse(path: str | Path) -> list[DictionaryEntry]:
    entries: dict[DictionaryEntry, None] = {}
    for line_no, line in numbered_lines(path):
        if not line.strip():
            continue
        if " @ " in line:
            tgt, src = line.split(" @ ", 1)
        elif "\t" in line:
            parts = line.split("\t")
            if len(parts) != 2:
                raise DataFormatError(path, line_no, f"expected 'source<TAB>target', found {len(parts)} columns")
            src, tgt = parts
        else:
            parts = line.split()
            if len(parts) != 2:
                raise DataFormatError(
                    path, line_no, f"expected 'source target', 'source<TAB>target' or 'target @ source', found {line!r}"
                )
            src, tgt = parts
        src, tgt = src.strip(), tgt.strip()
        if not src or not tgt:
            raise DataFormatError(path, line_no, "empty source or target word")
        entries[DictionaryEntry(src, tgt)] = None
    if not entries:
        raise DataFormatError(path, None, "no dictionary entries found")
    return list(entries)
