"""Word-aligned parallel corpora: the output of every aligner and the input of realignment.

On disk an aligned corpus is JSON Lines. The first line is a header
(``{"alignfreeze": "aligned-pairs", "version": 1, "src_lang": ..., "tgt_lang": ...,
"aligner": ..., "settings": {...}, "n_sentence_pairs": N}``); every other line is one
sentence pair that has at least one link:
``{"index": i, "src": [words], "tgt": [words], "links": [[si, ti], ...]}``, where ``index``
is the pair's line number (0-based) in the input corpus, so predictions can be compared
with a gold standard even though unlinked pairs are dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from alignfreeze.data.textfile import read_text
from alignfreeze.errors import AlignfreezeError, DataFormatError
from alignfreeze.fileio import atomic_write_text

HEADER_KIND = "aligned-pairs"


@dataclass(slots=True)
class AlignedPair:
    index: int
    src: list[str]
    tgt: list[str]
    links: list[tuple[int, int]]


@dataclass
class AlignedCorpus:
    """Word-aligned sentence pairs of one language pair: what an aligner produces and
    realignment and alignment measurement consume. Saved as JSON Lines (a header line with
    the languages, aligner and settings, then one line per linked sentence pair).

    Attributes:
        src_lang, tgt_lang: the languages (``en``, ``fr``).
        pairs: the sentence pairs with at least one link (:class:`AlignedPair`: word lists and
            0-based ``(src, tgt)`` links).
        aligner, settings: how the links were made.
        n_sentence_pairs: sentence pairs aligned, linked or not.

    Example::

        corpus = af.AlignedCorpus.load("un.en-fr.jsonl")
        corpus.n_links, corpus.pairs[0].links
    """

    src_lang: str
    tgt_lang: str
    pairs: list[AlignedPair]
    aligner: str = ""
    settings: dict = field(default_factory=dict)
    n_sentence_pairs: int = 0  # pairs in the input, linked or not

    @property
    def n_links(self) -> int:
        return sum(len(p.links) for p in self.pairs)

    def header(self) -> dict:
        return {
            "alignfreeze": HEADER_KIND,
            "version": 1,
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            "aligner": self.aligner,
            "settings": self.settings,
            "n_sentence_pairs": self.n_sentence_pairs,
        }

    def save(self, path: str | Path) -> Path:
        """Write atomically (temporary file, then rename): a crash leaves no partial file."""
        lines = [json.dumps(self.header(), ensure_ascii=False)]
        for p in self.pairs:
            row = {"index": p.index, "src": p.src, "tgt": p.tgt, "links": [list(link) for link in p.links]}
            lines.append(json.dumps(row, ensure_ascii=False))
        return atomic_write_text(path, "\n".join(lines) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "AlignedCorpus":
        lines = read_text(path).splitlines()
        try:
            header = json.loads(lines[0])
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("alignfreeze") != HEADER_KIND:
            raise DataFormatError(path, 1, "not an aligned-pairs file (write one with `alignfreeze align`)")
        pairs = []
        for line_no, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                pair = AlignedPair(
                    int(row["index"]), list(row["src"]), list(row["tgt"]), [(int(i), int(j)) for i, j in row["links"]]
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise DataFormatError(path, line_no, f"bad aligned pair ({exc})") from None
            problem = check_links(pair)
            if problem:
                raise DataFormatError(path, line_no, problem)
            pairs.append(pair)
        if not pairs:
            raise DataFormatError(path, None, "no aligned sentence pairs in the file")
        return cls(
            header["src_lang"],
            header["tgt_lang"],
            pairs,
            header.get("aligner", ""),
            header.get("settings", {}),
            header.get("n_sentence_pairs", len(pairs)),
        )


def check_links(pair: AlignedPair) -> str | None:
    """Describe the first link that points past a sentence's end, if any."""
    for i, j in pair.links:
        if not (0 <= i < len(pair.src)):
            return f"sentence pair {pair.index}: link {i}-{j} points past the source sentence's end ({len(pair.src)} words)"
        if not (0 <= j < len(pair.tgt)):
            return f"sentence pair {pair.index}: link {i}-{j} points past the target sentence's end ({len(pair.tgt)} words)"
    return None


def validate_links(pairs: list[AlignedPair]) -> None:
    for pair in pairs:
        problem = check_links(pair)
        if problem:
            raise AlignfreezeError(problem)
