"""Data layer: one reader per format, typed records, a catalog of files, and the
words -> subwords mapping shared by every later stage."""

from alignfreeze.data.catalog import TASK_DATA, DataCatalog, DataSource
from alignfreeze.data.muse import read_muse
from alignfreeze.data.panx import read_panx
from alignfreeze.data.parallel import read_parallel
from alignfreeze.data.pharaoh import parse_links, read_pharaoh
from alignfreeze.data.records import (
    NLI_LABELS,
    DictionaryEntry,
    NliExample,
    QaAnswer,
    QaExample,
    SentencePair,
    TaggedSentence,
    WordAlignment,
)
from alignfreeze.data.squad import read_squad
from alignfreeze.data.subwords import WordSubwords, encode_words, map_words
from alignfreeze.data.ud import UPOS_TAGS, read_conllu
from alignfreeze.data.words import split_words
from alignfreeze.data.xnli import read_xnli
from alignfreeze.errors import AlignfreezeError


def read_dataset_file(path, fmt: str, tgt=None, one_based: bool | None = None) -> list:
    """Read one data file with the reader for ``fmt`` (conllu, panx, xnli, squad, parallel,
    muse, pharaoh), checking it as it goes: errors name the file and line. The ``read-data``
    command's back end.

    Example::

        sentences = af.read_dataset_file("fr_gsd-ud-test.conllu", "conllu")
    """
    readers = {"conllu": read_conllu, "panx": read_panx, "xnli": read_xnli, "squad": read_squad, "muse": read_muse}
    if fmt in readers:
        return readers[fmt](path)
    if fmt == "parallel":
        return read_parallel(path, tgt)
    if fmt == "pharaoh":
        if one_based is None:
            raise AlignfreezeError(
                "pharaoh links: say whether indices are 1-based (--one-based) or 0-based (--zero-based)"
            )
        return read_pharaoh(path, one_based=one_based)
    raise AlignfreezeError(f"unknown format {fmt!r} (allowed: conllu, panx, xnli, squad, parallel, muse, pharaoh)")


__all__ = [
    "NLI_LABELS",
    "TASK_DATA",
    "UPOS_TAGS",
    "DataCatalog",
    "DataSource",
    "DictionaryEntry",
    "NliExample",
    "QaAnswer",
    "QaExample",
    "SentencePair",
    "TaggedSentence",
    "WordAlignment",
    "WordSubwords",
    "encode_words",
    "map_words",
    "parse_links",
    "read_conllu",
    "read_muse",
    "read_panx",
    "read_parallel",
    "read_dataset_file",
    "read_pharaoh",
    "read_squad",
    "read_xnli",
    "split_words",
]
