"""CoNLL-U (Universal Dependencies): words and UPOS tags.

Multiword-token ranges (``1-2``) and empty nodes (``1.1``) are skipped, so the words are
the syntactic words that carry UPOS. Column checks are ours, because the ``conllu``
package accepts short rows silently and reports no line numbers; its ID patterns are
reused so that what counts as a range or an empty node is the package's definition.
"""

from __future__ import annotations

from pathlib import Path

from conllu.parser import ID_DOT_ID, ID_RANGE, ID_SINGLE

from alignfreeze.data.records import TaggedSentence
from alignfreeze.data.textfile import numbered_lines
from alignfreeze.errors import DataFormatError

#: The one UD treebank per language that the AlignFreeze reference code loads (``udpos``
#: task, ``multilingual_eval/datasets/xtreme_udpos.py`` lines 20-56), where XTREME's
#: ``udpos`` concatenates every treebank of a language. ``dataset: reference`` picks these.
REFERENCE_TREEBANKS = {
    "en": "ewt",
    "af": "afribooms",
    "ar": "padt",
    "bg": "btb",
    "ca": "ancora",
    "cs": "pdt",
    "da": "ddt",
    "de": "gsd",
    "el": "gdt",
    "es": "gsd",
    "fa": "perdt",
    "fi": "pud",
    "fr": "gsd",
    "he": "htb",
    "hi": "hdtb",
    "hu": "szeged",
    "it": "isdt",
    "ja": "gsd",
    "ko": "gsd",
    "lv": "lvtb",
    "lt": "alksnis",
    "no": "bokmaal",
    "pl": "pdb",
    "pt": "gsd",
    "ro": "rrt",
    "ru": "gsd",
    "sk": "snk",
    "sl": "ssj",
    "sv": "pud",
    "ta": "ttb",
    "th": "pud",
    "tr": "pud",
    "uk": "iu",
    "vi": "vtb",
    "zh": "gsd",
}

UPOS_TAGS = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)


def read_conllu(path: str | Path) -> list[TaggedSentence]:
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    sent_id: str | None = None
    start_line = 1

    def flush(line_no: int) -> None:
        nonlocal words, tags, sent_id
        if words:
            sentences.append(TaggedSentence(words, tags, sent_id))
        elif sent_id is not None:
            raise DataFormatError(path, start_line, f"sentence {sent_id} has no word lines")
        words, tags, sent_id = [], [], None

    for line_no, line in numbered_lines(path):
        if not line.strip():
            flush(line_no)
            start_line = line_no + 1
            continue
        if line.startswith("#"):
            if line.startswith("# sent_id"):
                sent_id = line.split("=", 1)[-1].strip()
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise DataFormatError(path, line_no, f"expected 10 tab-separated columns, found {len(cols)}")
        token_id = cols[0]
        if ID_RANGE.fullmatch(token_id) or ID_DOT_ID.fullmatch(token_id):
            continue
        if not ID_SINGLE.fullmatch(token_id):
            raise DataFormatError(path, line_no, f"bad token ID {token_id!r}")
        upos = cols[3]
        if upos not in UPOS_TAGS:
            raise DataFormatError(path, line_no, f"unknown UPOS tag {upos!r} (allowed: {', '.join(UPOS_TAGS)})")
        words.append(cols[1])
        tags.append(upos)
    flush(line_no)
    if not sentences:
        raise DataFormatError(path, None, "no sentences found")
    return sentences
