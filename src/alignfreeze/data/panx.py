"""PAN-X / WikiANN NER: ``token<TAB>tag`` per line, a blank line between sentences.

XTREME's copy prefixes tokens with the language (``en:Paris``); the prefix is stripped
when it matches ``xx:``. Tags must follow the BIO scheme (``O``, ``B-X``, ``I-X``).
"""

from __future__ import annotations

import re
from pathlib import Path

from alignfreeze.data.records import TaggedSentence
from alignfreeze.data.textfile import numbered_lines
from alignfreeze.errors import DataFormatError

_BIO = re.compile(r"O|[BI]-[A-Za-z][\w.-]*")
_LANG_PREFIX = re.compile(r"^[a-z]{2,3}:(?=.)")


def read_panx(path: str | Path, strip_language_prefix: bool = True) -> list[TaggedSentence]:
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    for line_no, line in numbered_lines(path):
        if not line.strip():
            if words:
                sentences.append(TaggedSentence(words, tags))
                words, tags = [], []
            continue
        cols = line.split("\t")
        if len(cols) != 2:
            raise DataFormatError(path, line_no, f"expected 'token<TAB>tag', found {len(cols)} column(s)")
        token, tag = cols[0], cols[1].strip()
        if not _BIO.fullmatch(tag):
            raise DataFormatError(path, line_no, f"tag {tag!r} is not in the BIO scheme (O, B-TYPE, I-TYPE)")
        if strip_language_prefix:
            token = _LANG_PREFIX.sub("", token)
        words.append(token)
        tags.append(tag)
    if words:
        sentences.append(TaggedSentence(words, tags))
    if not sentences:
        raise DataFormatError(path, None, "no sentences found")
    return sentences
