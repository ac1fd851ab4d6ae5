"""Data layer: one reader per format, typed records, a catalog of files, and the
words -> subwords mapping shared by every later stage."""

from alignfreeze.data.catalog import TASKS, DataCatalog, DataSource
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

__all__ = [
    "NLI_LABELS", "TASKS", "UPOS_TAGS", "DataCatalog", "DataSource", "DictionaryEntry", "NliExample",
    "QaAnswer", "QaExample", "SentencePair", "TaggedSentence", "WordAlignment", "WordSubwords",
    "encode_words", "map_words", "parse_links", "read_conllu", "read_muse", "read_panx", "read_parallel",
    "read_pharaoh", "read_squad", "read_xnli", "split_words",
]  # fmt: skip
